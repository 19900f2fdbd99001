// mmlu_<subject>: lm-eval's mmlu/default template (multiple_choice on " A".." D"), on the csv
// export of MMLU in <data_root>/mmlu_stem/{test,dev}/<subject>_{test,dev}.csv
// (header question,choice0,choice1,choice2,choice3,answer; answer 0-3), or on the Hugging Face
// dataset cais/mmlu as --data names it (task_splits.h: config = subject; parquet / JSONL rows).
#include <algorithm>

#include <fmt/ranges.h>

#include "core/error.h"
#include "eval/task_data.h"
#include "eval/task_families.h"
#include "eval/python_compat.h"
#include "eval/task_multiple_choice.h"
#include "eval/task_splits.h"

namespace tt::eval {

namespace {

// lm-eval's SUBJECTS of category "stem", in its (alphabetical) order.
const std::vector<std::string> kStemSubjects = {
    "abstract_algebra",       "anatomy",
    "astronomy",              "college_biology",
    "college_chemistry",      "college_computer_science",
    "college_mathematics",    "college_physics",
    "computer_security",      "conceptual_physics",
    "electrical_engineering", "elementary_mathematics",
    "high_school_biology",    "high_school_chemistry",
    "high_school_computer_science", "high_school_mathematics",
    "high_school_physics",    "high_school_statistics",
    "machine_learning",
};

constexpr const char* kDocToText =
    "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:";
const std::vector<std::string> kLetters = {"A", "B", "C", "D"};
constexpr const char* kTargetDelimiter = " ";
constexpr const char* kFewshotDelimiter = "\n\n";

// A csv row as the Hugging Face cais/mmlu record lm-eval sees: question, subject, choices, answer.
std::vector<Doc> read_mmlu_csv(const std::string& path, const std::string& subject) {
  std::vector<Doc> rows = read_csv_docs(path);
  if (rows.empty()) fail("{}: no questions", path);
  for (const char* column : {"question", "choice0", "choice1", "choice2", "choice3", "answer"})
    if (!rows[0].fields.contains(column)) fail("{}:1: missing column '{}'", path, column);
  std::vector<Doc> docs;
  docs.reserve(rows.size());
  for (const Doc& row : rows) {
    const std::string answer = row.fields["answer"].get<std::string>();
    if (answer.size() != 1 || answer[0] < '0' || answer[0] > '3')
      fail("{}: question {} (row {} after the header): answer '{}' is not 0-3", path, row.id, row.id + 1, answer);
    Doc doc;
    doc.id = row.id;
    doc.fields["question"] = row.fields["question"];
    doc.fields["subject"] = subject;
    doc.fields["choices"] = {row.fields["choice0"], row.fields["choice1"], row.fields["choice2"],
                             row.fields["choice3"]};
    doc.fields["answer"] = answer[0] - '0';
    docs.push_back(std::move(doc));
  }
  return docs;
}

// cais/mmlu rows (question, subject, choices: 4 strings, answer: 0-3) of `subject`'s `split`. A
// file of several subjects (the dataset's "all" config) gives the rows whose subject is this one.
std::vector<Doc> read_mmlu_rows(const TaskSplits& splits, const std::string& subject, const std::string& split) {
  std::vector<Doc> docs;
  for (SplitRow& row : splits.rows(subject, split, {"question", "subject", "choices", "answer"})) {
    const auto& f = row.doc.fields;
    if (!f["subject"].is_string()) fail("{}: column 'subject' is not a string", row.where);
    if (f["subject"] != subject) continue;
    if (!f["question"].is_string()) fail("{}: column 'question' is not a string", row.where);
    const auto& choices = f["choices"];
    if (!choices.is_array() || choices.size() != 4 ||
        !std::all_of(choices.begin(), choices.end(), [](const auto& c) { return c.is_string(); }))
      fail("{}: column 'choices' is not a list of 4 strings", row.where);
    if (!f["answer"].is_number_integer() || f["answer"].get<int64_t>() < 0 || f["answer"].get<int64_t>() > 3)
      fail("{}: column 'answer' is {}, not 0-3", row.where, f["answer"].dump());
    Doc doc;
    doc.id = static_cast<int64_t>(docs.size());
    doc.fields["question"] = f["question"];
    doc.fields["subject"] = subject;
    doc.fields["choices"] = choices;
    doc.fields["answer"] = f["answer"].get<int>();
    docs.push_back(std::move(doc));
  }
  if (docs.empty()) fail("cais/mmlu from {}: no rows of subject '{}' in split '{}'", splits.describe(), subject, split);
  return docs;
}

std::string mmlu_doc_to_text(const Doc& doc) {
  const auto& choices = doc.fields["choices"];
  std::string text(py::strip(doc.fields["question"].get<std::string>()));
  for (size_t i = 0; i < kLetters.size(); ++i)
    text += "\n" + kLetters[i] + ". " + choices[i].get<std::string>();
  return text + "\nAnswer:";
}

class MmluTask final : public Task {
 public:
  MmluTask(std::string subject, const TaskOptions& options)
      : subject_(std::move(subject)), name_("mmlu_" + subject_) {
    std::string spaced = subject_;
    std::replace(spaced.begin(), spaced.end(), '_', ' ');
    description_ = "The following are multiple choice questions (with answers) about " + spaced + ".\n\n";
    num_fewshot_ = options.num_fewshot < 0 ? 0 : options.num_fewshot;  // lm-eval's mmlu default

    const TaskSplits splits(options, "mmlu_stem", "cais/mmlu");
    const std::string root = resolve_data_root(options) + "/mmlu_stem";
    docs_ = splits.in_data_root() ? read_mmlu_csv(root + "/test/" + subject_ + "_test.csv", subject_)
                                  : read_mmlu_rows(splits, subject_, "test");
    if (num_fewshot_ > 0) {
      // sampler first_n: the first num_fewshot rows of the dev split, the same for every question.
      const std::string dev_path = splits.in_data_root() ? root + "/dev/" + subject_ + "_dev.csv"
                                                         : "cais/mmlu " + subject_ + " dev split (" + splits.describe() + ")";
      if (!splits.in_data_root() && !splits.has_split(subject_, "dev"))
        fail("{}: {}-shot needs the dev split, and {} has none", name_, num_fewshot_, splits.describe());
      const std::vector<Doc> dev = splits.in_data_root() ? read_mmlu_csv(dev_path, subject_) : read_mmlu_rows(splits, subject_, "dev");
      if (num_fewshot_ > static_cast<int>(dev.size()))
        fail("{}: {} few-shot examples asked for, the dev split has {}", dev_path, num_fewshot_, dev.size());
      for (int i = 0; i < num_fewshot_; ++i)
        fewshot_.push_back({mmlu_doc_to_text(dev[i]), kLetters[dev[i].fields["answer"].get<int>()]});
    }
  }

  const std::string& name() const override { return name_; }
  std::string group() const override { return "mmlu_stem"; }
  nlohmann::ordered_json group_version() const override { return 2; }  // _mmlu_stem.yaml: version: 2
  OutputType output_type() const override { return OutputType::MultipleChoice; }
  const std::vector<Doc>& docs() const override { return docs_; }

  nlohmann::ordered_json config() const override {
    nlohmann::ordered_json c;
    c["task"] = name_;
    c["task_alias"] = subject_;
    c["tag"] = "mmlu_stem_tasks";
    c["dataset_path"] = "cais/mmlu";
    c["dataset_name"] = subject_;
    c["test_split"] = "test";
    c["fewshot_split"] = "dev";
    c["doc_to_text"] = kDocToText;
    c["doc_to_target"] = "answer";
    c["doc_to_choice"] = kLetters;
    c["description"] = description_;
    c["target_delimiter"] = kTargetDelimiter;
    c["fewshot_delimiter"] = kFewshotDelimiter;
    c["fewshot_config"] = {{"sampler", "first_n"}};
    c["num_fewshot"] = num_fewshot_;
    c["metric_list"] = {{{"metric", "acc"}, {"aggregation", "mean"}, {"higher_is_better", true}}};
    c["output_type"] = "multiple_choice";
    c["repeats"] = 1;
    c["should_decontaminate"] = false;
    c["metadata"] = {{"version", 1.0}};
    return c;
  }
  // lm-eval's mmlu lists acc only (acc_norm would equal it: every choice is one letter).
  std::vector<std::string> metric_keys() const override { return {"acc,none"}; }

  Prompt prompt(const Doc& doc) const override {
    return multiple_choice_prompt(description_, fewshot_, mmlu_doc_to_text(doc), kTargetDelimiter,
                                  kFewshotDelimiter);
  }
  std::string target(const Doc& doc) const override { return kLetters[gold_index(doc)]; }
  std::vector<std::string> doc_text_fields() const override { return {"question"}; }

  std::vector<std::string> choices(const Doc&) const override {
    std::vector<std::string> out;
    for (const auto& letter : kLetters) out.push_back(kTargetDelimiter + letter);
    return out;
  }
  int64_t gold_index(const Doc& doc) const override { return doc.fields["answer"].get<int64_t>(); }

 private:
  std::string subject_, name_, description_;
  int num_fewshot_ = 0;
  std::vector<Doc> docs_;
  std::vector<FewshotExample> fewshot_;
};

}  // namespace

std::vector<std::string> mmlu_stem_subjects() { return kStemSubjects; }

std::unique_ptr<Task> make_mmlu_task(const std::string& name, const TaskOptions& options) {
  const std::string prefix = "mmlu_";
  const std::string subject = name.starts_with(prefix) ? name.substr(prefix.size()) : "";
  if (std::find(kStemSubjects.begin(), kStemSubjects.end(), subject) == kStemSubjects.end())
    fail("unknown MMLU task '{}': the STEM subjects are mmlu_{}", name, fmt::join(kStemSubjects, ", mmlu_"));
  return std::make_unique<MmluTask>(subject, options);
}

}  // namespace tt::eval
