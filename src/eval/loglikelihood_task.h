// multiple_choice tasks on the engine: the summed log-likelihood of each choice after the doc's
// context, encoded as lm-eval encodes (context, continuation) pairs.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "eval/runner.h"
#include "eval/task_run.h"

namespace tt::infer {
class ResponseCache;
}

namespace tt::eval {

using TokenPair = std::pair<std::vector<int32_t>, std::vector<int32_t>>;  // (context ids, continuation ids)

// lm-eval's _encode_pair: the context's trailing whitespace (Python's str.rstrip(): spaces, newlines,
// every Unicode White_Space) moves to the continuation; the
// continuation's ids are those of the whole string after the context's; an empty context is the
// EOS (or BOS) token; a context too long for the model keeps its end.
TokenPair encode_pair(const infer::Session& session, std::string context, std::string continuation, bool add_bos);

// Fills run.prompts, run.choice_ll and run.prompt_tokens for run.docs: each pair's log-likelihood
// from `cache` when it holds the pair, else from the engine (and then put into `cache`). `cache`
// may be null.
void loglikelihood_task(const EvalOptions& options, infer::Session& session, const Task& task, TaskRun& run,
                        infer::ResponseCache* cache);

}  // namespace tt::eval
