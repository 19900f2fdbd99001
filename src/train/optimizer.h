// AdamW with HF Trainer / torch.optim.AdamW semantics over whole parameter buffers, the global
// gradient-norm clip, and the learning-rate schedules of transformers.get_scheduler.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cpu/adamw.h"
#include "model/params.h"

namespace tt {

struct AdamWConfig {
  double learning_rate = 5e-5;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double weight_decay = 0.0;
};

// Optimizer state: one buffer per moment, the layout of the parameters; step = updates applied.
struct AdamWState {
  std::vector<float> m, v;
  int64_t step = 0;
};

// Which parameters get weight decay: HF Trainer exempts biases and norm weights.
std::vector<uint8_t> weight_decay_mask(const ParameterLayout& layout);

// One update at learning rate lr (the schedule's value for this step), per torch.optim.AdamW (the
// plain reference; a training step runs adamw_fused_step, which gives the same bits):
//   p -= lr * wd * p  (decoupled, only where decay_mask) ; m = b1 m + (1-b1) g ; v = b2 v + (1-b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)
void adamw_step(std::vector<float>& params, const std::vector<float>& grads, AdamWState& state,
                const AdamWConfig& config, double lr, const std::vector<uint8_t>& decay_mask,
                const ParameterLayout& layout);

// The global L2 norm of the gradients (computed in double); scales them by max_norm / (norm + 1e-6)
// when the norm exceeds max_norm (torch.nn.utils.clip_grad_norm_). Returns the pre-clip norm.
double clip_grad_norm(std::vector<float>& grads, double max_norm);

// The parts of clip_grad_norm: the global L2 norm (in double, the same sum), and the factor the
// gradients are multiplied by (1 when max_norm <= 0 or the norm is within it).
double gradient_norm(const std::vector<float>& grads);
float clip_coefficient(double norm, double max_norm);

// clip_grad_norm's scaling by grad_scale, adamw_step, zeroing the gradients and, when bf16_copy is
// non-null, refresh_bf16_copy in one pass (kernels/cpu/adamw.h); bit-identical to those in sequence.
void adamw_fused_step(std::vector<float>& params, std::vector<float>& grads, AdamWState& state,
                      const AdamWConfig& config, double lr, const std::vector<uint8_t>& decay_mask,
                      const ParameterLayout& layout, float grad_scale, std::vector<float>* bf16_copy);

enum class ScheduleKind { Constant, ConstantWithWarmup, Linear, Cosine };
ScheduleKind parse_schedule(const std::string& name);  // HF names: constant, constant_with_warmup, linear, cosine

// The multiplier of the base learning rate at optimizer step `step` (0-based), as HF's lambdas.
double schedule_factor(ScheduleKind kind, int64_t step, int64_t warmup_steps, int64_t total_steps);

// HF: warmup_steps if > 0, else ceil(warmup_ratio * total_steps).
int64_t resolve_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps);

}  // namespace tt
