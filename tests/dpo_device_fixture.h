// DPO on a training device against the CPU: the PyTorch DPO fixtures' pairs and loss settings
// (tools/gen_dpo_fixtures.py, FIXTURES/dpo/NAME) on the tiny llama4 parity model. Used by the host
// stand-in test (tests/dpo_device_test.cpp) and the GPU test (src/kernels/cuda/device_dpo_test.cpp).
#pragma once
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "tests/test_util.h"
#include "train/dpo.h"

namespace tt::testing {

// The fixtures of the build's checkout, else tests/fixtures under the working directory (a prebuilt
// test binary run from another checkout's root).
inline std::string dpo_fixtures_root() {
  const std::string built = fixture_dir();
  return std::filesystem::is_directory(built + "/dpo") ? built : std::string("tests/fixtures");
}

struct DpoFixture {
  std::vector<PreferencePair> pairs;  // 12 pairs
  DpoLossConfig loss;
  std::string model_dir;  // the tiny llama4 parity model
};

// A fixture's list as its metadata writes it: "sigmoid" or "[sigmoid, bco_pair, sft]".
inline std::vector<std::string> fixture_list(std::string text) {
  if (!text.empty() && text.front() == '[') text = text.substr(1, text.size() - 2);
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    items.push_back(item);
    start = comma + 1;
  }
  return items;
}

inline DpoFixture load_dpo_fixture(const std::string& name) {
  const std::string root = dpo_fixtures_root();
  SafetensorsFile ref(root + "/dpo/" + name + "/reference.safetensors");
  const auto& meta = ref.metadata();
  DpoFixture f;
  f.loss.types = fixture_list(meta.at("loss_type"));
  if (meta.count("loss_weights"))
    for (const auto& w : fixture_list(meta.at("loss_weights"))) f.loss.weights.push_back(std::stod(w));
  f.loss.beta = std::stod(meta.at("beta"));
  f.loss.label_smoothing = std::stod(meta.at("label_smoothing"));
  f.loss.simpo_gamma = std::stod(meta.at("simpo_gamma"));
  f.loss.cpo_alpha = meta.count("cpo_alpha") ? std::stod(meta.at("cpo_alpha")) : 0.0;
  if (meta.count("rpo_alpha")) f.loss.rpo_alpha = std::stod(meta.at("rpo_alpha"));
  f.loss.reference_free = meta.count("reference_free") > 0;
  if (meta.count("discopop_tau")) f.loss.discopop_tau = std::stod(meta.at("discopop_tau"));
  if (meta.count("f_divergence_type")) f.loss.f_divergence = meta.at("f_divergence_type");
  if (meta.count("f_alpha_divergence_coef")) f.loss.f_alpha = std::stod(meta.at("f_alpha_divergence_coef"));
  if (meta.count("ld_alpha")) f.loss.ld_alpha = std::stod(meta.at("ld_alpha"));
  PreferenceOptions options;
  options.max_length = 128;
  f.pairs = load_preference_data(root + "/dpo/" + name + "/pairs.jsonl", options).pairs;
  f.model_dir = root + "/parity/tiny_llama4";
  return f;
}

// Step s's micro-batches: two of two pairs each, walking through the 12 pairs.
inline std::vector<std::vector<int64_t>> dpo_step_micro_batches(int step) {
  const int64_t first = (4 * step) % 12;
  return {{first, first + 1}, {first + 2, first + 3}};
}

}  // namespace tt::testing
