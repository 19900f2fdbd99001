// Shared by the device training tests (src/kernels/cuda/device_train_test.cpp on a GPU,
// src/model/device_transformer_test.cpp on the host double): tiny random models, packed rows with
// per-document boundaries and assistant-only targets, a per-tensor comparison of gradients and the
// weights' worst difference (data-parallel tests).
#pragma once
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.h"
#include "model/checkpoint.h"
#include "model/device_transformer.h"
#include "model/transformer.h"

namespace tt::testing {

// The largest elementwise difference of two parameter buffers relative to b's largest magnitude (a
// relative difference per element would be dominated by weights near zero, where AdamW's rounding
// noise is largest); infinite when the sizes differ.
inline double worst_relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = a.size() == b.size() ? 0 : INFINITY, largest = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::fabs(double(a[i]) - b[i]));
    largest = std::max(largest, std::fabs(double(b[i])));
  }
  return worst / largest;
}

inline Model tiny_train_model(const std::string& preset, bool tied, uint64_t seed = 11) {
  ModelConfig config = preset_config(preset);
  config.vocab_size = 260;
  config.tie_word_embeddings = tied;
  config.initializer_range = 0.2;  // peaked logits and gradients well above rounding noise
  return init_model(config, seed);
}

// Two packed rows of 40 positions: row 0 holds documents of 13, 17 and 10 tokens, row 1 one of 31 and
// padding. Positions restart per document; the first 4 tokens of a document (its "prompt") and its last
// token have no target, so only "assistant" tokens are scored.
inline Batch packed_assistant_batch(uint64_t seed) {
  Batch b;
  b.rows = 2;
  b.seq = 40;
  const std::vector<std::vector<int>> docs = {{13, 17, 10}, {31}};
  Rng rng(seed);
  for (int64_t r = 0; r < b.rows; ++r) {
    int start = 0;
    for (int len : docs[r]) {
      std::vector<int32_t> ids(len);
      for (auto& id : ids) id = static_cast<int32_t>(rng.below(259));
      for (int p = 0; p < len; ++p) {
        b.tokens.push_back(ids[p]);
        b.targets.push_back(p >= 4 && p + 1 < len ? ids[p + 1] : -100);
        b.positions.push_back(p);
        b.doc_start.push_back(start);
      }
      start += len;
    }
    for (int t = start; t < b.seq; ++t) {  // padding: its own document, no targets
      b.tokens.push_back(0);
      b.targets.push_back(-100);
      b.positions.push_back(t - start);
      b.doc_start.push_back(start);
    }
  }
  return b;
}

// 1 / (target tokens) on every token: the mean loss over the assistant tokens.
inline std::vector<float> mean_token_weights(const Batch& b) {
  int64_t scored = 0;
  for (int32_t t : b.targets) scored += t >= 0;
  return std::vector<float>(b.size(), 1.0f / static_cast<float>(scored));
}

// ||out - ref|| / ||ref|| over [begin, begin + n) (in double); infinity when out holds a NaN.
inline double slice_relative_error(const std::vector<float>& out, const std::vector<float>& ref, int64_t begin,
                                   int64_t n) {
  double diff = 0.0, norm = 0.0;
  for (int64_t i = begin; i < begin + n; ++i) {
    if (!std::isfinite(out[i])) return INFINITY;
    diff += (double(out[i]) - ref[i]) * (double(out[i]) - ref[i]);
    norm += double(ref[i]) * ref[i];
  }
  return norm == 0.0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

// One forward + loss + backward pass: its loss statistics, gradients (the layout's buffer) and log-probs.
struct LossPass {
  LossResult loss;
  std::vector<float> grads, logprobs;
};

// model_loss on the CPU with mean_token_weights.
inline LossPass cpu_loss_pass(Model& model, const Batch& batch, const ForwardOptions& options, TokenLoss kind) {
  std::vector<float> bf16_copy;
  WeightSet weights = make_weight_set(model, options.precision, bf16_copy);
  Workspace ws;
  LossPass p;
  p.grads.assign(model.params.size(), 0.0f);
  p.logprobs.assign(batch.size(), 0.0f);
  ModelViews grads = make_model_views(model.config, p.grads.data());
  const std::vector<float> w = mean_token_weights(batch);
  p.loss = model_loss(model.config, weights, batch, ws, options, w.data(), kind, &grads, p.logprobs.data());
  return p;
}

// The same pass through a DeviceTrainingModel on `device` (log-probs NaN-poisoned first).
inline LossPass device_loss_pass(Model& model, TrainDevice& device, const Batch& batch, const ForwardOptions& options,
                                 TokenLoss kind) {
  DeviceTrainingModel dm(model.config, device, options.precision, model.params,
                         std::vector<uint8_t>(model.params.size(), 1));
  LossPass p;
  p.logprobs.assign(batch.size(), NAN);
  const std::vector<float> w = mean_token_weights(batch);
  p.loss = dm.loss(batch, options, w.data(), kind, true, p.logprobs.data());
  dm.download_gradients(p.grads);
  return p;
}

struct GradientComparison {
  double worst = 0.0;
  bool ok = true;
  std::string table;  // one line per tensor, FAIL marking those beyond the tolerance
};

// Every tensor of the layout: its gradient's relative error against the reference.
inline GradientComparison compare_gradients(const ParameterLayout& layout, const std::vector<float>& grads,
                                            const std::vector<float>& reference, double tolerance) {
  GradientComparison c;
  std::ostringstream table;
  for (const TensorSlot& slot : layout.slots) {
    const double err = slice_relative_error(grads, reference, slot.offset, slot.numel);
    c.worst = std::max(c.worst, err);
    const bool bad = !(err <= tolerance);
    c.ok = c.ok && !bad;
    table << (bad ? "  FAIL " : "       ") << "grad " << slot.name << " rel " << err << "\n";
  }
  c.table = table.str();
  return c;
}

}  // namespace tt::testing
