// arc_challenge, arc_easy: lm-eval's arc_easy.yaml / arc_challenge.yaml (multiple_choice on
// " <choice text>") on AI2's ARC jsonl files in <data_root>/arc/ARC-{Challenge,Easy}-{Test,Train}.jsonl
// ({id, question: {stem, choices: [{text, label}]}, answerKey}; labels are letters or digits), or on
// the Hugging Face dataset allenai/ai2_arc as --data names it (task_splits.h: config ARC-Easy /
// ARC-Challenge; parquet / JSONL rows {id, question, choices: {text, label}, answerKey}).
#include <algorithm>

#include "core/error.h"
#include "eval/python_compat.h"
#include "eval/task_data.h"
#include "eval/task_families.h"
#include "eval/task_multiple_choice.h"
#include "eval/task_splits.h"
#include "io/file.h"
#include "io/jsonl.h"

namespace tt::eval {

namespace {

constexpr const char* kDocToText = "Question: {{question}}\nAnswer:";
constexpr const char* kTargetDelimiter = " ";
constexpr const char* kFewshotDelimiter = "\n\n";

// The records as the Hugging Face allenai/ai2_arc rows lm-eval sees:
// {id, question: stem, choices: {text: [...], label: [...]}, answerKey}.
std::vector<Doc> read_arc_jsonl(const std::string& path) {
  std::vector<Doc> docs;
  read_jsonl(path, [&](int64_t line, const nlohmann::json& record) {
    for (const char* field : {"id", "question", "answerKey"})
      if (!record.contains(field)) fail_at_line(path, line, fmt::format("missing field '{}'", field));
    const auto& question = record["question"];
    if (!question.is_object() || !question.contains("stem") || !question["stem"].is_string())
      fail_at_line(path, line, "missing field 'question.stem'");
    if (!question.contains("choices") || !question["choices"].is_array() || question["choices"].empty())
      fail_at_line(path, line, "missing field 'question.choices' (a non-empty list)");
    if (!record["answerKey"].is_string()) fail_at_line(path, line, "field 'answerKey' is not a string");

    nlohmann::ordered_json texts = nlohmann::ordered_json::array(), labels = nlohmann::ordered_json::array();
    for (const auto& choice : question["choices"]) {
      if (!choice.is_object() || !choice.contains("text") || !choice["text"].is_string() ||
          !choice.contains("label") || !choice["label"].is_string())
        fail_at_line(path, line, "a choice without string fields 'text' and 'label'");
      texts.push_back(choice["text"].get<std::string>());
      labels.push_back(choice["label"].get<std::string>());
    }
    const std::string key = record["answerKey"].get<std::string>();
    if (std::find(labels.begin(), labels.end(), key) == labels.end())
      fail_at_line(path, line, fmt::format("answerKey '{}' is not one of the labels {}", key, labels.dump()));

    Doc doc;
    doc.id = static_cast<int64_t>(docs.size());
    doc.fields["id"] = record["id"];
    doc.fields["question"] = question["stem"].get<std::string>();
    doc.fields["choices"] = {{"text", std::move(texts)}, {"label", std::move(labels)}};
    doc.fields["answerKey"] = key;
    docs.push_back(std::move(doc));
  });
  if (docs.empty()) fail("{}: no questions", path);
  return docs;
}

// allenai/ai2_arc rows of `config`'s `split`: {id, question, choices: {text: [...], label: [...]},
// answerKey}, the records lm-eval sees.
std::vector<Doc> read_arc_rows(const TaskSplits& splits, const std::string& config, const std::string& split) {
  std::vector<Doc> docs;
  for (SplitRow& row : splits.rows(config, split, {"id", "question", "choices", "answerKey"})) {
    const auto& f = row.doc.fields;
    for (const char* column : {"id", "question", "answerKey"})
      if (!f[column].is_string()) fail("{}: column '{}' is not a string", row.where, column);
    const auto& choices = f["choices"];
    auto strings = [&](const char* key) {
      return choices.is_object() && choices.contains(key) && choices[key].is_array() &&
             std::all_of(choices[key].begin(), choices[key].end(), [](const auto& v) { return v.is_string(); });
    };
    if (!strings("text") || !strings("label") || choices["text"].empty() || choices["text"].size() != choices["label"].size())
      fail("{}: column 'choices' is not {{text: [...], label: [...]}} (two lists of strings of one non-zero length)", row.where);
    const auto& labels = choices["label"];
    if (std::find(labels.begin(), labels.end(), f["answerKey"]) == labels.end())
      fail("{}: answerKey {} is not one of the labels {}", row.where, f["answerKey"].dump(), labels.dump());
    Doc doc;
    doc.id = static_cast<int64_t>(docs.size());
    doc.fields["id"] = f["id"];
    doc.fields["question"] = f["question"];
    doc.fields["choices"] = {{"text", choices["text"]}, {"label", labels}};
    doc.fields["answerKey"] = f["answerKey"];
    docs.push_back(std::move(doc));
  }
  return docs;
}

std::string arc_doc_to_text(const Doc& doc) {
  return "Question: " + doc.fields["question"].get<std::string>() + "\nAnswer:";
}

// doc_to_target "{{choices.label.index(answerKey)}}".
int64_t arc_gold(const Doc& doc) {
  const auto& labels = doc.fields["choices"]["label"];
  const auto& key = doc.fields["answerKey"];
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == key) return static_cast<int64_t>(i);
  fail("ARC doc {}: answerKey {} is not one of the labels {}", doc.id, key.dump(), labels.dump());
}

class ArcTask final : public Task {
 public:
  ArcTask(const std::string& name, const std::string& dataset_name, const TaskOptions& options)
      : name_(name), dataset_name_(dataset_name) {
    num_fewshot_ = options.num_fewshot < 0 ? 0 : options.num_fewshot;
    const TaskSplits splits(options, "arc", "allenai/ai2_arc");
    const std::string root = resolve_data_root(options) + "/arc/";
    docs_ = splits.in_data_root() ? read_arc_jsonl(root + dataset_name_ + "-Test.jsonl") : read_arc_rows(splits, dataset_name_, "test");
    if (num_fewshot_ == 0) return;

    // lm-eval draws few-shot examples from the training split with its default sampler:
    // random.Random(fewshot_random_seed).sample(train, k), one draw per document in doc order
    // from one generator. Another set's training split would not be this task, so a missing
    // file is an error.
    const std::string train_path = splits.in_data_root() ? root + dataset_name_ + "-Train.jsonl"
                                                         : "allenai/ai2_arc " + dataset_name_ + " train split (" + splits.describe() + ")";
    if (splits.in_data_root() ? !file_exists(train_path) : !splits.has_split(dataset_name_, "train"))
      fail("{}: {}-shot {} needs the {} training split, and {} does not exist", name_, num_fewshot_, name_,
           dataset_name_, train_path);
    train_ = splits.in_data_root() ? read_arc_jsonl(train_path) : read_arc_rows(splits, dataset_name_, "train");
    if (num_fewshot_ > static_cast<int>(train_.size()))
      fail("{}: {} few-shot examples asked for, the training split has {}", train_path, num_fewshot_,
           train_.size());
    py::Random rng(options.seed);
    fewshot_indices_.reserve(docs_.size());
    for (size_t i = 0; i < docs_.size(); ++i)
      fewshot_indices_.push_back(rng.sample(static_cast<int64_t>(train_.size()), num_fewshot_));
  }

  const std::string& name() const override { return name_; }
  OutputType output_type() const override { return OutputType::MultipleChoice; }
  const std::vector<Doc>& docs() const override { return docs_; }

  nlohmann::ordered_json config() const override {
    nlohmann::ordered_json c;
    c["task"] = name_;
    c["tag"] = nlohmann::ordered_json::array({"ai2_arc"});
    c["dataset_path"] = "allenai/ai2_arc";
    c["dataset_name"] = dataset_name_;
    c["training_split"] = "train";
    c["validation_split"] = "validation";
    c["test_split"] = "test";
    c["doc_to_text"] = kDocToText;
    c["doc_to_target"] = "{{choices.label.index(answerKey)}}";
    c["doc_to_choice"] = "{{choices.text}}";
    c["description"] = "";
    c["target_delimiter"] = kTargetDelimiter;
    c["fewshot_delimiter"] = kFewshotDelimiter;
    c["num_fewshot"] = num_fewshot_;
    c["metric_list"] = {{{"metric", "acc"}, {"aggregation", "mean"}, {"higher_is_better", true}},
                        {{"metric", "acc_norm"}, {"aggregation", "mean"}, {"higher_is_better", true}}};
    c["output_type"] = "multiple_choice";
    c["repeats"] = 1;
    c["should_decontaminate"] = true;
    c["doc_to_decontamination_query"] = kDocToText;
    c["metadata"] = {{"version", 1.0}};
    return c;
  }
  std::vector<std::string> metric_keys() const override { return {"acc,none", "acc_norm,none"}; }

  Prompt prompt(const Doc& doc) const override {
    std::vector<FewshotExample> fewshot;
    if (num_fewshot_ > 0) {
      if (doc.id < 0 || doc.id >= static_cast<int64_t>(fewshot_indices_.size()))
        fail("{}: doc id {} outside the {} documents", name_, doc.id, fewshot_indices_.size());
      for (int64_t index : fewshot_indices_[doc.id]) {
        const Doc& example = train_[index];
        fewshot.push_back({arc_doc_to_text(example), target(example)});
      }
    }
    return multiple_choice_prompt("", fewshot, arc_doc_to_text(doc), kTargetDelimiter, kFewshotDelimiter);
  }
  std::string target(const Doc& doc) const override {
    return doc.fields["choices"]["text"][arc_gold(doc)].get<std::string>();
  }
  std::vector<std::string> doc_text_fields() const override { return {"question"}; }

  std::vector<std::string> choices(const Doc& doc) const override {
    std::vector<std::string> out;
    for (const auto& text : doc.fields["choices"]["text"]) {
      std::string continuation = kTargetDelimiter;
      continuation += text.get_ref<const std::string&>();
      out.push_back(std::move(continuation));
    }
    return out;
  }
  int64_t gold_index(const Doc& doc) const override { return arc_gold(doc); }

 private:
  std::string name_, dataset_name_;
  int num_fewshot_ = 0;
  std::vector<Doc> docs_, train_;
  std::vector<std::vector<int64_t>> fewshot_indices_;  // per doc id: indices into train_
};

}  // namespace

std::unique_ptr<Task> make_arc_task(const std::string& name, const TaskOptions& options) {
  if (name == "arc_challenge") return std::make_unique<ArcTask>(name, "ARC-Challenge", options);
  if (name == "arc_easy") return std::make_unique<ArcTask>(name, "ARC-Easy", options);
  fail("unknown ARC task '{}': expected arc_challenge or arc_easy", name);
}

}  // namespace tt::eval
