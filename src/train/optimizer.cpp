#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/ranges.h>

#include "core/error.h"
#include "core/number.h"
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

namespace {

struct ScheduleName {
  const char* name;
  ScheduleKind kind;
  std::vector<std::string> kwargs;  // its parameters
  bool passes_kwargs = true;         // false: get_scheduler does not pass lr_scheduler_kwargs to it
};

const std::vector<ScheduleName>& schedule_names() {
  static const std::vector<ScheduleName> names = {
      {"constant", ScheduleKind::Constant, {}, false},
      {"constant_with_warmup", ScheduleKind::ConstantWithWarmup, {}, false},
      {"linear", ScheduleKind::Linear, {}},
      {"cosine", ScheduleKind::Cosine, {"num_cycles"}},
      {"cosine_with_restarts", ScheduleKind::CosineWithRestarts, {"num_cycles"}},
      {"polynomial", ScheduleKind::Polynomial, {"lr_end", "power"}},
      {"inverse_sqrt", ScheduleKind::InverseSqrt, {}, false},
      {"cosine_with_min_lr", ScheduleKind::CosineWithMinLr, {"num_cycles", "min_lr", "min_lr_rate"}},
      {"cosine_warmup_with_min_lr", ScheduleKind::CosineWarmupWithMinLr,
       {"num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate"}},
      {"warmup_stable_decay", ScheduleKind::WarmupStableDecay,
       {"num_decay_steps", "num_stable_steps", "warmup_type", "decay_type", "min_lr_ratio", "num_cycles"}},
  };
  return names;
}

double kwarg_number(const std::string& key, const std::string& text) {
  const std::optional<double> v = parse_double(text);
  if (!v || !std::isfinite(*v)) fail("lr_scheduler_kwargs.{}: expected a number, got '{}'", key, text);
  return *v;
}

int64_t kwarg_steps(const std::string& key, const std::string& text) {
  const double v = kwarg_number(key, text);
  if (v < 0 || v != std::floor(v) || v > 9.0e15)
    fail("lr_scheduler_kwargs.{}: expected a whole number of steps, got '{}'", key, text);
  return static_cast<int64_t>(v);
}

// warmup_type / decay_type of warmup_stable_decay
std::string kwarg_shape(const std::string& key, const std::string& text) {
  if (text != "linear" && text != "cosine" && text != "1-sqrt")
    fail("lr_scheduler_kwargs.{}: '{}' (transformers takes linear, cosine or 1-sqrt)", key, text);
  return text;
}

// warmup_stable_decay's curves: `progress` in [0, 1) of the warmup (rising) or the decay (falling).
double wsd_curve(const std::string& shape, double progress, bool rising, double num_cycles) {
  if (rising) {
    if (shape == "cosine") return 0.5 * (1.0 - std::cos(std::numbers::pi * progress));
    if (shape == "1-sqrt") return 1.0 - std::sqrt(1.0 - progress);
    return progress;
  }
  if (shape == "cosine") return 0.5 * (1.0 + std::cos(std::numbers::pi * num_cycles * 2.0 * progress));
  if (shape == "1-sqrt") return 1.0 - std::sqrt(progress);
  return 1.0 - progress;
}

}  // namespace

Schedule make_schedule(const std::string& name, const std::map<std::string, std::string>& kwargs, double learning_rate) {
  const ScheduleName* found = nullptr;
  std::string supported;
  for (const auto& n : schedule_names()) {
    if (n.name == name) found = &n;
    supported += std::string(supported.empty() ? "" : ", ") + n.name;
  }
  if (!found) {
    if (name == "reduce_lr_on_plateau")
      fail("lr_scheduler_type: reduce_lr_on_plateau follows an evaluation metric, which tinythink does not feed to "
           "the schedule (supported: {})",
           supported);
    fail("lr_scheduler_type: unsupported '{}' (supported: {})", name, supported);
  }
  Schedule s;
  s.kind = found->kind;
  s.lr_init = learning_rate;
  if (s.kind == ScheduleKind::CosineWithRestarts) s.num_cycles = 1.0;
  std::optional<double> min_lr, min_lr_rate;
  for (const auto& [key, text] : kwargs) {
    if (!found->passes_kwargs) {
      s.ignored_kwargs.push_back(key);
      continue;
    }
    if (std::find(found->kwargs.begin(), found->kwargs.end(), key) == found->kwargs.end())
      fail("lr_scheduler_kwargs.{}: not a parameter of {} (it takes {})", key, name,
           found->kwargs.empty() ? std::string("none") : fmt::format("{}", fmt::join(found->kwargs, ", ")));
    if (key == "num_cycles") s.num_cycles = kwarg_number(key, text);
    else if (key == "min_lr") min_lr = kwarg_number(key, text);
    else if (key == "min_lr_rate") min_lr_rate = kwarg_number(key, text);
    else if (key == "warmup_lr_rate") s.warmup_lr_rate = kwarg_number(key, text);
    else if (key == "lr_end") s.lr_end = kwarg_number(key, text);
    else if (key == "power") s.power = kwarg_number(key, text);
    else if (key == "num_decay_steps") s.num_decay_steps = kwarg_steps(key, text);
    else if (key == "num_stable_steps") s.num_stable_steps = kwarg_steps(key, text);
    else if (key == "warmup_type") s.warmup_type = kwarg_shape(key, text);
    else if (key == "decay_type") s.decay_type = kwarg_shape(key, text);
    else if (key == "min_lr_ratio") s.min_lr_ratio = kwarg_number(key, text);
  }
  if (s.kind == ScheduleKind::CosineWithMinLr || s.kind == ScheduleKind::CosineWarmupWithMinLr) {
    if (min_lr && min_lr_rate) fail("lr_scheduler_kwargs: give one of min_lr or min_lr_rate, not both (as transformers)");
    if (!min_lr && !min_lr_rate)
      fail("lr_scheduler_kwargs: {} needs min_lr or min_lr_rate (as transformers)", name);
    if (min_lr && learning_rate <= 0)
      fail("lr_scheduler_kwargs.min_lr: needs a positive learning_rate (it is min_lr / learning_rate)");
    s.min_lr_rate = min_lr ? *min_lr / learning_rate : *min_lr_rate;
  }
  if (s.kind == ScheduleKind::Polynomial && !(learning_rate > s.lr_end))
    fail("lr_scheduler_kwargs.lr_end: {} must be smaller than the learning rate ({}), as transformers requires",
         s.lr_end, learning_rate);
  if (s.kind == ScheduleKind::WarmupStableDecay && !kwargs.count("num_decay_steps"))
    fail("lr_scheduler_kwargs: warmup_stable_decay needs num_decay_steps (as transformers)");
  return s;
}

double schedule_factor(const Schedule& sc, int64_t step, int64_t warmup, int64_t total) {
  const double s = static_cast<double>(step), w = static_cast<double>(warmup), t = static_cast<double>(total);
  const double linear_warmup = s / static_cast<double>(std::max<int64_t>(1, warmup));
  const double progress = (s - w) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  switch (sc.kind) {
    case ScheduleKind::Constant:
      return 1.0;
    case ScheduleKind::ConstantWithWarmup:
      return step < warmup ? linear_warmup : 1.0;
    case ScheduleKind::Linear:
      return step < warmup ? linear_warmup : std::max(0.0, (t - s) / static_cast<double>(std::max<int64_t>(1, total - warmup)));
    case ScheduleKind::Cosine:
    case ScheduleKind::CosineWithMinLr: {
      if (step < warmup) return linear_warmup;
      const double factor = 0.5 * (1.0 + std::cos(std::numbers::pi * sc.num_cycles * 2.0 * progress));
      return std::max(0.0, factor * (1.0 - sc.min_lr_rate) + sc.min_lr_rate);
    }
    case ScheduleKind::CosineWithRestarts:
      if (step < warmup) return linear_warmup;
      if (progress >= 1.0) return 0.0;
      return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * std::fmod(sc.num_cycles * progress, 1.0))));
    case ScheduleKind::Polynomial: {
      if (step < warmup) return linear_warmup;
      if (step > total) return sc.lr_end / sc.lr_init;
      const double remaining = 1.0 - (s - w) / (t - w);
      return ((sc.lr_init - sc.lr_end) * std::pow(remaining, sc.power) + sc.lr_end) / sc.lr_init;
    }
    case ScheduleKind::InverseSqrt: {
      if (step < warmup) return linear_warmup;
      const double timescale = warmup > 0 ? w : 10000.0;
      return 1.0 / std::sqrt((s + timescale - w) / timescale);
    }
    case ScheduleKind::CosineWarmupWithMinLr: {
      if (step < warmup) {
        if (!sc.warmup_lr_rate) return (s + 1.0) / std::max(1.0, w);
        return *sc.warmup_lr_rate + (1.0 - *sc.warmup_lr_rate) * s / std::max(1.0, w - 1.0);
      }
      const double p = (s - w + 1.0) / std::max(1.0, t - w);
      const double factor = 0.5 * (1.0 + std::cos(std::numbers::pi * sc.num_cycles * 2.0 * p));
      return std::max(0.0, factor * (1.0 - sc.min_lr_rate) + sc.min_lr_rate);
    }
    case ScheduleKind::WarmupStableDecay: {
      const int64_t stable = sc.num_stable_steps ? *sc.num_stable_steps : total - warmup - sc.num_decay_steps;
      if (step < warmup)
        return std::max(0.0, wsd_curve(sc.warmup_type, linear_warmup, true, sc.num_cycles) * (1.0 - sc.min_lr_ratio) +
                                 sc.min_lr_ratio);
      if (step < warmup + stable) return 1.0;
      if (step < warmup + stable + sc.num_decay_steps) {
        const double p = (s - w - static_cast<double>(stable)) / static_cast<double>(std::max<int64_t>(1, sc.num_decay_steps));
        return std::max(0.0, wsd_curve(sc.decay_type, p, false, sc.num_cycles) * (1.0 - sc.min_lr_ratio) + sc.min_lr_ratio);
      }
      return sc.min_lr_ratio;
    }
  }
  return 1.0;
}

int64_t resolve_warmup_steps(double warmup_steps, double warmup_ratio, int64_t total_steps) {
  const double total = static_cast<double>(total_steps);
  if (warmup_steps >= 1) return static_cast<int64_t>(warmup_steps);
  if (warmup_steps > 0) return static_cast<int64_t>(std::ceil(warmup_steps * total));
  return static_cast<int64_t>(std::ceil(warmup_ratio * total));
}

}  // namespace tt
