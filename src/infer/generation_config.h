// The sampling defaults a model's generation_config.json recommends, applied as vLLM applies them
// (its `--generation-config auto`, the default of `vllm serve` and of LLM.generate without sampling
// parameters): repetition_penalty, temperature, top_k, top_p, min_p and max_new_tokens (vLLM's
// max_tokens), each where the file sets it and not null, as transformers 5 reads the file (its
// GenerationConfig has no defaults of its own, so every key the file sets counts). do_sample is not
// read: vLLM ignores it too. A value the caller gave (a flag, a request's field) wins over the file.
#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "infer/sampler.h"

namespace tt::infer {

struct ModelSamplingDefaults {
  std::string path;  // the generation_config.json they came from; empty when none was read
  std::optional<float> temperature, top_p, min_p, repetition_penalty;
  std::optional<int64_t> top_k, max_new_tokens;

  bool empty() const;
  // "temperature 0.6, top_p 0.95" in the file's key names
  std::string describe() const;
};

// `source`: "auto" reads `model_dir`/generation_config.json when it is there; "vllm" (vLLM's name for
// its neutral defaults) reads nothing; anything else is a folder whose generation_config.json must
// exist. A value of the wrong type or out of range is an error naming the file and the key.
ModelSamplingDefaults read_sampling_defaults(const std::string& source, const std::string& model_dir);

// `params` with every default the file sets, except the fields named in `given` (SamplingParams'
// field names: what the caller set explicitly).
void apply_sampling_defaults(const ModelSamplingDefaults& defaults, const std::set<std::string>& given,
                             SamplingParams& params);

}  // namespace tt::infer
