// Evaluation tasks (issue 7, DESIGN.md §5): what each benchmark asks a model and how an answer is
// scored, independent of how the answer was produced (the engine, or saved responses).
//
//   auto names = expand_task_names({"gsm8k_boxed", "bbh_zeroshot"}, options);  // groups -> subtasks
//   auto task = make_task(names[0], options);
//   for (const Doc& doc : task->docs()) {
//     Prompt p = task->prompt(doc, fewshot);          // text (plain) and chat messages
//     ... generate with task->generation_defaults() ...
//     DocScore s = task->score_response(doc, response);
//   }
//
// Two kinds of task, as lm-eval has them:
//   - generate_until: the model writes a response; filters extract answers; per-doc metrics.
//   - multiple_choice: the model is asked for log p(choice | context) of every choice; acc picks the
//     highest log-likelihood, acc_norm the highest log-likelihood per byte of the choice.
// Metric keys follow lm-eval's results.json: "<metric>,<filter>" ("exact_match,strict-match",
// "acc,none", "prompt_level_strict_acc,none").
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt::eval {

enum class OutputType { GenerateUntil, MultipleChoice };

struct TaskOptions {
  // Root of the data layout of ../shared/data (gsm8k/test.jsonl, math500/test.jsonl,
  // bbh/bbh/<task>.json, bbh/cot-prompts/<task>.txt, ifeval/input_data.jsonl,
  // mmlu_stem/{dev,test}/<subject>_{dev,test}.csv, arc/ARC-*.jsonl). Empty: $TINYTHINK_SHARED/data,
  // else ../shared/data relative to the working directory.
  std::string data_root;
  // Few-shot examples per prompt; -1 = the task's default (lm-eval's num_fewshot).
  int num_fewshot = -1;
  uint64_t seed = 1234;  // few-shot sampling (lm-eval's fewshot_random_seed)
};

// One document of a task's evaluation split.
struct Doc {
  int64_t id = 0;                  // doc_id: index in the evaluation split, in file order
  nlohmann::ordered_json fields;   // the record as read (csv rows become objects with the header's keys)
};

// What the model is asked, built as lm-eval's fewshot_context builds its list of Messages. `messages`
// are the chat turns (system = description or the study's system prompt; few-shot examples as
// user/assistant turns, lm-eval's fewshot_as_multiturn; the last turn is the user's question).
// `delimiters[i]` is what follows message i in the plain text (lm-eval's Message._delimiter: the
// target delimiter after a question, the few-shot delimiter after an answer), and `text`, lm-eval's
// plain context, is every message's content followed by its delimiter: add() keeps the three in
// step. `chat_native`: the task's protocol always applies the chat template (the study's
// gsm8k/math500).
struct Prompt {
  std::string text;
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  std::vector<std::string> delimiters;
  std::string fewshot_delimiter = "\n\n";  // the task's; joins a --system-instruction to the description
  bool chat_native = false;

  void add(const std::string& role, const std::string& content, const std::string& delimiter = "") {
    messages.push_back({{"role", role}, {"content", content}});
    delimiters.push_back(delimiter);
    text += content;
    text += delimiter;
  }
};

// Default decoding for generate_until tasks (lm-eval's generation_kwargs / the study's protocol).
struct GenerationDefaults {
  std::vector<std::string> until;  // stop strings
  int64_t max_gen_toks = 256;
  bool do_sample = false;
  double temperature = 0.0;
  double top_p = 1.0;
};

// The score of one response (generate_until) or one set of choice log-likelihoods (multiple_choice).
struct DocScore {
  // metric key -> per-document values; usually one value, several for instruction-level IFEval
  // metrics (one per instruction; aggregated over all instructions of all documents).
  std::map<std::string, std::vector<double>> metrics;
  // filter name -> extracted answer ("[invalid]" when nothing was found), written to samples.
  nlohmann::ordered_json filtered = nlohmann::ordered_json::object();
  // Extra per-task fields for samples_<task>.jsonl (e.g. IFEval's follow_instruction_list_strict).
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

class Task {
 public:
  virtual ~Task() = default;

  virtual const std::string& name() const = 0;
  // The group it belongs to in results.json ("bbh_zeroshot", "mmlu_stem"), or "".
  virtual std::string group() const { return ""; }
  // The filter of the group's aggregate_metric_list (lm-eval's filter_list: bbh_zeroshot aggregates
  // only "flexible-extract"), or "": every metric the subtasks share.
  virtual std::string group_filter() const { return ""; }
  // The group's metadata version (lm-eval writes it into results.json "versions" after the tasks'),
  // or null.
  virtual nlohmann::ordered_json group_version() const { return nullptr; }
  virtual OutputType output_type() const = 0;
  virtual const std::vector<Doc>& docs() const = 0;
  // lm-eval's task config, written to results.json "configs" (dataset path, num_fewshot,
  // generation_kwargs, filters, metric_list, ...).
  virtual nlohmann::ordered_json config() const = 0;
  // Metric keys this task reports, in results.json order.
  virtual std::vector<std::string> metric_keys() const = 0;

  virtual Prompt prompt(const Doc& doc) const = 0;
  // The gold answer as written to samples ("target").
  virtual std::string target(const Doc& doc) const = 0;
  // Fields that name a document by its own text when re-scoring saved responses ("question",
  // "problem", "prompt", "input"): a response line's value for one of them equal to the doc's.
  virtual std::vector<std::string> doc_text_fields() const = 0;

  // generate_until
  virtual GenerationDefaults generation_defaults() const { return {}; }
  // Never throws on an empty or non-UTF-8 response: it scores as wrong.
  virtual DocScore score_response(const Doc& doc, std::string_view response) const {
    return {};
  }

  // multiple_choice: the continuations (with lm-eval's target_delimiter, e.g. " A" or " text")
  // and the index of the right one.
  virtual std::vector<std::string> choices(const Doc& doc) const { return {}; }
  virtual int64_t gold_index(const Doc& doc) const { return -1; }
  // The delimiter the choices start with: the config's target_delimiter, else lm-eval's default " ".
  std::string target_delimiter() const;
  // acc / acc_norm from the log-likelihood of each choice (sum over its tokens).
  DocScore score_choices(const Doc& doc, const std::vector<double>& choice_loglikelihoods) const;
};

// Every task name make_task accepts, and the groups expand_task_names expands.
std::vector<std::string> task_names();
std::map<std::string, std::vector<std::string>> task_groups();
// Expands groups ("bbh_zeroshot" -> its 27 subtasks "bbh_zeroshot_<subtask>", "mmlu_stem" -> 19
// "mmlu_<subject>", "tiny_think" -> the study's suite) and checks every name; an unknown one is an
// error listing the known names.
std::vector<std::string> expand_task_names(const std::vector<std::string>& names);
// Loads the task's data. A missing file, or a record without a field the task needs, is an error
// naming the file (and line / row) and the field.
std::unique_ptr<Task> make_task(const std::string& name, const TaskOptions& options);

}  // namespace tt::eval
