// Running evaluation tasks (task.h) on a model with the inference engine, or re-scoring saved
// responses, and writing lm-eval-shaped results (issue 7):
//   OUTPUT/results.json           {"results": {task: {"alias", "<metric>,<filter>", "<metric>_stderr,<filter>"}},
//                                  "groups": {...}, "group_subtasks", "configs", "versions", "n-shot",
//                                  "higher_is_better", "n-samples": {task: {"original", "effective"}},
//                                  "config": {model, model_args, limit, seed, gen_kwargs, ...}, "date", ...}
//   OUTPUT/samples_<task>.jsonl   one line per document: doc_id, doc, target, arguments (prompt),
//                                  resps, filtered_resps, per-metric values, task extras
#pragma once
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/cpu/matmul.h"

namespace tt::eval {

struct EvalOptions {
  std::string model_dir;                // a model directory or hub id; empty with responses_path
  std::vector<std::string> tasks;       // task or group names (task.h)
  // As lm-eval's --limit: the first int(limit) documents of each task, or with a limit in (0, 1) that
  // fraction of them, rounded up; -1 = all.
  double limit = -1;
  // As lm-eval's --samples: per task, the ids of the documents to evaluate (in the task's order,
  // each once); a task it does not name is evaluated whole. Not with a limit.
  std::optional<std::map<std::string, std::vector<int64_t>>> samples;
  int num_fewshot = -1;                 // -1 = each task's default
  bool apply_chat_template = false;     // render prompts with the model's chat template
  // lm-eval's fewshot_as_multiturn: with a chat template, few-shot examples as user/assistant turns,
  // else one user message. Unset: on, as lm-eval 0.4.10+; set to true, it needs apply_chat_template.
  std::optional<bool> fewshot_as_multiturn;
  std::string system_instruction;       // lm-eval's system_instruction, before the task's description
  std::string gen_kwargs;               // "temperature=0.6,top_p=0.95,max_gen_toks=1024,do_sample=true"
  uint64_t seed = 1234;
  std::string output_dir;
  std::string responses_path;           // re-score saved responses instead of running a model
  // lm-eval's use_cache: a directory keeping the model's answers as they finish (response_cache.h),
  // so a rerun after a kill, or with more documents or tasks, computes only what is missing. "" = none.
  std::string cache_dir;
  // The cache directory is this evaluation's alone (a study's eval stage): the files of other models
  // there, those of the checkpoint before it was trained again, are removed.
  bool cache_holds_one_model = false;
  std::string data_root;                // see TaskOptions
  Precision precision = Precision::BF16;
  int64_t max_batch = 64;
  int cuda_device = -1;                 // the engine's GPU (infer::EngineOptions::cuda_device); -1 = CPU
  bool progress = true;                 // a progress bar per task on stderr
  // Score only what follows the last "</think>" (reasoning models; IFEval's checks and BBH's
  // first-match filters would otherwise read the reasoning). A response that opens <think> and never
  // closes it scores as empty. samples keep the raw response.
  bool strip_thinking = false;
  bool add_bos = false;                 // BOS before plain-text prompts (lm-eval's add_bos_token; chat templates write their own)
};

// lm-eval's --samples value: a JSON object {"task": [doc ids]}, or the path of a file holding one;
// a one-line tt::Error naming the task and the bad entry otherwise.
std::map<std::string, std::vector<int64_t>> parse_samples_option(const std::string& text);

// A limit (EvalOptions::limit) other than -1 must be a count or a fraction: positive and finite.
inline bool limit_in_range(double limit) { return limit > 0 && std::isfinite(limit); }
inline constexpr const char* kLimitHint = "give a number of documents (>= 1) or a fraction of them in (0, 1)";

// Runs every task and writes results.json and the samples files atomically into output_dir.
// Returns the results.json object.
nlohmann::ordered_json run_eval(const EvalOptions& options);

class Task;
// The same on tasks already made (options.tasks is ignored).
nlohmann::ordered_json run_tasks(const EvalOptions& options, const std::vector<std::unique_ptr<Task>>& tasks);

}  // namespace tt::eval
