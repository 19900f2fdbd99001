// SFT runs on the PyTorch fixtures (tools/gen_sft_fixtures.py): their configs and metrics rows, shared
// by tests/sft_test.cpp (CPU) and src/kernels/cuda/device_sft_test.cpp (GPU).
#pragma once
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/jsonl.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "tests/test_util.h"
#include "train/sft.h"
#include "train/sft_inputs.h"

namespace tt::testing {

inline std::string write_config(const std::string& dir, const std::string& body) {
  std::string path = dir + "/config.yaml";
  std::ofstream(path) << body;
  return path;
}

inline std::vector<nlohmann::json> read_rows(const std::string& path) {
  std::vector<nlohmann::json> rows;
  read_jsonl(path, [&](int64_t, const nlohmann::json& row) { rows.push_back(row); });
  return rows;
}

// A training config for a PyTorch fixture (FIXTURES/sft/NAME; the model: FIXTURES/parity/tiny_llama4):
// its optimizer settings from the fixture's metadata, and `length` (max_steps or num_train_epochs
// lines) plus `extra` trainer lines from the test.
inline std::string fixture_config(const std::string& dir, const std::string& fixture,
                                  const std::map<std::string, std::string>& meta, const std::string& length,
                                  const std::string& extra = "") {
  const std::string fixtures_root = std::filesystem::path(fixture).parent_path().parent_path().string();
  return write_config(dir, fmt::format(R"(model_name: {}/parity/tiny_llama4
dataset:
  path: {}/examples.jsonl
trainer:
  per_device_train_batch_size: {}
  gradient_accumulation_steps: {}
{}
  learning_rate: {}
  lr_scheduler_type: cosine
  warmup_steps: {}
  weight_decay: {}
  adam_beta1: {}
  adam_beta2: {}
  adam_epsilon: {}
  max_grad_norm: {}
  bf16: false
{}  logging_steps: 1
  save_steps: 100
  output_dir: {}/out
)", fixtures_root, fixture, meta.at("per_device_train_batch_size"), meta.at("gradient_accumulation_steps"),
      length, meta.at("lr"), meta.at("warmup_steps"), meta.at("weight_decay"), meta.at("beta1"), meta.at("beta2"),
      meta.at("eps"), meta.at("max_grad_norm"), extra, dir));
}

// SFT on a fixture's examples in file order, padded with its pad id; cuda_device >= 0: on that GPU.
inline SftResult run_fixture_sft(const std::string& config, const std::map<std::string, std::string>& meta,
                                 int cuda_device = -1) {
  SftRun run;
  run.cuda_device = cuda_device;
  run.config = load_train_config(config, {}, TrainerKind::SFT);
  run.shuffle = false;
  load_sft_inputs(run);
  run.pad_id = std::stoi(meta.at("pad_token_id"));
  return run_sft(run);
}

// The trained model in `out` equals the fixture's final.* weights within 1e-3 relative per tensor
// (see the AdamW note in model_parity_test.cpp).
inline void expect_final_weights(SafetensorsFile& ref, const std::string& out) {
  Model trained = load_model(out);
  for (const auto& slot : trained.layout.slots) {
    std::vector<float> expected(slot.numel);
    ref.read_f32("final." + slot.name, expected.data());
    double diff = 0, scale = 1e-30;
    for (int64_t i = 0; i < slot.numel; ++i) {
      diff = std::max(diff, static_cast<double>(std::fabs(trained.params[slot.offset + i] - expected[i])));
      scale = std::max(scale, static_cast<double>(std::fabs(expected[i])));
    }
    EXPECT_LE(diff / scale, 1e-3) << slot.name;
  }
}

}  // namespace tt::testing
