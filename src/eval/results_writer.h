// What an evaluation writes, shaped as lm-eval writes it: samples_<task>.jsonl (one line per doc)
// and the tables of results.json (see runner.h).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/aggregate.h"
#include "eval/runner.h"
#include "eval/task_run.h"

namespace tt::eval {

// JSON text that never throws on invalid UTF-8 (a model can write any bytes): U+FFFD instead.
std::string dump_json(const nlohmann::ordered_json& j, int indent = -1);

// The samples file of one task: doc, target, prompt, arguments, responses (or choice
// log-likelihoods), filtered responses, metric values and the task's extras per doc. `scored`:
// the responses as scored; `gen_args`: the generation arguments (generate_until tasks).
std::string samples_jsonl(const Task& task, const TaskRun& run, const std::vector<std::string>& scored,
                          const nlohmann::ordered_json& gen_args, bool strip_thinking);

// results.json's per-task tables, filled a task at a time.
struct ResultsTables {
  nlohmann::ordered_json results = nlohmann::ordered_json::object(), configs = nlohmann::ordered_json::object(),
                         versions = nlohmann::ordered_json::object(), n_shot = nlohmann::ordered_json::object(),
                         higher = nlohmann::ordered_json::object(), n_samples = nlohmann::ordered_json::object(),
                         timing = nlohmann::ordered_json::object();
  nlohmann::ordered_json group_versions = nlohmann::ordered_json::object();  // in the order groups are met
  void add(const Task& task, const TaskRun& run, const MetricTable& metrics);
};

// The whole results.json object. `chat_template`: the template's source when prompts were rendered
// with it (--apply-chat-template), else "" (lm-eval's chat_template and chat_template_sha are null).
nlohmann::ordered_json results_json(const EvalOptions& options, const ResultsTables& tables, const GroupTable& groups,
                                    const std::string& data_root, const std::string& chat_template, double seconds);

}  // namespace tt::eval
