#include "eval/results_writer.h"

#include <cmath>
#include <ctime>

#include "core/system.h"
#include "io/sha256.h"

namespace tt::eval {

using Json = nlohmann::ordered_json;

namespace {

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

void add_generation(Json& line, const TaskRun& run, size_t i, const std::string& scored, const Json& gen_args,
                    bool strip_thinking) {
  line["arguments"] = {{"gen_args_0", {{"arg_0", run.prompts[i]}, {"arg_1", gen_args}}}};
  line["response"] = run.responses[i];
  if (strip_thinking) line["scored_response"] = scored;
  line["resps"] = Json::array({Json::array({run.responses[i]})});
}

void add_choices(Json& line, const Task& task, const TaskRun& run, size_t i) {
  // The continuations as scored (under a chat template without the target delimiter).
  const auto choices = i < run.continuations.size() ? run.continuations[i] : task.choices(*run.docs[i]);
  Json args = Json::object();
  for (size_t c = 0; c < choices.size(); ++c)
    args[fmt::format("gen_args_{}", c)] = {{"arg_0", run.prompts[i]}, {"arg_1", choices[c]}};
  line["arguments"] = args;
  Json resps = Json::array();
  for (double ll : run.choice_ll[i]) resps.push_back(Json::array({ll}));
  line["resps"] = resps;
}

Json sample_line(const Task& task, const TaskRun& run, size_t i, const std::string& scored, const Json& gen_args,
                 bool strip_thinking) {
  const Doc& doc = *run.docs[i];
  const DocScore& s = run.scores[i];
  Json line = {{"doc_id", doc.id}, {"doc", doc.fields}, {"target", task.target(doc)}, {"prompt", run.prompts[i]}};
  if (task.output_type() == OutputType::GenerateUntil) add_generation(line, run, i, scored, gen_args, strip_thinking);
  else add_choices(line, task, run, i);
  line["filtered_resps"] = s.filtered;
  for (const auto& [key, values] : s.metrics) line[key] = values.size() == 1 ? Json(values[0]) : Json(values);
  for (const auto& [k, v] : s.extra.items()) line[k] = v;
  return line;
}

Json timing_json(const TaskRun& run) {
  const double tokens_per_second = run.seconds > 0 ? static_cast<double>(run.generated_tokens) / run.seconds : 0.0;
  return {{"seconds", run.seconds},
          {"docs_per_second", run.seconds > 0 ? static_cast<double>(run.docs.size()) / run.seconds : 0.0},
          {"prompt_tokens", run.prompt_tokens},
          {"generated_tokens", run.generated_tokens},
          {"cached_requests", run.cached_requests},
          {"generated_tokens_per_second", tokens_per_second}};
}

// The limit as given: null for none, a whole number as an integer, a fraction as it is.
Json limit_json(double limit) {
  if (limit < 0) return nullptr;
  if (limit == std::floor(limit) && limit < 9.0e15) return static_cast<int64_t>(limit);
  return limit;
}

Json run_config_json(const EvalOptions& options, const std::string& data_root) {
  const bool rescoring = !options.responses_path.empty();
  return {{"model", rescoring ? "responses" : "tinythink"},
          {"model_args", rescoring ? options.responses_path : options.model_dir},
          {"batch_size", options.max_batch},
          {"use_cache", options.cache_dir.empty() ? Json(nullptr) : Json(options.cache_dir)},
          {"limit", limit_json(options.limit)},
          {"samples", options.samples ? Json(*options.samples) : Json(nullptr)},
          {"num_fewshot", options.num_fewshot < 0 ? Json(nullptr) : Json(options.num_fewshot)},
          {"apply_chat_template", options.apply_chat_template},
          {"strip_thinking", options.strip_thinking},
          {"gen_kwargs", options.gen_kwargs},
          {"random_seed", options.seed},
          {"precision", precision_name(options.precision)},
          {"data_root", data_root}};
}

}  // namespace

std::string dump_json(const Json& j, int indent) { return j.dump(indent, ' ', false, Json::error_handler_t::replace); }

std::string samples_jsonl(const Task& task, const TaskRun& run, const std::vector<std::string>& scored,
                          const Json& gen_args, bool strip_thinking) {
  std::string samples;
  for (size_t i = 0; i < run.docs.size(); ++i) {
    samples += dump_json(sample_line(task, run, i, i < scored.size() ? scored[i] : std::string(), gen_args, strip_thinking));
    samples += '\n';
  }
  return samples;
}

void ResultsTables::add(const Task& task, const TaskRun& run, const MetricTable& metrics) {
  Json r = {{"alias", task.name()}};
  Json hib = Json::object();
  for (const auto& key : task.metric_keys()) {
    const auto& a = metrics.at(key);
    r[key] = a.value;
    r[stderr_key(key)] = a.stderr_;
    hib[metric_name(key)] = true;
  }
  results[task.name()] = r;
  Json config = task.config();
  config["task"] = task.name();
  configs[task.name()] = config;
  versions[task.name()] = config.contains("metadata") && config["metadata"].contains("version")
                              ? config["metadata"]["version"]
                              : Json(1.0);
  if (const std::string g = task.group(); !g.empty() && !task.group_version().is_null()) group_versions[g] = task.group_version();
  n_shot[task.name()] = config.contains("num_fewshot") ? config["num_fewshot"] : Json(0);
  higher[task.name()] = hib;
  n_samples[task.name()] = {{"original", task.docs().size()}, {"effective", run.docs.size()}};
  timing[task.name()] = timing_json(run);
}

namespace {

// lm-eval's general config (EvaluationTracker's log_experiment_args): the system instruction, the chat
// template and their SHA-256s, and fewshot_as_multiturn as the run took it (null when it was not
// given and no chat template applied).
void add_prompt_format(Json& out, const EvalOptions& options, const std::string& chat_template) {
  auto text_and_sha = [&](const char* key, const std::string& text) {
    out[key] = text.empty() ? Json(nullptr) : Json(text);
    out[std::string(key) + "_sha"] = text.empty() ? Json(nullptr) : Json(sha256_hex(text));
  };
  text_and_sha("system_instruction", options.system_instruction);
  out["fewshot_as_multiturn"] = options.fewshot_as_multiturn ? Json(*options.fewshot_as_multiturn)
                                : options.apply_chat_template ? Json(true)
                                                              : Json(nullptr);
  text_and_sha("chat_template", chat_template);
}

}  // namespace

Json results_json(const EvalOptions& options, const ResultsTables& tables, const GroupTable& groups,
                  const std::string& data_root, const std::string& chat_template, double seconds) {
  Json versions = tables.versions;  // lm-eval: every task's, then every group's
  for (const auto& [group, version] : tables.group_versions.items()) versions[group] = version;
  Json out = {{"results", tables.results},
              {"groups", groups.results()},
              {"group_subtasks", groups.subtasks()},
              {"configs", tables.configs},
              {"versions", versions},
              {"n-shot", tables.n_shot},
              {"higher_is_better", tables.higher},
              {"n-samples", tables.n_samples},
              {"config", run_config_json(options, data_root)},
              {"date", now_iso8601()}};
  add_prompt_format(out, options, chat_template);
  out["total_evaluation_time_seconds"] = seconds;
  out["tinythink"] = {{"cpu", cpu_model_name()}, {"threads", thread_count()}, {"tasks", tables.timing}};
  return out;
}

}  // namespace tt::eval
