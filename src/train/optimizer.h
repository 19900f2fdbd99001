// AdamW with HF Trainer / torch.optim.AdamW semantics over whole parameter buffers and the global
// gradient-norm clip (the learning-rate schedules: train/lr_schedule.h).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/cpu/adamw.h"
#include "model/params.h"

namespace tt {

struct AdamWConfig {
  double learning_rate = 5e-5;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double weight_decay = 0.0;
};

// Optimizer state: one buffer per moment, the layout of the parameters (under ZeRO-1, of this rank's
// ParamRange only); step = updates applied.
struct AdamWState {
  std::vector<float> m, v;
  int64_t step = 0;
};

// Which parameters get weight decay: HF Trainer exempts biases and norm weights.
std::vector<uint8_t> weight_decay_mask(const ParameterLayout& layout);

// The elements [begin, end) of the parameter buffer: the part of the update one rank makes under
// ZeRO-1 (train/train_step.h), or all of it.
struct ParamRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

// One update at learning rate lr (the schedule's value for this step), per torch.optim.AdamW (the
// plain reference; a training step runs adamw_fused_step, which gives the same bits):
//   p -= lr * wd * p  (decoupled, only where decay_mask) ; m = b1 m + (1-b1) g ; v = b2 v + (1-b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)
void adamw_step(std::vector<float>& params, const std::vector<float>& grads, AdamWState& state,
                const AdamWConfig& config, double lr, const std::vector<uint8_t>& decay_mask,
                const ParameterLayout& layout);
// The same update of the parameters in `range` only: `params` and `grads` point at element
// range.begin, the state's moments cover the range. Each element gets the bits the whole update gives it.
void adamw_step(float* params, const float* grads, AdamWState& state, const AdamWConfig& config, double lr,
                const std::vector<uint8_t>& decay_mask, const ParameterLayout& layout, ParamRange range);

// The squared L2 norm of gradients, in blocks of kNormBlock elements at fixed offsets of the buffer:
// each block is summed in double in one fixed order (eight lanes, then a fixed tree), and the blocks'
// sums are added in block order. The result depends neither on the thread count nor on how the
// buffer is split into block-aligned slices, which is what lets ZeRO-1 ranks (each holding a slice)
// compute the bits of the one-buffer norm.
constexpr int64_t kNormBlock = 2048;
int64_t norm_blocks(int64_t elements);  // ceil(elements / kNormBlock)
// The sums of squares of the blocks of `data` (`elements` floats starting at a block boundary) into
// `block_sums` (norm_blocks(elements) of them).
void squared_norm_blocks(const float* data, int64_t elements, double* block_sums);
double sum_in_order(const std::vector<double>& values);

// The global L2 norm of the gradients (squared_norm_blocks, then the square root); scales them by
// max_norm / (norm + 1e-6) when the norm exceeds max_norm (torch.nn.utils.clip_grad_norm_). Returns
// the pre-clip norm.
double clip_grad_norm(std::vector<float>& grads, double max_norm);
// The scaling of clip_grad_norm for a known norm, over `elements` gradients.
void clip_to_norm(float* grads, int64_t elements, double norm, double max_norm);

// The parts of clip_grad_norm: the global L2 norm (the block sums above), and the factor the
// gradients are multiplied by (1 when max_norm <= 0 or the norm is within it).
double gradient_norm(const std::vector<float>& grads);
float clip_coefficient(double norm, double max_norm);

// clip_grad_norm's scaling by grad_scale, adamw_step, zeroing the gradients and, when bf16_copy is
// non-null, refresh_bf16_copy in one pass (kernels/cpu/adamw.h); bit-identical to those in sequence.
void adamw_fused_step(std::vector<float>& params, std::vector<float>& grads, AdamWState& state,
                      const AdamWConfig& config, double lr, const std::vector<uint8_t>& decay_mask,
                      const ParameterLayout& layout, float grad_scale, std::vector<float>* bf16_copy);
// The same pass over the parameters in `range` only (ZeRO-1's slice): `params`, `grads` and
// `bf16_copy` (nullable) point at element range.begin, the state's moments cover the range; each
// element gets the bits of the whole pass.
void adamw_fused_step(float* params, float* grads, AdamWState& state, const AdamWConfig& config, double lr,
                      const std::vector<uint8_t>& decay_mask, const ParameterLayout& layout, ParamRange range,
                      float grad_scale, float* bf16_copy);

}  // namespace tt
