#include "train/optimizer.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/cpu/parallel.h"

namespace tt {

std::vector<uint8_t> weight_decay_mask(const ParameterLayout& layout) {
  std::vector<uint8_t> mask(layout.slots.size());
  for (size_t i = 0; i < layout.slots.size(); ++i) {
    const std::string& name = layout.slots[i].name;
    mask[i] = !(layout.slots[i].is_norm || name.find("bias") != std::string::npos);
  }
  return mask;
}

namespace {

void start_moments(AdamWState& state, size_t size) {
  if (state.m.size() != size) {
    state.m.assign(size, 0.0f);
    state.v.assign(size, 0.0f);
  }
}

// The scalars of update number state.step (already counted), as torch computes them.
AdamWScalars adamw_scalars(const AdamWConfig& config, int64_t step, double lr) {
  const double bias1 = 1.0 - std::pow(config.beta1, static_cast<double>(step));
  const double bias2 = 1.0 - std::pow(config.beta2, static_cast<double>(step));
  return {.step_size = static_cast<float>(lr / bias1),
          .bias2_sqrt = static_cast<float>(std::sqrt(bias2)),
          .eps = static_cast<float>(config.epsilon),
          .beta1 = static_cast<float>(config.beta1),
          .beta2 = static_cast<float>(config.beta2)};
}

float decay_factor(const AdamWConfig& config, double lr, bool decays) {
  return decays ? static_cast<float>(1.0 - lr * config.weight_decay) : 1.0f;
}

}  // namespace

void adamw_step(std::vector<float>& params, const std::vector<float>& grads, AdamWState& state,
                const AdamWConfig& config, double lr, const std::vector<uint8_t>& decay_mask,
                const ParameterLayout& layout) {
  const ParamRange all{0, static_cast<int64_t>(params.size())};
  adamw_step(params.data(), grads.data(), state, config, lr, decay_mask, layout, all);
}

void adamw_step(float* params, const float* grads, AdamWState& state, const AdamWConfig& config, double lr,
                const std::vector<uint8_t>& decay_mask, const ParameterLayout& layout, ParamRange range) {
  start_moments(state, static_cast<size_t>(range.size()));
  state.step += 1;
  const AdamWScalars k = adamw_scalars(config, state.step, lr);
  const float step_size = k.step_size, bias2_sqrt = k.bias2_sqrt, eps = k.eps, fb1 = k.beta1, fb2 = k.beta2;
  for (size_t s = 0; s < layout.slots.size(); ++s) {
    const auto& slot = layout.slots[s];
    // The slot's elements inside the range, relative to the range's start.
    const int64_t first = std::max(slot.offset, range.begin), last = std::min(slot.offset + slot.numel, range.end);
    if (first >= last) continue;
    const float decay = decay_factor(config, lr, decay_mask[s]);
    const int64_t count = last - first;
    float* p = params + (first - range.begin);
    const float* g = grads + (first - range.begin);
    float* m = state.m.data() + (first - range.begin);
    float* v = state.v.data() + (first - range.begin);
#pragma omp parallel for simd schedule(static) if (count > kMinParallelWork)
    for (int64_t i = 0; i < count; ++i) {
      p[i] *= decay;
      m[i] = fb1 * m[i] + (1.0f - fb1) * g[i];
      v[i] = fb2 * v[i] + (1.0f - fb2) * g[i] * g[i];
      // torch: denom = sqrt(v) / sqrt(bias2) + eps ; p -= (lr / bias1) * m / denom
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) / bias2_sqrt + eps);
    }
  }
}

void adamw_fused_step(std::vector<float>& params, std::vector<float>& grads, AdamWState& state,
                      const AdamWConfig& config, double lr, const std::vector<uint8_t>& decay_mask,
                      const ParameterLayout& layout, float grad_scale, std::vector<float>* bf16_copy) {
  if (bf16_copy) bf16_copy->resize(params.size());
  const ParamRange all{0, static_cast<int64_t>(params.size())};
  adamw_fused_step(params.data(), grads.data(), state, config, lr, decay_mask, layout, all, grad_scale,
                   bf16_copy ? bf16_copy->data() : nullptr);
}

void adamw_fused_step(float* params, float* grads, AdamWState& state, const AdamWConfig& config, double lr,
                      const std::vector<uint8_t>& decay_mask, const ParameterLayout& layout, ParamRange range,
                      float grad_scale, float* bf16_copy) {
  start_moments(state, static_cast<size_t>(range.size()));
  state.step += 1;
  AdamWScalars k = adamw_scalars(config, state.step, lr);
  k.grad_scale = grad_scale;
  std::vector<AdamWSegment> segments;  // the slots' parts inside the range, relative to its start
  for (size_t s = 0; s < layout.slots.size(); ++s) {
    const auto& slot = layout.slots[s];
    const int64_t first = std::max(slot.offset, range.begin), last = std::min(slot.offset + slot.numel, range.end);
    if (first < last) segments.push_back({first - range.begin, last - first, decay_factor(config, lr, decay_mask[s])});
  }
  const AdamWBuffers buffers{
      .params = params, .grads = grads, .m = state.m.data(), .v = state.v.data(), .bf16_copy = bf16_copy};
  adamw_fused_update(buffers, segments, k);
}

int64_t norm_blocks(int64_t elements) { return (elements + kNormBlock - 1) / kNormBlock; }

namespace {

// One block's sum of squares: element i goes to lane i % 8, the lanes are added as a fixed tree.
double block_squared_sum(const float* x, int64_t n) {
  double lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += static_cast<double>(x[i + l]) * x[i + l];
  for (; i < n; ++i) lanes[i % 8] += static_cast<double>(x[i]) * x[i];
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

}  // namespace

void squared_norm_blocks(const float* data, int64_t elements, double* block_sums) {
  const int64_t blocks = norm_blocks(elements);
#pragma omp parallel for schedule(static) if (elements > kMinParallelWork)
  for (int64_t b = 0; b < blocks; ++b)
    block_sums[b] = block_squared_sum(data + b * kNormBlock, std::min(kNormBlock, elements - b * kNormBlock));
}

double sum_in_order(const std::vector<double>& values) {
  double sum = 0.0;
  for (double v : values) sum += v;
  return sum;
}

double gradient_norm(const std::vector<float>& grads) {
  const int64_t n = static_cast<int64_t>(grads.size());
  std::vector<double> block_sums(static_cast<size_t>(norm_blocks(n)));
  squared_norm_blocks(grads.data(), n, block_sums.data());
  return std::sqrt(sum_in_order(block_sums));
}

float clip_coefficient(double norm, double max_norm) {
  if (max_norm <= 0.0) return 1.0f;
  const double coef = max_norm / (norm + 1e-6);
  return coef < 1.0 ? static_cast<float>(coef) : 1.0f;
}

void clip_to_norm(float* grads, int64_t elements, double norm, double max_norm) {
  const float f = clip_coefficient(norm, max_norm);
  if (f == 1.0f) return;
#pragma omp parallel for simd schedule(static) if (elements > kMinParallelWork)
  for (int64_t i = 0; i < elements; ++i) grads[i] *= f;
}

double clip_grad_norm(std::vector<float>& grads, double max_norm) {
  const double norm = gradient_norm(grads);
  clip_to_norm(grads.data(), static_cast<int64_t>(grads.size()), norm, max_norm);
  return norm;
}

}  // namespace tt
