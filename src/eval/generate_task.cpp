#include "eval/generate_task.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <unordered_map>

#include "core/error.h"
#include "core/log.h"
#include "eval/progress.h"
#include "eval/response_cache.h"

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

// Steps the engine until every request is done. `finished(request)` gets each request as soon as
// the step that ends it returns (so the response cache holds it before the next step starts).
void run_with_progress(infer::Engine& engine, const EvalOptions& options, const Task& task, int64_t n, int64_t done,
                       const std::function<void(int64_t)>& finished) {
  Progress progress(options.progress, task.name(), n);
  if (done > 0) progress.show(done);
  std::vector<int64_t> ended;
  engine.set_stream([&](int64_t request, int64_t, const std::string&, bool sample_done) {
    if (sample_done) ended.push_back(request);
  });
  const auto harvest = [&] {
    for (int64_t request : ended)
      if (engine.finished(request)) {
        finished(request);
        progress.show(++done);
      }
    ended.clear();
  };
  while (engine.step()) harvest();
  harvest();
  engine.set_stream(nullptr);
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
                   TaskRun& run, ResponseCache* cache) {
  const GenerationDefaults gen = effective_generation(task.generation_defaults(), kwargs);
  const int64_t n = static_cast<int64_t>(run.docs.size());
  std::vector<std::optional<ResponseCache::Generation>> answers(n);
  std::vector<std::string> keys(n);
  std::unordered_map<int64_t, int64_t> doc_of_request;  // the engine numbers requests across tasks
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
    if (cache) {
      keys[i] = ResponseCache::generation_key(ids, params);
      if (const ResponseCache::Generation* g = cache->find_generation(keys[i])) {
        answers[i] = *g;
        continue;
      }
    }
    doc_of_request[session.engine->add({std::move(ids), params})] = i;
  }
  const auto cached = static_cast<int64_t>(n - static_cast<int64_t>(doc_of_request.size()));
  run_with_progress(*session.engine, options, task, n, cached, [&](int64_t request) {
    const int64_t i = doc_of_request.at(request);
    infer::GenerationResult r = session.engine->take(request);
    answers[i] = ResponseCache::Generation{std::move(r.samples[0].text), static_cast<int64_t>(r.samples[0].ids.size())};
    if (cache) cache->put_generation(keys[i], *answers[i]);
  });
  for (int64_t i = 0; i < n; ++i) {
    if (!answers[i]) fail("{}: doc {}: the engine finished without its response", task.name(), run.docs[i]->id);
    run.generated_tokens += answers[i]->tokens;
    run.responses.push_back(std::move(answers[i]->text));
  }
}

}  // namespace tt::eval
