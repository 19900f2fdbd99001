// SFT end to end: the trainer against the PyTorch reference (tools/gen_sft_fixtures.py), and resume.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "io/jsonl.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "tests/test_util.h"
#include "train/sft.h"
#include "train/sft_inputs.h"

namespace tt {
namespace {

namespace fs = std::filesystem;

std::string write_config(const std::string& dir, const std::string& body) {
  std::string path = dir + "/config.yaml";
  std::ofstream(path) << body;
  return path;
}

std::vector<nlohmann::json> read_rows(const std::string& path) {
  std::vector<nlohmann::json> rows;
  read_jsonl(path, [&](int64_t, const nlohmann::json& row) { rows.push_back(row); });
  return rows;
}

class SftReference : public ::testing::TestWithParam<std::string> {};

// The first 3 optimizer steps (accumulation 2 x batch 2, padding, assistant masks, clipping, cosine
// warmup) match PyTorch: losses within 1e-4 relative.
TEST_P(SftReference, FirstThreeStepsMatchPyTorch) {
  const std::string fixture = testing::fixture_dir() + "/sft/" + GetParam();
  SafetensorsFile ref(fixture + "/reference.safetensors");
  const auto& meta = ref.metadata();
  std::string dir = testing::make_temp_dir("sft-ref");
  std::string config = write_config(dir, fmt::format(R"(model_name: {}/parity/tiny_llama4
dataset:
  path: {}/examples.jsonl
trainer:
  per_device_train_batch_size: {}
  gradient_accumulation_steps: {}
  max_steps: 3
  learning_rate: {}
  lr_scheduler_type: cosine
  warmup_steps: {}
  weight_decay: {}
  adam_beta1: {}
  adam_beta2: {}
  adam_epsilon: {}
  max_grad_norm: {}
  loss_type: {}
  logging_steps: 1
  save_steps: 100
  output_dir: {}/out
)", testing::fixture_dir(), fixture, meta.at("per_device_train_batch_size"), meta.at("gradient_accumulation_steps"),
      meta.at("lr"), meta.at("warmup_steps"), meta.at("weight_decay"), meta.at("beta1"), meta.at("beta2"),
      meta.at("eps"), meta.at("max_grad_norm"), GetParam(), dir));
  SftRun run;
  run.config = load_train_config(config, {}, TrainerKind::SFT);
  run.shuffle = false;
  load_sft_inputs(run);
  run.pad_id = std::stoi(meta.at("pad_token_id"));
  run_sft(run);
  std::vector<float> losses(3), norms(3);
  ref.read_f32("losses", losses.data());
  ref.read_f32("grad_norms", norms.data());
  auto rows = read_rows(dir + "/out/metrics.jsonl");
  ASSERT_EQ(rows.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(rows[i]["loss"].get<double>(), losses[i], 1e-4 * losses[i]) << "step " << i + 1;
    EXPECT_NEAR(rows[i]["grad_norm"].get<double>(), norms[i], 1e-3 * norms[i]) << "step " << i + 1;
  }
  Model trained = load_model(dir + "/out");
  for (const auto& slot : trained.layout.slots) {
    std::vector<float> expected(slot.numel);
    ref.read_f32("final." + slot.name, expected.data());
    double diff = 0, scale = 1e-30;
    for (int64_t i = 0; i < slot.numel; ++i) {
      diff = std::max(diff, static_cast<double>(std::fabs(trained.params[slot.offset + i] - expected[i])));
      scale = std::max(scale, static_cast<double>(std::fabs(expected[i])));
    }
    EXPECT_LE(diff / scale, 1e-3) << slot.name;  // see the AdamW note in model_parity_test.cpp
  }
}

INSTANTIATE_TEST_SUITE_P(Losses, SftReference, ::testing::Values("nll", "dft"));

}  // namespace
}  // namespace tt
