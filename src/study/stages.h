// What each kind of job does (study_run.cpp decides when): the trainers, init-model, pairs, the
// synthetic data generator, evaluation and the report, called in-process with the job's resolved
// config.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/precision.h"
#include "eval/runner.h"
#include "study/study.h"

namespace tt::study {

// Checks a job's config without running it (training configs through the trainers' loader).
// Errors start with the stage's name.
void validate_job(const Job& job);

// Runs the job into job.dir. `resume`: training continues from the newest checkpoint there.
void execute_job(const Plan& plan, const Job& job, bool resume);

// The key hyper-parameters of a run for run.json "params" (besides its sweep values): learning
// rate, loss, beta, epochs for training; the architecture for init; k and temperature for pairs.
nlohmann::ordered_json key_params(const Job& job);

// Typed reads of a stage's config values; errors name the stage and key.
std::string config_string(const Job& job, const std::string& key, const std::string& fallback);
double config_number(const Job& job, const std::string& key, double fallback);
int64_t config_int(const Job& job, const std::string& key, int64_t fallback);
bool config_bool(const Job& job, const std::string& key, bool fallback);
std::optional<bool> config_optional_bool(const Job& job, const std::string& key);  // nullopt: absent or null
std::vector<std::string> config_list(const Job& job, const std::string& key);
// The engine's GPU of a pairs or eval stage from its `device` (auto|cpu|cuda[:N], default auto), logged:
// the CUDA ordinal, or -1 for the CPU.
int config_device(const Job& job, Precision precision);

// An eval or pairs job's response cache (infer/response_cache.h), in its directory: a rerun of the
// job keeps it.
inline constexpr const char* kResponseCache = "response_cache";

// The kinds whose actions live in stages_external.cpp (they call other modules' entry points).
void run_data_job(const Job& job);
void run_eval_job(const Job& job);
// An eval stage's gen_kwargs (lm-eval's "k=v,..." text or a mapping), checked: an error names the stage.
std::string eval_gen_kwargs(const Job& job);
// An eval stage's samples (lm-eval's --samples: a mapping from task to document ids, or its JSON
// text or file), checked: an error names the stage.
std::optional<std::map<std::string, std::vector<int64_t>>> eval_samples(const Job& job);
// An eval stage's apply_chat_template, fewshot_as_multiturn and system_instruction into `o`, checked.
void read_prompt_format(const Job& job, eval::EvalOptions& o);
void run_report_job(const Plan& plan, const Job& job);

}  // namespace tt::study
