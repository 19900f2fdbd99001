// generate_until tasks on the engine: each doc's context rendered and encoded, sampled with the
// task's generation settings (--gen-kwargs over them), the responses collected in doc order.
#pragma once
#include <cstdint>
#include <string>

#include "eval/gen_kwargs.h"
#include "eval/runner.h"
#include "eval/task_run.h"

namespace tt::infer {
class ResponseCache;
}

namespace tt::eval {

// The sampling seed of one doc: the run's seed, the task and the doc id mixed (FNV-1a).
uint64_t doc_seed(uint64_t seed, const std::string& task, int64_t doc_id);

// A doc's sampling parameters: greedy unless do_sample (then temperature and top_p), --gen-kwargs'
// top_k, min_p (sampling only) and repetition_penalty, max_gen_toks, and the task's stop strings,
// which wait for the answer part when `stops_after_thinking` (--strip-thinking: lm-eval passes only
// EOS to vLLM when a think_end_token is set and applies the stops after stripping).
infer::SamplingParams generation_params(const GenerationDefaults& gen, const GenKwargs& kwargs, uint64_t seed,
                                        bool stops_after_thinking);

// Fills run.prompts, run.responses and the token counts for run.docs: each response from `cache`
// when it holds the request, else from the engine (and then put into `cache`). `cache` may be null.
void generate_task(const EvalOptions& options, infer::Session& session, const Task& task, const GenKwargs& kwargs,
                   TaskRun& run, infer::ResponseCache* cache);

}  // namespace tt::eval
