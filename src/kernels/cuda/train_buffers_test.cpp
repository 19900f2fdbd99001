// The device training buffers in the model's own parameter layout: gradient norm, clipping and
// AdamW against the CPU optimizer, and a run that moves CPU -> GPU -> new GPU buffers midway
// (the buffer-level half of --resume across devices).
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace tt::cuda
