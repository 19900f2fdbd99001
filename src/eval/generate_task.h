// generate_until tasks on the engine: each doc's context rendered and encoded, sampled with the
// task's generation settings (--gen-kwargs over them), the responses collected in doc order.
#pragma once
#include <cstdint>
#include <string>

#include "eval/gen_kwargs.h"
#include "eval/runner.h"
#include "eval/task_run.h"

namespace tt::eval {

// The sampling seed of one doc: the run's seed, the task and the doc id mixed (FNV-1a).
uint64_t doc_seed(uint64_t seed, const std::string& task, int64_t doc_id);

// Fills run.prompts, run.responses and the token counts for run.docs.
void generate_task(const EvalOptions& options, infer::Session& session, const Task& task, const GenKwargs& kwargs,
                   TaskRun& run);

}  // namespace tt::eval
