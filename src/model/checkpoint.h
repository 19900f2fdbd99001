// A model in memory (config + one fp32 parameter buffer) and its HF checkpoint directory:
// config.json, model.safetensors (or sharded with model.safetensors.index.json), generation_config.json,
// and the tokenizer files when present.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/config.h"
#include "model/params.h"

namespace tt {

struct Model {
  ModelConfig config;
  ParameterLayout layout;
  std::vector<float> params;  // layout.total floats
  // The checkpoint's generation_config.json as read (a JSON object's text), written back unchanged when
  // the model is saved, as transformers keeps model.generation_config from from_pretrained to
  // save_pretrained (its sampling defaults and EOS ids survive fine-tuning); "" when the checkpoint had
  // none or the model was made here: the saved file then holds the config's BOS and EOS ids.
  std::string generation_config;
  ModelViews views() { return make_model_views(config, params.data()); }
};

// Random initialisation as HF's _init_weights: every matrix ~ N(0, initializer_range), norms = 1.
Model init_model(const ModelConfig& config, uint64_t seed);

// `path` is a checkpoint directory, or an HF hub id ("org/name") found in the local hub cache.
// Errors name the file and tensor: missing tensor, wrong shape, truncated or corrupt file.
Model load_model(const std::string& path);

struct SaveOptions {
  DType dtype = DType::F32;            // F32 or BF16 (HF's usual torch_dtype for these models)
  std::string tokenizer_source;        // a tokenizer.json or a directory holding tokenizer files; "" = none
  // Added to model.safetensors' __metadata__ beside {"format": "pt"} (init-model marks its outputs).
  std::map<std::string, std::string> metadata = {};
  // Called with the temporary directory before it is renamed into place (e.g. to add trainer_state/).
  std::function<void(const std::string& temp_dir)> extra_files = {};
};

// Writes the checkpoint atomically: into a temporary sibling directory, fsynced, then renamed over `dir`.
void save_model(const Model& model, const std::string& dir, const SaveOptions& options = {});

// Writes the model files (config.json, model.safetensors, generation_config.json, tokenizer files)
// into an existing directory, each file atomically, leaving other files there alone.
void write_model_files(const Model& model, const std::string& dir, const SaveOptions& options = {});

// The files that make up a tokenizer in an HF model directory.
const std::vector<std::string>& tokenizer_file_names();

}  // namespace tt
