#include "infer/engine.h"

#include "core/parallel_for.h"
#include "core/op_profile.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "core/op_profile.h"
#include "io/file.h"
#include "text/utf8.h"

namespace tt::infer {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// EngineOptions::cuda_graphs, or the environment's TINYTHINK_CUDA_GRAPHS=1 when unset.
bool cuda_graphs_wanted(const std::optional<bool>& option) {
  if (option) return *option;
  const char* env = std::getenv("TINYTHINK_CUDA_GRAPHS");
  return env && std::string(env) == "1";
}

}  // namespace

std::vector<int32_t> load_eos_ids(const std::string& model_dir, const ModelConfig& config) {
  std::vector<int32_t> ids;
  const std::string path = model_dir + "/generation_config.json";
  if (std::filesystem::exists(path)) {
    const nlohmann::json j = read_json_file(path);
    // transformers' GenerationConfig: an id or a list of ids (null: none given, the model config's)
    if (j.is_object() && j.contains("eos_token_id") && !j["eos_token_id"].is_null()) {
      const auto& e = j["eos_token_id"];
      auto id_of = [&](const nlohmann::json& v) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= config.vocab_size ||
            (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(config.vocab_size)))
          fail("{}: eos_token_id holds {}, which is not a token id of the model (integers in [0, {}))", path, v.dump(),
               config.vocab_size);
        return static_cast<int32_t>(v.get<int64_t>());
      };
      if (e.is_array()) {
        for (const auto& v : e) ids.push_back(id_of(v));
      } else {
        ids.push_back(id_of(e));
      }
      return ids;
    }
  }
  for (int64_t id : config.eos_token_ids) ids.push_back(static_cast<int32_t>(id));
  return ids;
}

struct Engine::Sample {
  int64_t request = 0, index = 0;
  std::vector<int32_t> tokens;  // prompt + generated
  int64_t prompt_len = 0;
  int64_t computed = 0;         // tokens whose K/V are in the cache
  int32_t cache_id = -1;
  Rng rng;
  std::optional<IncrementalDecoder> decoder;
  std::string text;
  size_t emitted = 0;           // bytes of text already streamed
  bool done = false;
  std::string finish_reason;
  std::vector<PositionLogprobs> logprobs;  // per generated token, when the request asks for them
  double cumulative_logprob = 0;
};

struct Engine::Request {
  SamplingParams params;
  std::vector<std::unique_ptr<Sample>> samples;
  std::vector<PositionLogprobs> prompt_logprobs;  // filled by sample 0's prefill when asked for
  int64_t unfinished = 0;
  size_t max_stop_len = 0;
};

Engine::Engine(Model& model, const EngineOptions& options, const Tokenizer* tokenizer, std::vector<int32_t> eos_ids)
    : forward_(model, options.precision),
      options_(options),
      tokenizer_(tokenizer),
      eos_ids_(std::move(eos_ids)),
      prefix_caching_(options.prefix_caching),
      cache_(model.config, options.block_size) {
  if (options_.max_batch < 1) fail("max_batch must be >= 1");
  if (options_.step_tokens < 1) fail("step_tokens must be >= 1");
  if (options_.cuda_device >= 0)
    // Log-likelihood steps hold up to step_tokens sequences (one row each at least), generation max_batch.
    gpu_ = std::make_unique<DeviceEngine>(model, DeviceEngineOptions{.cuda_device = options_.cuda_device,
                                                                      .precision = options_.precision,
                                                                      .max_sequences = std::max(options_.max_batch,
                                                                                                options_.step_tokens),
                                                                      .kv_memory_fraction = options_.kv_memory_fraction,
                                                                      .block_size = options_.block_size,
                                                                      .graph_rows = cuda_graphs_wanted(options_.cuda_graphs)
                                                                                        ? options_.max_batch
                                                                                        : 0});
}

Engine::~Engine() = default;

int64_t Engine::add(GenerationRequest request) {
  validate(request.params);
  const ModelConfig& c = forward_.config();
  const int64_t limit = forward_.context_limit();
  const int64_t id = static_cast<int64_t>(requests_.size());
  if (request.prompt.empty()) fail("request {}: the prompt is empty (give at least one token)", id);
  if (static_cast<int64_t>(request.prompt.size()) >= limit)
    fail("request {}: the prompt has {} tokens, which leaves no room in the model's context of {} tokens", id,
         request.prompt.size(), limit);
  for (int32_t t : request.prompt)
    if (t < 0 || t >= c.vocab_size) fail("request {}: token id {} is out of range (vocab size {})", id, t, c.vocab_size);
  if (!request.params.stop.empty() && !tokenizer_)
    fail("request {}: stop strings need a tokenizer (the model has none); use stop_token_ids", id);
  for (const auto& stop : request.params.stop)
    if (!utf8::is_valid(stop))
      fail("request {}: stop string {:?} is not valid UTF-8, so the decoded text can never contain it", id, stop);
  for (int32_t t : request.params.stop_token_ids)
    if (t < 0 || t >= c.vocab_size)
      fail("request {}: stop token id {} is out of range (vocab size {})", id, t, c.vocab_size);
  auto r = std::make_unique<Request>();
  r->params = std::move(request.params);
  for (const auto& s : r->params.stop) r->max_stop_len = std::max(r->max_stop_len, s.size());
  for (int64_t i = 0; i < r->params.n; ++i) {
    auto s = std::make_unique<Sample>();
    s->request = id;
    s->index = i;
    s->tokens = request.prompt;
    s->prompt_len = static_cast<int64_t>(request.prompt.size());
    s->rng = sample_rng(r->params.seed, i);
    if (tokenizer_) s->decoder.emplace(*tokenizer_, r->params.skip_special_tokens);
    waiting_.push_back(s.get());
    r->samples.push_back(std::move(s));
  }
  r->unfinished = r->params.n;
  requests_.push_back(std::move(r));
  return id;
}

int64_t Engine::running() const { return static_cast<int64_t>(running_.size()); }
int64_t Engine::waiting() const { return static_cast<int64_t>(waiting_.size()); }

bool Engine::finished(int64_t request) const { return requests_.at(request)->unfinished == 0; }

GenerationResult Engine::take(int64_t request) {
  Request& r = *requests_.at(request);
  if (r.unfinished) fail("request {} has not finished", request);
  GenerationResult result;
  for (auto& s : r.samples) {
    Completion c;
    c.ids.assign(s->tokens.begin() + s->prompt_len, s->tokens.end());
    c.text = std::move(s->text);
    c.finish_reason = s->finish_reason;
    c.logprobs = std::move(s->logprobs);
    c.cumulative_logprob = s->cumulative_logprob;
    result.samples.push_back(std::move(c));
  }
  result.prompt_logprobs = std::move(r.prompt_logprobs);
  r.samples.clear();
  return result;
}

void Engine::cancel_all() {
  for (Sample* s : waiting_) {
    s->done = true;
    s->finish_reason = "cancelled";
    requests_[s->request]->unfinished--;
  }
  waiting_.clear();
  for (Sample* s : running_) finish(*s, "cancelled");
  running_.clear();
}

void Engine::admit() {
  for (auto it = waiting_.begin(); it != waiting_.end() && static_cast<int64_t>(running_.size()) < options_.max_batch;) {
    Sample* s = *it;
    // Later samples of a request wait while its first sample computes the prompt; then they take
    // the prompt's full blocks from the prefix cache instead of computing them n times.
    if (prefix_caching_ && s->index > 0 && s->prompt_len > cache_.block_size()) {
      const Sample* first = requests_[s->request]->samples[0].get();
      if (!first->done && first->cache_id >= 0 && first->computed < first->prompt_len) {
        ++it;
        continue;
      }
    }
    if (!take_sequence(*s)) break;  // the device cache is full: it waits, and so do those behind it
    it = waiting_.erase(it);
    running_.push_back(s);
  }
}

void Engine::finish(Sample& s, const char* reason) {
  s.done = true;
  s.finish_reason = reason;
  if (s.decoder && s.finish_reason != "stop") s.text += s.decoder->flush();
  if (stream_) {
    stream_(s.request, s.index, s.text.substr(std::min(s.emitted, s.text.size())), true);
    s.emitted = s.text.size();
  }
  free_sequence(s.cache_id);
  s.cache_id = -1;
  requests_[s.request]->unfinished--;
}

void Engine::after_token(Sample& s, int32_t token) {
  const Request& r = *requests_[s.request];
  const SamplingParams& p = r.params;
  s.tokens.push_back(token);
  ++stats_.generated_tokens;
  const bool is_eos = !p.ignore_eos && std::find(eos_ids_.begin(), eos_ids_.end(), token) != eos_ids_.end();
  const bool is_stop_id = std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), token) != p.stop_token_ids.end();
  if (is_eos || is_stop_id) {
    if (s.decoder) s.text += s.decoder->flush();
    s.finish_reason = "stop";
    return finish(s, "stop");
  }
  const int64_t generated = static_cast<int64_t>(s.tokens.size()) - s.prompt_len;
  if (s.decoder) {
    const size_t before = s.text.size();
    s.text += s.decoder->feed(token);
    // As vLLM's detokenizer: stop strings are looked for once more than min_tokens tokens are out, a
    // match ending in the new text (it may begin in earlier tokens'), the first of the list that
    // occurs winning.
    if (r.max_stop_len > 0 && s.text.size() > before && generated > p.min_tokens) {
      for (const auto& stop : p.stop) {
        const size_t at = s.text.find(stop, before >= stop.size() ? before - stop.size() + 1 : 0);
        if (at != std::string::npos) {
          s.text.resize(at);
          return finish(s, "stop");
        }
      }
    }
  }
  if (generated >= p.max_new_tokens || static_cast<int64_t>(s.tokens.size()) >= forward_.context_limit())
    return finish(s, "length");
  if (stream_ && s.decoder) {
    // Hold back what could still turn out to be the start of a stop string.
    const size_t hold = r.max_stop_len > 0 ? r.max_stop_len - 1 : 0;
    if (s.text.size() > s.emitted + hold) {
      const size_t end = s.text.size() - hold;
      stream_(s.request, s.index, s.text.substr(s.emitted, end - s.emitted), false);
      s.emitted = end;
    }
  }
}

// A cache sequence for a sample the scheduler admits, with the prompt's cached full blocks mapped
// (prefix caching). On the device it reserves the sample's whole budget now, so decoding never finds
// the pool full; false (nothing taken) when it does not fit yet.
bool Engine::take_sequence(Sample& s) {
  KvBlocks& kv = blocks();
  const int32_t seq = kv.new_sequence();
  // the sample that reports prompt log-probs computes every prompt position's logits
  const bool scores_prompt = s.index == 0 && requests_[s.request]->params.prompt_logprobs.has_value();
  const int64_t cached = seq >= 0 && prefix_caching_ && !scores_prompt ? kv.match_prefix(seq, s.tokens) : 0;
  if (gpu_) {
    const int64_t budget =
        std::min(s.prompt_len + requests_[s.request]->params.max_new_tokens, forward_.context_limit());
    if (seq < 0 || !kv.can_reserve(seq, budget)) {
      if (seq >= 0) kv.free_sequence(seq);  // mapped prefix blocks go back, still cached
      if (running_.empty())
        fail("request {}: its {} tokens (prompt {} + max_new_tokens, within the context) need {} KV blocks of {} "
             "tokens, but the device's paged KV cache has {} in all; lower max_new_tokens or raise the cache's memory "
             "share",
             s.request, budget, s.prompt_len, (budget + kv.block_size() - 1) / kv.block_size(), kv.block_size(),
             kv.blocks_total());
      return false;
    }
    kv.reserve(seq, budget);
  }
  s.cache_id = seq;
  s.computed = cached;
  stats_.cached_prompt_tokens += cached;
  return true;
}

int64_t Engine::prompt_logprob_rows_per_step() const {
  if (options_.prompt_logprob_rows > 0) return options_.prompt_logprob_rows;
  const int64_t row_bytes = static_cast<int64_t>(sizeof(float)) * forward_.config().vocab_size;
  return std::max<int64_t>(1, (int64_t{32} << 20) / row_bytes);
}

KvBlocks& Engine::blocks() { return gpu_ ? gpu_->blocks() : cache_.blocks(); }

int32_t Engine::new_sequence() {
  const int32_t seq = blocks().new_sequence();
  if (seq < 0) fail("the device's paged KV cache holds no more sequences");
  return seq;
}

void Engine::free_sequence(int32_t seq) { blocks().free_sequence(seq); }

// On the CPU the cache also grows its storage.
void Engine::reserve(int32_t seq, int64_t tokens) { gpu_ ? blocks().reserve(seq, tokens) : cache_.reserve(seq, tokens); }

// The step's forward; logits land in logits_ on the CPU, and on the device also when `host_logits`.
void Engine::run_forward(bool host_logits) {
  if (!gpu_ || host_logits) logits_.resize(step_.logit_rows.size() * forward_.config().vocab_size);
  if (gpu_) gpu_->forward(step_, host_logits ? logits_.data() : nullptr);
  else forward_.forward(step_, cache_, logits_.data());
}

std::vector<int32_t> Engine::held_back(const Sample& s) const {
  return ids_held_back(requests_[s.request]->params, static_cast<int64_t>(s.tokens.size()) - s.prompt_len, eos_ids_);
}

// One token per sample of `sampling`, from the step's logit rows in that order.
std::vector<int32_t> Engine::draw_tokens(const std::vector<Sample*>& sampling) {
  const int64_t count = static_cast<int64_t>(sampling.size());
  if (gpu_) {
    std::vector<DeviceSampleRow> rows;
    for (Sample* s : sampling) {
      const SamplingParams& p = requests_[s->request]->params;
      rows.push_back({&s->tokens, s->prompt_len, &p, &s->rng, held_back(*s)});
    }
    return gpu_->sample(rows);
  }
  // Each sample draws from its own logits row and RNG stream, so they can be drawn in parallel.
  const int64_t V = forward_.config().vocab_size;
  std::vector<int32_t> drawn(sampling.size());
  parallel_for_dynamic(count, 1, count > 1 && V * count > (int64_t{1} << 16), [&](int64_t i) {
    Sample* s = sampling[i];
    std::span<float> row(logits_.data() + i * V, V);
    drawn[i] = sample_token(row, s->tokens, s->prompt_len, held_back(*s), requests_[s->request]->params, s->rng);
  });
  return drawn;
}

bool Engine::step() {
  admit();
  if (running_.empty()) return false;
  step_.clear();
  // Decode rows first (one per sample past its prompt), then prefill chunks in admission order.
  std::vector<std::pair<Sample*, int64_t>> planned;  // sample, rows this step
  for (Sample* s : running_)
    if (static_cast<int64_t>(s->tokens.size()) - s->computed == 1) planned.push_back({s, 1});
  int64_t rows = static_cast<int64_t>(planned.size());
  int64_t prompt_rows_left = prompt_logprob_rows_per_step();
  for (Sample* s : running_) {
    const int64_t remaining = static_cast<int64_t>(s->tokens.size()) - s->computed;
    if (remaining <= 1) continue;
    int64_t chunk = std::min(remaining, options_.step_tokens - rows);
    if (chunk <= 0) break;
    if (s->index == 0 && requests_[s->request]->params.prompt_logprobs) {
      // the prompt positions this sample still scores, within the step's budget of logit rows
      const int64_t to_score = std::max<int64_t>(0, s->prompt_len - 1 - s->computed);
      if (to_score > 0 && prompt_rows_left == 0) continue;
      if (to_score > prompt_rows_left) chunk = std::min(chunk, prompt_rows_left);
      prompt_rows_left -= std::min(chunk, to_score);
    }
    planned.push_back({s, chunk});
    rows += chunk;
  }
  int64_t prefill = 0, decode = 0;
  for (auto [s, n] : planned) {
    if (!gpu_) cache_.reserve(s->cache_id, s->computed + n);  // the device reserved the whole budget at admission
    for (int64_t j = 0; j < n; ++j) {
      const int64_t pos = s->computed + j;
      step_.tokens.push_back(s->tokens[pos]);
      step_.positions.push_back(static_cast<int32_t>(pos));
      step_.sequences.push_back(s->cache_id);
    }
    if (s->computed + n == static_cast<int64_t>(s->tokens.size()))
      step_.logit_rows.push_back(static_cast<int32_t>(step_.tokens.size() - 1));
    (s->computed >= s->prompt_len ? decode : prefill) += n;
  }
  // Prompt log-probs: logits of the prompt positions before the last (each predicts the next prompt
  // token), after the sampling rows, which keep rows 0, 1, ... of the logits.
  const size_t sampling_rows = step_.logit_rows.size();
  std::vector<std::pair<Sample*, int64_t>> prompt_rows;  // sample, position
  int64_t first_row = 0;  // the planned entry's first row in the step
  for (auto [s, n] : planned) {
    if (s->index == 0 && requests_[s->request]->params.prompt_logprobs)
      for (int64_t pos = s->computed; pos < std::min(s->computed + n, s->prompt_len - 1); ++pos) {
        step_.logit_rows.push_back(static_cast<int32_t>(first_row + pos - s->computed));
        prompt_rows.push_back({s, pos});
      }
    first_row += n;
  }
  // Log-probs come from the raw logits on the host (on a GPU too: the step's rows are copied back).
  bool logprobs_wanted = !prompt_rows.empty();
  for (auto [s, n] : planned)
    if (s->computed + n == static_cast<int64_t>(s->tokens.size()) && requests_[s->request]->params.logprobs)
      logprobs_wanted = true;
  auto t0 = std::chrono::steady_clock::now();
  run_forward(/*host_logits=*/logprobs_wanted);
  stats_.forward_seconds += seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const int64_t V = forward_.config().vocab_size;
  for (size_t k = 0; k < prompt_rows.size(); ++k) {
    auto [s, pos] = prompt_rows[k];
    Request& r = *requests_[s->request];
    const std::span<const float> row(logits_.data() + static_cast<int64_t>(sampling_rows + k) * V, V);
    r.prompt_logprobs.push_back(raw_logprobs(row, s->tokens[pos + 1], *r.params.prompt_logprobs));
  }
  std::vector<Sample*> sampling;
  for (auto [s, n] : planned) {
    const bool wants_logits = s->computed + n == static_cast<int64_t>(s->tokens.size());
    s->computed += n;
    if (prefix_caching_) blocks().register_prefix(s->cache_id, s->tokens, s->computed);
    if (wants_logits) sampling.push_back(s);
  }
  // The raw rows of the samples that want log-probs, before sampling changes them in place.
  std::vector<std::vector<float>> raw(logprobs_wanted ? sampling.size() : 0);  // none on a plain step
  for (size_t i = 0; i < raw.size(); ++i)
    if (requests_[sampling[i]->request]->params.logprobs)
      raw[i].assign(logits_.begin() + static_cast<int64_t>(i) * V, logits_.begin() + static_cast<int64_t>(i + 1) * V);
  std::vector<int32_t> drawn;
  {
    OpScope scope("sampling");
    drawn = draw_tokens(sampling);
  }
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i].empty()) continue;
    Sample& s = *sampling[i];
    s.logprobs.push_back(raw_logprobs(raw[i], drawn[i], *requests_[s.request]->params.logprobs));
    s.cumulative_logprob += s.logprobs.back().front().logprob;
  }
  for (size_t i = 0; i < sampling.size(); ++i) after_token(*sampling[i], drawn[i]);
  stats_.sample_seconds += seconds_since(t0);
  stats_.steps++;
  stats_.prefill_tokens += prefill;
  stats_.decode_tokens += decode;
  std::erase_if(running_, [](const Sample* s) { return s->done; });
  return !running_.empty() || !waiting_.empty();
}

std::vector<GenerationResult> Engine::generate(std::vector<GenerationRequest> requests) {
  std::vector<int64_t> ids;
  for (auto& r : requests) ids.push_back(add(std::move(r)));
  while (step()) {
  }
  std::vector<GenerationResult> results;
  for (int64_t id : ids) results.push_back(take(id));
  return results;
}

std::vector<std::vector<float>> Engine::loglikelihood(
    const std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>>& pairs) {
  const int64_t V = forward_.config().vocab_size;
  const int64_t limit = forward_.context_limit();
  std::vector<std::vector<float>> out(pairs.size());
  // Shared contexts are computed once: pairs whose context was seen before run after all first
  // occurrences, so they find it in the prefix cache (full blocks of it, at least).
  std::vector<size_t> order, repeats;
  {
    std::map<std::vector<int32_t>, size_t> seen;
    for (size_t i = 0; i < pairs.size(); ++i) (seen.emplace(pairs[i].first, i).second ? order : repeats).push_back(i);
    order.insert(order.end(), repeats.begin(), repeats.end());
  }
  size_t next = 0;
  while (next < pairs.size()) {
    // Pack whole sequences into one step, up to step_tokens rows (a longer one runs alone, in chunks).
    step_.clear();
    std::vector<size_t> members;
    std::vector<int32_t> ids;
    int64_t rows = 0;
    std::set<std::vector<int32_t>> contexts;
    while (next < pairs.size()) {
      const size_t index = order[next];
      const auto& [context, continuation] = pairs[index];
      const int64_t len = static_cast<int64_t>(context.size() + continuation.size());
      if (context.empty()) fail("loglikelihood pair {}: the context is empty", index);
      if (len > limit) fail("loglikelihood pair {}: {} tokens exceed the context of {}", index, len, limit);
      if (!members.empty() && (rows + len > options_.step_tokens || contexts.count(context))) break;
      contexts.insert(context);
      members.push_back(index);
      ++next;
      rows += len;
      if (rows >= options_.step_tokens) break;
    }
    std::vector<std::vector<int32_t>> sequences;
    for (size_t m : members) {
      std::vector<int32_t> seq = pairs[m].first;
      seq.insert(seq.end(), pairs[m].second.begin(), pairs[m].second.end());
      sequences.push_back(std::move(seq));
      ids.push_back(new_sequence());
    }
    // Feed in chunks of at most step_tokens rows; each member's targets get logits.
    std::vector<int64_t> done(members.size(), 0);
    if (prefix_caching_)
      for (size_t i = 0; i < members.size(); ++i) {
        // Only the context may come from the cache: continuation positions need their logits.
        const int64_t context_len = static_cast<int64_t>(pairs[members[i]].first.size());
        std::vector<int32_t> context(sequences[i].begin(), sequences[i].begin() + context_len);
        done[i] = blocks().match_prefix(ids[i], context);
        stats_.cached_prompt_tokens += done[i];
      }
    for (size_t i = 0; i < members.size(); ++i) out[members[i]].clear();
    bool more = true;
    while (more) {
      step_.clear();
      std::vector<std::pair<size_t, int64_t>> targets;  // member, position predicted from
      int64_t budget = options_.step_tokens;
      for (size_t i = 0; i < members.size() && budget > 0; ++i) {
        const int64_t len = static_cast<int64_t>(sequences[i].size());
        const int64_t n = std::min(len - done[i], budget);
        if (n <= 0) continue;
        reserve(ids[i], done[i] + n);
        const int64_t first_target = static_cast<int64_t>(pairs[members[i]].first.size()) - 1;
        for (int64_t j = 0; j < n; ++j) {
          const int64_t pos = done[i] + j;
          step_.tokens.push_back(sequences[i][pos]);
          step_.positions.push_back(static_cast<int32_t>(pos));
          step_.sequences.push_back(ids[i]);
          if (pos >= first_target && pos + 1 < len) {
            step_.logit_rows.push_back(static_cast<int32_t>(step_.tokens.size() - 1));
            targets.push_back({i, pos});
          }
        }
        done[i] += n;
        budget -= n;
        if (prefix_caching_) blocks().register_prefix(ids[i], sequences[i], done[i]);
      }
      run_forward(/*host_logits=*/true);
      for (size_t r = 0; r < targets.size(); ++r) {
        const auto [i, pos] = targets[r];
        const float* row = logits_.data() + r * V;
        float max_logit = row[0];
        for (int64_t v = 1; v < V; ++v) max_logit = std::max(max_logit, row[v]);
        double sum = 0.0;
        for (int64_t v = 0; v < V; ++v) sum += std::exp(static_cast<double>(row[v]) - max_logit);
        const int32_t target = sequences[i][pos + 1];
        out[members[i]].push_back(static_cast<float>(row[target] - max_logit - std::log(sum)));
      }
      more = false;
      for (size_t i = 0; i < members.size(); ++i) more |= done[i] < static_cast<int64_t>(sequences[i].size());
    }
    for (int32_t id : ids) free_sequence(id);
  }
  return out;
}

}  // namespace tt::infer
