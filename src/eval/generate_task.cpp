#include "eval/generate_task.h"

#include <algorithm>

#include "core/log.h"
#include "eval/progress.h"
#include "infer/response_cache.h"

namespace tt::eval {

namespace {

// Left-truncate a context that leaves no room for the answer (lm-eval keeps the end), and shorten
// the answer when even then the two do not fit the model's positions.
void fit_context(std::vector<int32_t>& ids, infer::SamplingParams& params, int64_t limit) {
  const int64_t keep = std::max<int64_t>(1, limit - params.max_new_tokens);
  if (static_cast<int64_t>(ids.size()) > keep) ids.erase(ids.begin(), ids.end() - keep);
  if (static_cast<int64_t>(ids.size()) + params.max_new_tokens > limit)
    params.max_new_tokens = std::max<int64_t>(1, limit - static_cast<int64_t>(ids.size()));
}

}  // namespace

infer::SamplingParams generation_params(const GenerationDefaults& gen, const GenKwargs& kwargs, uint64_t seed,
                                        bool stops_after_thinking) {
  infer::SamplingParams params;
  params.temperature = gen.do_sample ? static_cast<float>(gen.temperature) : 0.0f;
  params.top_p = gen.do_sample ? static_cast<float>(gen.top_p) : 1.0f;
  if (kwargs.top_k) params.top_k = *kwargs.top_k;
  if (kwargs.min_p && gen.do_sample) params.min_p = static_cast<float>(*kwargs.min_p);
  if (kwargs.repetition_penalty) params.repetition_penalty = static_cast<float>(*kwargs.repetition_penalty);
  if (kwargs.presence_penalty) params.presence_penalty = static_cast<float>(*kwargs.presence_penalty);
  if (kwargs.frequency_penalty) params.frequency_penalty = static_cast<float>(*kwargs.frequency_penalty);
  if (kwargs.min_tokens) params.min_tokens = *kwargs.min_tokens;
  params.max_new_tokens = gen.max_gen_toks;
  if (!stops_after_thinking)
    for (const auto& s : gen.until)
      if (!s.empty()) params.stop.push_back(s);
  params.seed = seed;
  return params;
}

uint64_t doc_seed(uint64_t seed, const std::string& task, int64_t doc_id) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : task) h = (h ^ c) * 1099511628211ull;
  return (h ^ static_cast<uint64_t>(doc_id)) * 0x9E3779B97F4A7C15ull;
}

void generate_task(const EvalOptions& options, infer::Session& session, const Task& task, const GenKwargs& kwargs,
                   TaskRun& run, infer::ResponseCache* cache) {
  const GenerationDefaults gen = effective_generation(task.generation_defaults(), kwargs);
  const int64_t n = static_cast<int64_t>(run.docs.size());
  std::vector<infer::GenerationRequest> requests;
  bool warned = false;
  for (int64_t i = 0; i < n; ++i) {
    const Prompt p = task.prompt(*run.docs[i]);
    bool chat_used = false;
    run.prompts.push_back(context_text(&session, p, prompt_style(options), &chat_used));
    if (p.chat_native && !chat_used && !warned) {
      log_warn("{}: the protocol applies a chat template but the model has none; using plain text", task.name());
      warned = true;
    }
    infer::SamplingParams params = generation_params(gen, kwargs, doc_seed(kwargs.seed.value_or(options.seed), task.name(), run.docs[i]->id),
                                                   options.strip_thinking);
    std::vector<int32_t> ids = session.tokenizer->encode(run.prompts.back(), options.add_bos && !chat_used);
    fit_context(ids, params, session.model.config.max_position_embeddings);
    run.prompt_tokens += static_cast<int64_t>(ids.size());
    requests.push_back({std::move(ids), params});
  }
  Progress progress(options.progress, task.name(), n);
  for (infer::GenerationResult& r :
       infer::generate_cached(*session.engine, std::move(requests), cache, [&](int64_t done) { progress.show(done); })) {
    run.generated_tokens += static_cast<int64_t>(r.samples[0].ids.size());
    run.responses.push_back(std::move(r.samples[0].text));
  }
}

}  // namespace tt::eval
