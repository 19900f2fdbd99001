#include "train/optimizer.h"

#include <cmath>
#include <numbers>

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
  start_moments(state, params.size());
  state.step += 1;
  const AdamWScalars k = adamw_scalars(config, state.step, lr);
  const float step_size = k.step_size, bias2_sqrt = k.bias2_sqrt, eps = k.eps, fb1 = k.beta1, fb2 = k.beta2;
  for (size_t s = 0; s < layout.slots.size(); ++s) {
    const auto& slot = layout.slots[s];
    const float decay = decay_factor(config, lr, decay_mask[s]);
    float* p = params.data() + slot.offset;
    const float* g = grads.data() + slot.offset;
    float* m = state.m.data() + slot.offset;
    float* v = state.v.data() + slot.offset;
#pragma omp parallel for simd schedule(static) if (slot.numel > kMinParallelWork)
    for (int64_t i = 0; i < slot.numel; ++i) {
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
  start_moments(state, params.size());
  state.step += 1;
  AdamWScalars k = adamw_scalars(config, state.step, lr);
  k.grad_scale = grad_scale;
  std::vector<AdamWSegment> segments;
  for (size_t s = 0; s < layout.slots.size(); ++s)
    segments.push_back({layout.slots[s].offset, layout.slots[s].numel, decay_factor(config, lr, decay_mask[s])});
  if (bf16_copy) bf16_copy->resize(params.size());
  const AdamWBuffers buffers{.params = params.data(),
                             .grads = grads.data(),
                             .m = state.m.data(),
                             .v = state.v.data(),
                             .bf16_copy = bf16_copy ? bf16_copy->data() : nullptr};
  adamw_fused_update(buffers, segments, k);
}

double gradient_norm(const std::vector<float>& grads) {
  double sum = 0.0;
  const int64_t n = static_cast<int64_t>(grads.size());
#pragma omp parallel for reduction(+ : sum) schedule(static) if (n > kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(grads[i]) * grads[i];
  return std::sqrt(sum);
}

float clip_coefficient(double norm, double max_norm) {
  if (max_norm <= 0.0) return 1.0f;
  const double coef = max_norm / (norm + 1e-6);
  return coef < 1.0 ? static_cast<float>(coef) : 1.0f;
}

double clip_grad_norm(std::vector<float>& grads, double max_norm) {
  const double norm = gradient_norm(grads);
  const float f = clip_coefficient(norm, max_norm);
  if (f != 1.0f) {
    const int64_t n = static_cast<int64_t>(grads.size());
#pragma omp parallel for simd schedule(static) if (n > kMinParallelWork)
    for (int64_t i = 0; i < n; ++i) grads[i] *= f;
  }
  return norm;
}

ScheduleKind parse_schedule(const std::string& name) {
  if (name == "constant") return ScheduleKind::Constant;
  if (name == "constant_with_warmup") return ScheduleKind::ConstantWithWarmup;
  if (name == "linear") return ScheduleKind::Linear;
  if (name == "cosine") return ScheduleKind::Cosine;
  fail("lr_scheduler_type: unsupported '{}' (supported: constant, constant_with_warmup, linear, cosine)", name);
}

double schedule_factor(ScheduleKind kind, int64_t step, int64_t warmup, int64_t total) {
  const double s = static_cast<double>(step);
  if (kind == ScheduleKind::Constant) return 1.0;
  if (step < warmup) return s / static_cast<double>(std::max<int64_t>(1, warmup));
  if (kind == ScheduleKind::ConstantWithWarmup) return 1.0;
  const double progress = (s - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  if (kind == ScheduleKind::Linear) return std::max(0.0, 1.0 - progress);
  return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * progress)));  // num_cycles = 0.5
}

int64_t resolve_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps) {
  if (warmup_steps > 0) return warmup_steps;
  return static_cast<int64_t>(std::ceil(warmup_ratio * static_cast<double>(total_steps)));
}

}  // namespace tt
