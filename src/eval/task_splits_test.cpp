// eval --data for mmlu / arc / bbh (task_splits.h): the Hub datasets lm-eval uses, as a folder in the
// Hub's layout, one file, or a Hub dataset id (fake Hub), read into the same docs and prompts as the data
// root's own export. Fixtures: tests/fixtures/parquet/hub, the first rows of ../shared/data converted
// to the Hub datasets' columns and written by DuckDB (tools/parquet/write_fixtures.mjs).
#include "eval/task_splits.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "eval/eval_test_util.h"
#include "eval/task_families.h"
#include "io/file.h"
#include "tests/fake_hub.h"
#include "tests/test_util.h"

using namespace tt::eval;
using namespace tt::eval::test_util;

namespace {

std::string hub_fixture(const std::string& name) { return tt::testing::fixture_dir() + "/parquet/hub/" + name; }

TaskOptions data_options(const std::string& data, int num_fewshot = -1) {
  TaskOptions options;
  options.data_root = data;
  options.num_fewshot = num_fewshot;
  return options;
}

// The first docs of `reference` (the data root's task) equal `task`'s docs, fields and prompts alike.
void expect_leading_docs_equal(const Task& task, const Task& reference, size_t count) {
  ASSERT_EQ(task.docs().size(), count);
  ASSERT_GE(reference.docs().size(), count);
  for (size_t i = 0; i < count; ++i) {
    const Doc& doc = task.docs()[i];
    const Doc& want = reference.docs()[i];
    EXPECT_EQ(doc.id, want.id);
    EXPECT_EQ(doc.fields.dump(), want.fields.dump()) << "doc " << i;
    EXPECT_EQ(task.prompt(doc).text, reference.prompt(want).text) << "doc " << i;
    EXPECT_EQ(task.target(doc), reference.target(want)) << "doc " << i;
  }
}

TEST(TaskSplits, DataRootFolderStaysTheTasksOwnExport) {
  EXPECT_TRUE(TaskSplits(shared_options(), "mmlu_stem", "cais/mmlu").in_data_root());
  EXPECT_TRUE(TaskSplits(TaskOptions{}, "arc", "allenai/ai2_arc").in_data_root());
  EXPECT_FALSE(TaskSplits(data_options(hub_fixture("cais_mmlu")), "mmlu_stem", "cais/mmlu").in_data_root());
}

TEST(TaskSplits, MmluFromAHubLayoutFolderEqualsTheCsvExport) {
  for (int shots : {0, 5}) {
    auto task = make_mmlu_task("mmlu_abstract_algebra", data_options(hub_fixture("cais_mmlu"), shots));
    auto reference = make_mmlu_task("mmlu_abstract_algebra", shared_options(shots));
    expect_leading_docs_equal(*task, *reference, 20);
  }
}

TEST(TaskSplits, MmluFromOneFileOfSeveralSubjectsKeepsEachSubjectsRows) {
  const std::string file = hub_fixture("mmlu_all_test.parquet");
  expect_leading_docs_equal(*make_mmlu_task("mmlu_abstract_algebra", data_options(file)),
                            *make_mmlu_task("mmlu_abstract_algebra", shared_options()), 6);
  expect_leading_docs_equal(*make_mmlu_task("mmlu_anatomy", data_options(file)),
                            *make_mmlu_task("mmlu_anatomy", shared_options()), 4);
  const std::string none = error_of([&] { make_mmlu_task("mmlu_astronomy", data_options(file)); });
  EXPECT_NE(none.find("cais/mmlu from the file " + file + ": no rows of subject 'astronomy' in split 'test'"), std::string::npos) << none;
  const std::string fewshot = error_of([&] { make_mmlu_task("mmlu_anatomy", data_options(file, 5)); });
  EXPECT_NE(fewshot.find("mmlu_anatomy: 5-shot needs the dev split, and the file " + file + " has none"), std::string::npos) << fewshot;
}

TEST(TaskSplits, AMissingColumnNamesTheFileAndColumn) {
  const std::string file = hub_fixture("mmlu_missing_answer.parquet");
  const std::string error = error_of([&] { make_mmlu_task("mmlu_abstract_algebra", data_options(file)); });
  EXPECT_EQ(error, file + ": missing column 'answer' (cais/mmlu has question, subject, choices, answer; the file has question, subject, choices)");
  EXPECT_EQ(error.find('\n'), std::string::npos);

  // JSON Lines: the line of the first record without the field
  const std::string folder = tt::testing::make_temp_dir("bbh-missing");
  std::filesystem::create_directories(folder + "/boolean_expressions");
  std::ofstream(folder + "/boolean_expressions/test-00000-of-00001.jsonl")
      << "{\"input\": \"True is\", \"target\": \"True\"}\n{\"input\": \"False is\"}\n";
  const std::string jsonl = error_of([&] { make_bbh_task("bbh_zeroshot_boolean_expressions", data_options(folder)); });
  EXPECT_EQ(jsonl, folder + "/boolean_expressions/test-00000-of-00001.jsonl:2: missing field 'target'");
}

TEST(TaskSplits, DataThatIsNeitherFileFolderNorIdIsOneLineError) {
  const std::string missing = tt::testing::make_temp_dir("splits") + "/mmlu.parquet";
  EXPECT_EQ(error_of([&] { make_mmlu_task("mmlu_anatomy", data_options(missing)); }),
            "--data " + missing + ": no such file or folder, nor a Hub dataset id (ORG/NAME)");
}

TEST(TaskSplits, BadValuesNameTheRow) {
  const std::string folder = tt::testing::make_temp_dir("arc-bad");
  std::filesystem::create_directories(folder + "/ARC-Easy");
  std::ofstream(folder + "/ARC-Easy/test-00000-of-00001.jsonl")
      << R"({"id": "q1", "question": "Why?", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, "answerKey": "B"})" "\n"
      << R"({"id": "q2", "question": "How?", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, "answerKey": "C"})" "\n";
  const std::string error = error_of([&] { make_arc_task("arc_easy", data_options(folder)); });
  EXPECT_EQ(error, folder + "/ARC-Easy/test-00000-of-00001.jsonl: record 2: answerKey \"C\" is not one of the labels [\"A\",\"B\"]");
  const std::string missing = error_of([&] { make_arc_task("arc_challenge", data_options(folder)); });
  EXPECT_NE(missing.find("allenai/ai2_arc from the folder " + folder + ": no rows for config 'ARC-Challenge' split 'test'"), std::string::npos) << missing;
}

TEST(TaskSplits, ArcFromAHubLayoutFolderEqualsTheJsonlExport) {
  auto task = make_arc_task("arc_challenge", data_options(hub_fixture("allenai_ai2_arc")));
  expect_leading_docs_equal(*task, *make_arc_task("arc_challenge", shared_options()), 20);
  // few-shot examples come from the folder's train split (its 30 rows)
  auto fewshot = make_arc_task("arc_challenge", data_options(hub_fixture("allenai_ai2_arc"), 2));
  auto train = make_arc_task("arc_challenge", data_options(hub_fixture("allenai_ai2_arc/ARC-Challenge/train-00000-of-00001.parquet")));
  ASSERT_EQ(train->docs().size(), 30u);  // a single file is read as the test split
  const std::string prompt = fewshot->prompt(fewshot->docs()[0]).text;
  int shots = 0;
  for (const Doc& doc : train->docs())
    if (prompt.find("Question: " + doc.fields["question"].get<std::string>() + "\nAnswer:") != std::string::npos) ++shots;
  EXPECT_EQ(shots, 2) << prompt;
  const std::string easy = error_of([&] { make_arc_task("arc_easy", data_options(hub_fixture("allenai_ai2_arc"))); });
  EXPECT_NE(easy.find("no rows for config 'ARC-Easy' split 'test'"), std::string::npos) << easy;
}

TEST(TaskSplits, BbhFromAHubLayoutJsonlFolderEqualsTheJsonExport) {
  for (const char* name : {"bbh_zeroshot_boolean_expressions", "bbh_cot_fewshot_boolean_expressions"}) {
    auto task = make_bbh_task(name, data_options(hub_fixture("saylortwift_bbh")));
    expect_leading_docs_equal(*task, *make_bbh_task(name, shared_options()), 20);
  }
}

TEST(TaskSplits, HubDatasetIdDownloadsTheConfigsSplits) {
  tt::testing::FakeHubServer hub;
  hub.start("--serve datasets:cais/mmlu=" + hub_fixture("cais_mmlu"));
  auto task = make_mmlu_task("mmlu_abstract_algebra", data_options("cais/mmlu", 5));
  expect_leading_docs_equal(*task, *make_mmlu_task("mmlu_abstract_algebra", shared_options(5)), 20);
  const std::string snapshot = hub.cache + "/datasets--cais--mmlu/snapshots/0123456789abcdef0123456789abcdef01234567";
  EXPECT_TRUE(tt::file_exists(snapshot + "/abstract_algebra/test-00000-of-00001.parquet"));
  EXPECT_TRUE(tt::file_exists(snapshot + "/abstract_algebra/dev-00000-of-00001.parquet"));
  const std::string missing = error_of([&] { make_mmlu_task("mmlu_anatomy", data_options("cais/mmlu")); });
  EXPECT_NE(missing.find("cais/mmlu from Hub dataset cais/mmlu: no rows for config 'anatomy' split 'test'"), std::string::npos) << missing;
}

}  // namespace
