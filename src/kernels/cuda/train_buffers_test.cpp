// The device training buffers in the model's own parameter layout: gradient norm, clipping and
// AdamW against the CPU optimizer, and a run that moves CPU -> GPU -> new GPU buffers midway
// (the buffer-level half of --resume across devices).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "kernels/cuda/check.h"
#include "kernels/cuda/cuda_test_util.h"
#include "kernels/cuda/train_buffers.h"
#include "model/config.h"
#include "model/params.h"
#include "train/optimizer.h"

namespace tt::cuda {
namespace {

using testing::random_vector;
using testing::relative_error;

std::vector<uint8_t> element_mask(const ParameterLayout& layout) {
  const std::vector<uint8_t> per_slot = weight_decay_mask(layout);
  std::vector<uint8_t> mask(layout.total);
  for (size_t s = 0; s < layout.slots.size(); ++s)
    std::fill_n(mask.begin() + layout.slots[s].offset, layout.slots[s].numel, per_slot[s]);
  return mask;
}

TEST(CudaTrainBuffers, OptimizerMatchesTheCpuAndResumesAcrossBuffers) {
  TT_REQUIRE_GPU();
  const ParameterLayout layout = make_parameter_layout(preset_config("tiny-llama4"));
  const int64_t n = layout.total;
  const std::vector<uint8_t> slot_mask = weight_decay_mask(layout);
  AdamWConfig config{.learning_rate = 2e-3, .beta1 = 0.9, .beta2 = 0.999, .epsilon = 1e-8, .weight_decay = 0.01};
  std::vector<float> params = random_vector(n, 51, 0.02f);
  AdamWState state;
  auto device = std::make_unique<DeviceTrainBuffers>(n, element_mask(layout), OptimizerSlice{0, n, n});
  device->upload_parameters(params.data());
  for (int step = 1; step <= 6; ++step) {
    if (step == 4) {  // move the run: download everything, continue in fresh buffers
      std::vector<float> p(n), m(n), v(n);
      device->download_parameters(p.data());
      device->download_moments(m.data(), v.data());
      const int64_t updates = device->updates();
      device = std::make_unique<DeviceTrainBuffers>(n, element_mask(layout), OptimizerSlice{0, n, n});
      device->upload_parameters(p.data());
      device->upload_moments(m.data(), v.data(), updates);
    }
    std::vector<float> grads = random_vector(n, 200 + step, step % 2 ? 0.5f : 0.001f);  // clipped, then not
    device->upload_gradients(grads.data());
    const double lr = config.learning_rate / step;
    const double norm_ref = clip_grad_norm(grads, 1.0);
    adamw_step(params, grads, state, config, lr, slot_mask, layout);
    const double norm = device->optimizer_step({.lr = lr, .beta1 = config.beta1, .beta2 = config.beta2,
                                                .epsilon = config.epsilon, .weight_decay = config.weight_decay,
                                                .max_grad_norm = 1.0},
                                               nullptr);
    EXPECT_NEAR(norm, norm_ref, 1e-5 * norm_ref) << "step " << step;
    std::vector<float> got(n);
    device->download_parameters(got.data());
    EXPECT_LT(relative_error(got, params), testing::kFp32Tolerance) << "step " << step;
  }
  EXPECT_EQ(device->updates(), state.step);
}

// ZeRO-1's slice (train/train_step.h) on one GPU, each rank's buffers in turn: the slice's sum of
// squares, the ranks' sums added (what the all-reduce does) and written back, then the clip and AdamW
// on the slice only. Inside its slice each rank's parameters and moments follow the CPU update of the
// whole buffer; outside it nothing changes (the all-gather's job); the padding stays zero.
TEST(CudaTrainBuffers, ZeroStageOneSlicesUpdateOnlyTheirPartAsTheCpu) {
  TT_REQUIRE_GPU();
  const ParameterLayout layout = make_parameter_layout(preset_config("tiny-llama4"));
  const int64_t n = layout.total;
  const int64_t chunk = (norm_blocks(n) + 1) / 2 * kNormBlock;  // train_step.cpp's optimizer_slices, 2 ranks
  const OptimizerSlice slices[2] = {{0, std::min(n, chunk), 2 * chunk}, {std::min(n, chunk), n, 2 * chunk}};
  ASSERT_GT(slices[1].size(), 0);
  const AdamWConfig config{.learning_rate = 2e-3, .weight_decay = 0.01};
  const std::vector<float> start = random_vector(n, 61, 0.02f);
  std::vector<float> params = start;
  AdamWState state;
  std::unique_ptr<DeviceTrainBuffers> ranks[2];
  for (int r = 0; r < 2; ++r) {
    ranks[r] = std::make_unique<DeviceTrainBuffers>(n, element_mask(layout), slices[r]);
    ranks[r]->upload_parameters(start.data());
  }
  for (int step = 1; step <= 2; ++step) {
    const std::vector<float> grads = random_vector(n, 300 + step, 0.5f);  // clipped
    std::vector<float> clipped = grads;
    const double norm_ref = clip_grad_norm(clipped, 1.0);
    adamw_step(params, clipped, state, config, config.learning_rate, weight_decay_mask(layout), layout);
    float sums[2];
    for (int r = 0; r < 2; ++r) {
      ranks[r]->upload_gradients(grads.data());
      TT_CUDA_CHECK(cudaMemcpy(&sums[r], ranks[r]->slice_sum_of_squares(nullptr), sizeof(float), cudaMemcpyDeviceToHost));
    }
    const float global = sums[0] + sums[1];
    for (int r = 0; r < 2; ++r) {
      SCOPED_TRACE(::testing::Message() << "rank " << r << ", step " << step);
      TT_CUDA_CHECK(cudaMemcpy(ranks[r]->slice_sum_of_squares(nullptr), &global, sizeof(float), cudaMemcpyHostToDevice));
      const double norm = ranks[r]->slice_optimizer_step(
          {.lr = config.learning_rate, .beta1 = config.beta1, .beta2 = config.beta2, .epsilon = config.epsilon,
           .weight_decay = config.weight_decay, .max_grad_norm = 1.0},
          nullptr);
      EXPECT_NEAR(norm, norm_ref, 1e-5 * norm_ref);
      std::vector<float> got(slices[r].padded_total);
      TT_CUDA_CHECK(cudaDeviceSynchronize());
      TT_CUDA_CHECK(cudaMemcpy(got.data(), ranks[r]->params, sizeof(float) * got.size(), cudaMemcpyDeviceToHost));
      const OptimizerSlice& mine = slices[r];
      const std::vector<float> inside(got.begin() + mine.begin, got.begin() + mine.end),
          inside_ref(params.begin() + mine.begin, params.begin() + mine.end);
      EXPECT_LT(relative_error(inside, inside_ref), testing::kFp32Tolerance) << "the slice's parameters";
      for (int64_t i = 0; i < n; ++i)
        if (i < mine.begin || i >= mine.end) ASSERT_EQ(got[i], start[i]) << "parameter " << i << " outside the slice";
      for (int64_t i = n; i < mine.padded_total; ++i) ASSERT_EQ(got[i], 0.0f) << "padding " << i;
      std::vector<float> m(mine.size()), v(mine.size());
      ranks[r]->download_moments(m.data(), v.data());
      EXPECT_LT(relative_error(m, std::vector<float>(state.m.begin() + mine.begin, state.m.begin() + mine.end)),
                testing::kFp32Tolerance) << "the slice's first moment";
      EXPECT_EQ(ranks[r]->updates(), step);
    }
  }
}

}  // namespace
}  // namespace tt::cuda
