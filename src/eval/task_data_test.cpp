// Task data readers (src/eval/task_data.h): CSV and JSON Lines with errors naming file:line, the
// data root, and lm-eval's standard error.
#include "eval/task_data.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/eval_test_util.h"
#include "eval/task_families.h"
#include "io/file.h"
#include "tests/fake_hub.h"
#include "tests/test_util.h"

using namespace tt::eval;
using namespace tt::eval::test_util;

namespace {

std::string write_temp(const std::string& name, const std::string& content) {
  const std::string path = tt::testing::make_temp_dir("task-data") + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

}  // namespace

TEST(TaskDataCsv, QuotingEscapesAndNewlines) {
  const std::string path = write_temp("q.csv",
                                      "question,choice0,answer\n"
                                      "\"a, b\",\"say \"\"hi\"\"\",1\n"
                                      "plain,\"two\nlines\",0\n"
                                      "\"\",x\"y,3\n");
  const auto docs = read_csv_docs(path);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].id, 0);
  EXPECT_EQ(docs[0].fields["question"], "a, b");
  EXPECT_EQ(docs[0].fields["choice0"], "say \"hi\"");
  EXPECT_EQ(docs[0].fields["answer"], "1");
  EXPECT_EQ(docs[1].fields["choice0"], "two\nlines");
  EXPECT_EQ(docs[2].id, 2);
  EXPECT_EQ(docs[2].fields["question"], "");
  EXPECT_EQ(docs[2].fields["choice0"], "x\"y");  // a quote inside an unquoted field is literal
  // Keys in header order.
  std::vector<std::string> keys;
  for (const auto& [key, value] : docs[0].fields.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"question", "choice0", "answer"}));
}

TEST(TaskDataCsv, CrlfBlankLinesNoFinalNewlineAndBom) {
  const auto docs = read_csv_docs(write_temp("c.csv", "\xEF\xBB\xBFq,a\r\n1,2\r\n\r\n3,4"));
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_TRUE(docs[0].fields.contains("q"));  // not "\xEF\xBB\xBFq"
  EXPECT_EQ(docs[0].fields["a"], "2");
  EXPECT_EQ(docs[1].fields["q"], "3");
  EXPECT_EQ(docs[1].fields["a"], "4");
}

TEST(TaskDataCsv, LoneQuotedEmptyValueIsARowNotABlankLine) {
  // A one-column file: "" is an empty value, an empty line is skipped.
  const auto docs = read_csv_docs(write_temp("one.csv", "q\n\"\"\n\nx\n"));
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].fields["q"], "");
  EXPECT_EQ(docs[1].fields["q"], "x");
}

TEST(TaskDataCsv, RaggedRowNamesFileAndLine) {
  // Lines 3-4 hold a quoted field spanning two lines and line 5 is blank: the ragged row is line 6.
  const std::string path = write_temp("r.csv", "a,b,c\n1,2,3\n\"x\ny\",2,3\n\n4,5\n");
  const std::string error = error_of([&] { read_csv_docs(path); });
  EXPECT_EQ(error, path + ":6: 2 fields, the header has 3");
  const std::string longer = write_temp("l.csv", "a,b\n1,2,3\n");
  EXPECT_EQ(error_of([&] { read_csv_docs(longer); }), longer + ":2: 3 fields, the header has 2");
}

TEST(TaskDataCsv, OtherErrors) {
  const std::string unterminated = write_temp("u.csv", "a,b\n1,\"open\n2,3\n");
  EXPECT_EQ(error_of([&] { read_csv_docs(unterminated); }), unterminated + ":2: unterminated quoted field");
  const std::string empty = write_temp("e.csv", "");
  EXPECT_NE(error_of([&] { read_csv_docs(empty); }).find(empty + ": empty CSV file"), std::string::npos);
  const std::string twice = write_temp("t.csv", "a,b,a\n1,2,3\n");
  EXPECT_EQ(error_of([&] { read_csv_docs(twice); }), twice + ":1: column 'a' appears twice in the header");
  const std::string missing = tt::testing::make_temp_dir("task-data") + "/nope.csv";
  EXPECT_NE(error_of([&] { read_csv_docs(missing); }).find(missing), std::string::npos);
  EXPECT_TRUE(read_csv_docs(write_temp("h.csv", "a,b\n")).empty());  // header only: no documents
}

TEST(TaskDataJsonl, RequiredFieldsKeyOrderAndErrors) {
  const std::string path = write_temp("d.jsonl",
                                      "{\"zeta\": 1, \"alpha\": {\"stem\": \"s\"}}\n"
                                      "\n"
                                      "{\"zeta\": 2, \"alpha\": {\"stem\": \"t\"}}\n");
  const auto docs = read_jsonl_docs(path, {"zeta", "alpha.stem"});
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1].id, 1);
  EXPECT_EQ(docs[1].fields["alpha"]["stem"], "t");
  EXPECT_EQ(docs[0].fields.begin().key(), "zeta");  // file order, not sorted

  EXPECT_EQ(error_of([&] { read_jsonl_docs(path, {"alpha.choices"}); }),
            path + ":1: missing field 'alpha.choices'");
  EXPECT_EQ(error_of([&] { read_jsonl_docs(path, {"zeta.x"}); }), path + ":1: missing field 'zeta.x'");
  const std::string bad = write_temp("b.jsonl", "{\"a\": 1}\n\n{\"a\": \n");
  EXPECT_NE(error_of([&] { read_jsonl_docs(bad, {}); }).find(bad + ":3: invalid JSON"), std::string::npos);
  const std::string array = write_temp("a.jsonl", "[1, 2]\n");
  EXPECT_EQ(error_of([&] { read_jsonl_docs(array, {}); }), array + ":1: expected a JSON object");
  const std::string missing = tt::testing::make_temp_dir("task-data") + "/nope.jsonl";
  EXPECT_NE(error_of([&] { read_jsonl_docs(missing, {}); }).find(missing), std::string::npos);
}

TEST(TaskDataRoot, OptionThenEnvironmentThenDefault) {
  TaskOptions options;
  options.data_root = "/x/data";
  EXPECT_EQ(resolve_data_root(options), "/x/data");
  options.data_root.clear();
  const char* saved = std::getenv("TINYTHINK_SHARED");
  const std::string saved_value = saved ? saved : "";
  ::setenv("TINYTHINK_SHARED", "/y", 1);
  EXPECT_EQ(resolve_data_root(options), "/y/data");
  ::unsetenv("TINYTHINK_SHARED");
  EXPECT_EQ(resolve_data_root(options), "../shared/data");
  if (saved) ::setenv("TINYTHINK_SHARED", saved_value.c_str(), 1);
}

// Set but empty (`TINYTHINK_SHARED= ctest`) counts as unset, for the binary and for the tests' helper.
TEST(TaskDataRoot, EmptyEnvironmentCountsAsUnset) {
  const char* saved = std::getenv("TINYTHINK_SHARED");
  const std::string saved_value = saved ? saved : "";
  ::setenv("TINYTHINK_SHARED", "", 1);
  EXPECT_EQ(resolve_data_root(TaskOptions{}), "../shared/data");
  EXPECT_EQ(tt::testing::shared_dir(), std::string(TT_SOURCE_DIR) + "/../shared");
  if (saved) ::setenv("TINYTHINK_SHARED", saved_value.c_str(), 1);
  else ::unsetenv("TINYTHINK_SHARED");
}

TEST(TaskDataStderr, SampleStandardErrorOfTheMean) {
  EXPECT_EQ(mean_stderr({}), 0.0);
  EXPECT_EQ(mean_stderr({1.0}), 0.0);
  // values 1,0,1,1: mean 0.75, sample variance 0.25, stderr sqrt(0.25 / 4) = 0.25.
  EXPECT_DOUBLE_EQ(mean_stderr({1, 0, 1, 1}), 0.25);
  // 2,4,4,4,5,5,7,9: sample variance 32/7.
  EXPECT_NEAR(mean_stderr({2, 4, 4, 4, 5, 5, 7, 9}), std::sqrt(32.0 / 7.0 / 8.0), 1e-15);
}

// --data as a parquet file, a folder holding the parquet twin of a task's JSONL file, or a Hub
// dataset id: the same documents, keys in column order, as the rows DuckDB exported to JSONL.
namespace {

std::string math500_fixture(const char* ext) { return tt::testing::fixture_dir() + "/parquet/math500_test" + ext; }

void expect_same_docs(const std::vector<Doc>& docs, const std::vector<Doc>& expected) {
  ASSERT_EQ(docs.size(), expected.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(docs[i].id, expected[i].id);
    EXPECT_EQ(docs[i].fields.dump(), expected[i].fields.dump()) << i;  // dump: key order too
  }
}

}  // namespace

TEST(TaskData, ParquetFileOrFolderTwinGivesTheJsonlDocs) {
  const std::vector<Doc> expected = read_jsonl_docs(math500_fixture(".jsonl"), {"problem", "answer"});
  ASSERT_EQ(expected.size(), 3u);
  TaskOptions file;
  file.data_root = math500_fixture(".parquet");
  EXPECT_EQ(task_data_path(file, "math500/test.jsonl"), file.data_root);
  expect_same_docs(make_math500_task(file)->docs(), expected);

  const std::string root = tt::testing::make_temp_dir("math500-parquet");
  std::filesystem::create_directories(root + "/math500");
  std::filesystem::copy_file(math500_fixture(".parquet"), root + "/math500/test.parquet");
  TaskOptions folder;
  folder.data_root = root;
  EXPECT_EQ(task_data_path(folder, "math500/test.jsonl"), root + "/math500/test.parquet");
  expect_same_docs(make_math500_task(folder)->docs(), expected);
  std::filesystem::remove_all(root);
}

TEST(TaskData, ParquetRowsMissingAFieldNameTheFileAndRow) {
  try {
    read_jsonl_docs(tt::testing::fixture_dir() + "/parquet/tiny_think_sft.parquet", {"messages", "problem"});
    FAIL() << "expected an error";
  } catch (const tt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("tiny_think_sft.parquet: row 1: missing field 'problem'"), std::string::npos) << e.what();
  }
}

TEST(TaskData, HubDatasetIdReadsItsTestSplit) {
  const std::string repo = tt::testing::make_temp_dir("math500-repo");
  std::filesystem::create_directories(repo + "/data");
  std::filesystem::copy_file(math500_fixture(".parquet"), repo + "/data/test-00000-of-00001.parquet");
  tt::testing::FakeHubServer hub;
  hub.start("--serve datasets:HuggingFaceH4/MATH-500=" + repo);
  TaskOptions options;
  options.data_root = "HuggingFaceH4/MATH-500";
  EXPECT_EQ(task_data_path(options, "math500/test.jsonl"), "HuggingFaceH4/MATH-500");
  expect_same_docs(make_math500_task(options)->docs(), read_jsonl_docs(math500_fixture(".jsonl"), {}));
  EXPECT_TRUE(tt::file_exists(hub.cache + "/datasets--HuggingFaceH4--MATH-500/snapshots/0123456789abcdef0123456789abcdef01234567/data/test-00000-of-00001.parquet"));
}
