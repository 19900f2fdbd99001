// On-policy preference pairs (the study's recipe): sample k completions per prompt from a
// checkpoint, verify each against the prompt's reference answer with the study's rule (the last
// \boxed{}, else "answer is ...", else the last number; GSM8K answers compared as numbers, MATH
// answers by LaTeX-normalised equivalence), and pair correct completions (chosen) with incorrect
// ones (rejected).
//
// Prompts (JSONL), one per line: {"messages": [...] | "prompt": "text", "answer": "42", "task": ...
// (optional)}; other fields are ignored. Tasks: gsm8k, gsm8k_boxed, gsm8k_cot and arithmetic (the
// demo's) are verified as numbers, math and math500 as MATH answers.
// Output, in the DPO trainer's explicit conversational format (train/preference.h):
//   OUT/pairs.jsonl         {"prompt": [messages], "chosen": [{"role": "assistant", "content": ...}],
//                            "rejected": [...], "task", "answer", "prompt_index"}
//   OUT/pairs_summary.json  how many prompts yielded a pair, and why the others did not
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/cpu/matmul.h"

namespace tt::study {

struct PairsOptions {
  std::string model_dir;      // checkpoint with tokenizer files and a chat template
  std::string prompts_path;   // JSONL, see above
  std::string output_dir;
  int64_t k = 8;                  // samples per prompt
  int64_t pairs_per_prompt = 1;   // at most this many pairs from one prompt
  double temperature = 0.6, top_p = 0.95;
  int64_t max_new_tokens = 1024;
  uint64_t seed = 42;
  int64_t limit = -1;             // the first N prompts; -1 = all
  std::string default_task = "gsm8k";  // for prompts without "task"
  std::string chat_template;      // a .jinja file overriding the model's template
  Precision precision = Precision::BF16;
  int64_t max_batch = 64;
  int cuda_device = -1;           // the engine's GPU (infer::EngineOptions::cuda_device); -1 = CPU
  // A directory keeping each prompt's samples as they finish (infer/response_cache.h), so a rerun
  // after a kill, or with more prompts, samples only what is missing. "" = none.
  std::string cache_dir;
  bool cache_holds_one_model = false;  // a study stage's: other models' files there are removed
};

struct PromptRecord {
  nlohmann::ordered_json messages;  // ends with a user message
  std::string answer, task;
};

// Reads the prompts file; errors name file:line and the missing or bad field.
std::vector<PromptRecord> read_prompts(const std::string& path, const std::string& default_task, int64_t limit = -1);

// The study's verifier: extract_answer_study, then numbers_equal (gsm8k, arithmetic) or
// math_answers_equivalent (math, math500). No answer found = incorrect.
bool has_verifier(const std::string& task);
bool is_correct(const std::string& task, std::string_view completion, const std::string& answer);

// (chosen, rejected) sample indices: the i-th usable correct sample with the i-th incorrect one,
// in sample order, at most max_pairs. A correct sample is usable only when it finished ("stop"):
// a truncated one lacks its end and would teach the model to stop mid-answer.
struct Verdict {
  bool correct = false;
  bool finished = true;
};
std::vector<std::pair<int64_t, int64_t>> select_pairs(const std::vector<Verdict>& verdicts, int64_t max_pairs);

struct PairsSummary {
  int64_t prompts = 0, prompts_with_pair = 0, pairs = 0;
  int64_t samples = 0, correct_samples = 0, truncated_samples = 0;
  int64_t prompts_all_correct = 0, prompts_none_correct = 0;
  double seconds = 0;
  nlohmann::ordered_json to_json() const;
};

// The pair rows for one prompt's samples (texts and verdicts in sample order).
std::vector<nlohmann::ordered_json> make_pair_rows(const PromptRecord& prompt, int64_t prompt_index,
                                                   const std::vector<std::string>& texts,
                                                   const std::vector<Verdict>& verdicts, int64_t max_pairs);

// Samples, verifies, writes OUT/pairs.jsonl and OUT/pairs_summary.json (atomically); logs the summary.
PairsSummary build_pairs(const PairsOptions& options);

}  // namespace tt::study
