#include "train/optimizer.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <gtest/gtest.h>

#include "model/transformer.h"
#include "tests/gradcheck.h"
#include "tests/isa_paths.h"

namespace tt {
namespace {

// Slots of odd sizes (vector tails, several parallel chunks), one exempt from weight decay.
ParameterLayout odd_layout() {
  ParameterLayout layout;
  for (int64_t numel : {int64_t{5}, int64_t{3 * 16384 + 77}, int64_t{40000}, int64_t{1}}) {
    TensorSlot slot;
    slot.name = fmt::format("w{}", layout.slots.size());
    slot.numel = numel;
    slot.offset = layout.total;
    slot.is_norm = layout.slots.size() == 2;
    layout.total += numel;
    layout.slots.push_back(slot);
  }
  return layout;
}

void expect_same_bits(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0)
        << what << "[" << i << "]: " << got[i] << " vs " << want[i];
}

// The optimizer tail as a training step ran it before the fused pass: clip, AdamW, bf16 refresh, zero.
double reference_tail(std::vector<float>& params, std::vector<float>& grads, AdamWState& state,
                      const AdamWConfig& config, double lr, const std::vector<uint8_t>& mask,
                      const ParameterLayout& layout, double max_norm, std::vector<float>& bf16_copy) {
  const double norm = clip_grad_norm(grads, max_norm);
  adamw_step(params, grads, state, config, lr, mask, layout);
  refresh_bf16_copy(params, bf16_copy);
  std::fill(grads.begin(), grads.end(), 0.0f);
  return norm;
}

// Three steps of the fused pass against the separate passes, bit for bit, on every path this CPU
// runs: clipping on (the norm is far above 1) and off, weight decay on and off, extreme gradients.
TEST(AdamWFused, GivesTheBitsOfClipAdamWZeroAndBf16Refresh) {
  const ParameterLayout layout = odd_layout();
  const std::vector<uint8_t> mask = weight_decay_mask(layout);
  const AdamWConfig config{.learning_rate = 1e-3, .weight_decay = 0.1};
  for (double max_norm : {1.0, 0.0}) {
    testing::on_every_isa([&](Isa) {
      SCOPED_TRACE(fmt::format("max_grad_norm {}", max_norm));
      std::vector<float> params = testing::random_vector(layout.total, 1), bf16_copy;
      std::vector<float> params_ref = params, bf16_ref;
      AdamWState state, state_ref;
      for (int step = 0; step < 3; ++step) {
        std::vector<float> grads = testing::random_vector(layout.total, 10 + step, 0.05f);
        grads[3] = 1e30f, grads[7] = -1e-30f, grads[8] = 0.0f, grads[9] = -0.0f;
        std::vector<float> grads_ref = grads;
        const double lr = 1e-3 * (step + 1);
        const double norm = gradient_norm(grads);
        adamw_fused_step(params, grads, state, config, lr, mask, layout, clip_coefficient(norm, max_norm), &bf16_copy);
        const double norm_ref =
            reference_tail(params_ref, grads_ref, state_ref, config, lr, mask, layout, max_norm, bf16_ref);
        EXPECT_EQ(norm, norm_ref);
        expect_same_bits(params, params_ref, "params");
        expect_same_bits(state.m, state_ref.m, "m");
        expect_same_bits(state.v, state_ref.v, "v");
        expect_same_bits(bf16_copy, bf16_ref, "bf16 copy");
        expect_same_bits(grads, grads_ref, "gradients (zeroed)");
        EXPECT_EQ(state.step, state_ref.step);
      }
    });
  }
}

// The bf16 copy's rounding in the vector pass: ties to even, carries into the exponent, inf and NaN.
TEST(AdamWFused, Bf16CopyRoundsAsRoundToBf16) {
  ParameterLayout layout;
  const std::vector<float> special = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256, 1.00390625f, 3.4e38f, -3.4e38f,
                                      std::numeric_limits<float>::infinity(),
                                      std::numeric_limits<float>::quiet_NaN(), 1e-40f, -0.0f};
  layout.slots.push_back({.name = "w", .offset = 0, .numel = static_cast<int64_t>(special.size())});
  layout.total = static_cast<int64_t>(special.size());
  const std::vector<uint8_t> mask = weight_decay_mask(layout);
  testing::on_every_isa([&](Isa) {
    std::vector<float> params = special, grads(special.size(), 0.0f), copy, want;
    AdamWState state;
    // lr 0 and no decay: the parameters stay as they are, so the copy is their rounding
    adamw_fused_step(params, grads, state, AdamWConfig{}, 0.0, mask, layout, 1.0f, &copy);
    refresh_bf16_copy(special, want);
    expect_same_bits(copy, want, "bf16 copy");
  });
}

TEST(AdamWFused, ClipCoefficientIsOneWithinTheLimitOrWithoutOne) {
  EXPECT_EQ(clip_coefficient(0.5, 1.0), 1.0f);
  EXPECT_EQ(clip_coefficient(5.0, 0.0), 1.0f);
  EXPECT_EQ(clip_coefficient(4.0, 2.0), static_cast<float>(2.0 / (4.0 + 1e-6)));
}

}  // namespace
}  // namespace tt
