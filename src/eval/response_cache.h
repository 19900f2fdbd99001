// The engine's answers to evaluation requests, kept on disk as they finish (lm-eval's --use_cache):
// an evaluation killed halfway and run again computes only what is missing, and a rerun with more
// documents or other tasks reuses every request it shares with an earlier one.
//
//   DIR/<model key>.jsonl   a header line, then one line per answered request:
//     {"request": "<32 hex>", "text": "...", "tokens": 57}       a generation (text_hex when not UTF-8)
//     {"request": "<32 hex>", "loglikelihood": -12.75}          a (context, continuation) pair
//
// The model key covers what the answers depend on besides the request: the weights, config,
// generation config and tokenizer files by content, the precision, the EOS ids, and the device the
// kernels ran on (the CPU's instruction-set path, or the GPU's name and compute capability), so a
// cache directory can serve many checkpoints and machines without mixing their answers. The request
// key covers the prompt's token ids and every sampling parameter (seed included), so a cached answer
// is the one the engine would give again: the engine is batch-invariant, and a sampled response
// depends only on its prompt, parameters and seed.
//
// Under mpirun each rank appends to DIR/<model key>.rank<R>.jsonl and reads every file of the key, so
// a run resumes on another rank count. Lines are appended whole (one write each); a line cut off by a
// kill at the end of the file this process appends to is dropped with a warning; any other damaged
// line is a tt::Error naming file:line.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "eval/loglikelihood_task.h"
#include "eval/runner.h"
#include "infer/sampler.h"
#include "infer/session.h"

namespace tt::eval {

class ResponseCache {
 public:
  struct Generation {
    std::string text;
    int64_t tokens = 0;  // generated tokens
  };

  // Opens (creating) the cache for the session's model in `dir`; `rank` of `ranks` processes.
  // `only_this_model`: the directory serves one evaluation, and other models' files are removed.
  ResponseCache(const std::string& dir, const infer::Session& session, Precision precision, int cuda_device, int rank,
                int ranks, bool only_this_model = false);
  ~ResponseCache();
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  // What the model key is made of (tests use it to show that a change makes another key).
  static std::string model_key(const infer::Session& session, Precision precision, const std::string& device);
  static std::string generation_key(const std::vector<int32_t>& prompt_ids, const infer::SamplingParams& params);
  static std::string loglikelihood_key(const TokenPair& pair);

  const Generation* find_generation(const std::string& key);
  std::optional<double> find_loglikelihood(const std::string& key);
  void put_generation(const std::string& key, const Generation& g);
  void put_loglikelihood(const std::string& key, double loglikelihood);

  const std::string& path() const { return path_; }  // the file this process appends to
  int64_t entries() const { return static_cast<int64_t>(generations_.size() + loglikelihoods_.size()); }
  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }

 private:
  void read_file(const std::string& file, bool own);
  void append(const std::string& line);

  std::string path_;
  int fd_ = -1;
  std::unordered_map<std::string, Generation> generations_;
  std::unordered_map<std::string, double> loglikelihoods_;
  int64_t hits_ = 0, misses_ = 0;
};

// The cache of an evaluation run: options.cache_dir's for the session's model, or none.
std::unique_ptr<ResponseCache> open_response_cache(const EvalOptions& options, const infer::Session& session);

}  // namespace tt::eval
