// The engine's answers kept on disk as they finish (lm-eval's --use_cache; eval --use-cache, pairs
// --use-cache and the study's eval and pairs stages): a run killed halfway and started again
// computes only what is missing, and a rerun with more documents, prompts or tasks reuses every
// request it shares with an earlier one.
//
//   DIR/<model key>.jsonl   a header line, then one line per answered request:
//     {"request": "<32 hex>", "samples": [{"ids": [...], "text": "...", "finish_reason": "stop"}, ...]}
//                           a generation's n samples (text_hex instead of text when not UTF-8)
//     {"request": "<32 hex>", "loglikelihood": -12.75}     a (context, continuation) pair's sum
//
// The model key covers what the answers depend on besides the request: the weights, config,
// generation config and tokenizer files by content, the precision, the EOS ids, and the device the
// kernels run on (the CPU's instruction-set path, or the GPU's name and compute capability), so one
// directory can serve many checkpoints and machines without mixing their answers. The request key
// covers the prompt's token ids and every sampling parameter (the seed included), so a cached answer
// is the one the engine would give again: the engine is batch-invariant, and a sampled completion
// depends only on its prompt, parameters and seed. Requests that ask for log-probabilities are not
// cached.
//
// Under mpirun each rank appends to DIR/<model key>.rank<R>.jsonl and reads every file of the key, so
// a run resumes on another rank count. Lines are appended whole (one write each); a line cut off by a
// kill at the end of a file is dropped with a warning (and cut from the file this process appends
// to); any other damaged line is a tt::Error naming file:line.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "infer/engine.h"
#include "infer/session.h"

namespace tt::infer {

// What a cache file holds, by request key.
struct ResponseCacheEntries {
  std::unordered_map<std::string, GenerationResult> generations;
  std::unordered_map<std::string, double> loglikelihoods;
};

// The entries of `content`, the text of the cache file `file` (its lines, the last one with or
// without its newline), added to `into` (an entry already there stays); a damaged line is a
// tt::Error naming file:line.
void parse_response_cache(std::string_view content, const std::string& file, ResponseCacheEntries& into);

class ResponseCache {
 public:
  // Opens (creating) the cache for the session's model in `dir`; `rank` of `ranks` processes.
  // `only_this_model`: the directory serves one run's model (a study stage's), and other models'
  // files there, of no use to it, are removed. `role` names the option in errors ("eval --use-cache").
  ResponseCache(const std::string& dir, const Session& session, Precision precision, int cuda_device, int rank,
                int ranks, bool only_this_model = false, const std::string& role = "--use-cache");
  ~ResponseCache();
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  static std::string model_key(const Session& session, Precision precision, const std::string& device);
  static bool cacheable(const SamplingParams& params);  // no log-probabilities asked for
  static std::string generation_key(const std::vector<int32_t>& prompt_ids, const SamplingParams& params);
  static std::string loglikelihood_key(const std::vector<int32_t>& context, const std::vector<int32_t>& continuation);

  const GenerationResult* find_generation(const std::string& key);  // counts a hit or a miss
  std::optional<double> find_loglikelihood(const std::string& key);
  void put_generation(const std::string& key, const GenerationResult& result);
  void put_loglikelihood(const std::string& key, double loglikelihood);

  const std::string& path() const { return path_; }  // the file this process appends to
  int64_t entries() const { return static_cast<int64_t>(entries_.generations.size() + entries_.loglikelihoods.size()); }
  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }

 private:
  void read_file(const std::string& file, bool own);
  void append(const std::string& line);

  std::string path_;
  int fd_ = -1;
  ResponseCacheEntries entries_;
  int64_t hits_ = 0, misses_ = 0;
};

// The cache in `dir` for this process of the run (Communicator::world()'s rank and size), or null
// when `dir` is "" (no cache asked for).
std::unique_ptr<ResponseCache> open_response_cache(const std::string& dir, const Session& session, Precision precision,
                                                   int cuda_device, bool only_this_model, const std::string& role);

// The engine's results for `requests`, in order: those `cache` holds from it, the others generated
// (continuous batching, as Engine::generate) and put into `cache` as soon as the step that ends each
// returns, so a kill loses at most the requests still running. `progress(done)` is called with the
// count of finished requests (the cached ones first). `cache` may be null.
std::vector<GenerationResult> generate_cached(Engine& engine, std::vector<GenerationRequest> requests,
                                              ResponseCache* cache,
                                              const std::function<void(int64_t done)>& progress = {});

}  // namespace tt::infer
