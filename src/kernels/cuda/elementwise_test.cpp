// CUDA elementwise kernels against the CPU ones on fresh random inputs (outputs poisoned first).
#include <gtest/gtest.h>

#include "core/bf16.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/swiglu.h"
#include "kernels/cuda/cuda_test_util.h"
#include "kernels/cuda/ops.h"
#include "model/params.h"
#include "train/optimizer.h"

namespace tt::cuda {
namespace {

using testing::DeviceBuffer;
using testing::kFp32Tolerance;
using testing::random_vector;
using testing::relative_error;

TEST(CudaKernels, EmbeddingGatherAndScatterAdd) {
  TT_REQUIRE_GPU();
  const int64_t vocab = 97, dim = 64, n = 300;
  std::vector<float> table = random_vector(vocab * dim, 1), dout = random_vector(n * dim, 2);
  std::vector<int32_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((i * 37 + i / 5) % vocab);  // repeats on purpose
  std::vector<float> out_ref(n * dim), dtable_ref(vocab * dim, 0.5f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < dim; ++d) {
      out_ref[i * dim + d] = table[ids[i] * dim + d];
      dtable_ref[ids[i] * dim + d] += dout[i * dim + d];
    }
  DeviceBuffer<float> d_table(table), d_out(n * dim), d_dout(dout), d_dtable(std::vector<float>(vocab * dim, 0.5f));
  DeviceBuffer<int32_t> d_ids(ids);
  embedding_forward(d_out.get(), d_table.get(), d_ids.get(), n, dim, nullptr);
  embedding_backward(d_dtable.get(), d_dout.get(), d_ids.get(), n, dim, nullptr);
  EXPECT_LT(relative_error(d_out.download(), out_ref), kFp32Tolerance);
  EXPECT_LT(relative_error(d_dtable.download(), dtable_ref), kFp32Tolerance);
}

void check_rmsnorm(bool with_weight) {
  const int64_t rows = 133, dim = 576;
  const float eps = 1e-5f;
  std::vector<float> x = random_vector(rows * dim, 3), w = random_vector(dim, 4), dy = random_vector(rows * dim, 5);
  std::vector<float> y_ref(rows * dim), rstd_ref(rows), dx_ref(rows * dim), dw_ref(dim, 0.25f);
  const float* weight = with_weight ? w.data() : nullptr;
  tt::rmsnorm_forward(y_ref.data(), rstd_ref.data(), x.data(), weight, rows, dim, eps);
  tt::rmsnorm_backward(dx_ref.data(), with_weight ? dw_ref.data() : nullptr, dy.data(), x.data(), weight,
                       rstd_ref.data(), rows, dim);
  DeviceBuffer<float> d_x(x), d_w(w), d_dy(dy), d_y(rows * dim), d_rstd(rows), d_dx(rows * dim),
      d_dw(std::vector<float>(dim, 0.25f));
  float* dweight = with_weight ? d_w.get() : nullptr;
  rmsnorm_forward(d_y.get(), d_rstd.get(), d_x.get(), dweight, rows, dim, eps, nullptr);
  rmsnorm_backward(d_dx.get(), with_weight ? d_dw.get() : nullptr, d_dy.get(), d_x.get(), dweight, d_rstd.get(), rows,
                   dim, nullptr);
  EXPECT_LT(relative_error(d_y.download(), y_ref), kFp32Tolerance);
  EXPECT_LT(relative_error(d_rstd.download(), rstd_ref), kFp32Tolerance);
  EXPECT_LT(relative_error(d_dx.download(), dx_ref), kFp32Tolerance);
  if (with_weight) {
    EXPECT_LT(relative_error(d_dw.download(), dw_ref), kFp32Tolerance);
  }
}

TEST(CudaKernels, RmsNormForwardBackward) {
  TT_REQUIRE_GPU();
  check_rmsnorm(true);
}

TEST(CudaKernels, QkL2NormForwardBackward) {
  TT_REQUIRE_GPU();
  check_rmsnorm(false);
  // And the backward from the output, as attention uses it.
  const int64_t rows = 77, dim = 64;
  std::vector<float> x = random_vector(rows * dim, 6), dy = random_vector(rows * dim, 7);
  std::vector<float> y(rows * dim), rstd(rows), dx_ref(rows * dim);
  tt::rmsnorm_forward(y.data(), rstd.data(), x.data(), nullptr, rows, dim, 1e-6f);
  tt::l2norm_backward_from_output(dx_ref.data(), dy.data(), y.data(), rstd.data(), rows, dim);
  DeviceBuffer<float> d_y(y), d_rstd(rstd), d_dy(dy), d_dx(rows * dim);
  l2norm_backward_from_output(d_dx.get(), d_dy.get(), d_y.get(), d_rstd.get(), rows, dim, nullptr);
  EXPECT_LT(relative_error(d_dx.download(), dx_ref), kFp32Tolerance);
}

void check_rope(RopeStyle style) {
  RopeParams params;
  params.style = style;
  params.head_dim = 64;
  params.theta = 500000.0;
  const int64_t tokens = 50, heads = 3, max_positions = 128;
  RopeTable table = make_rope_table(params, max_positions);
  std::vector<int32_t> positions(tokens);
  for (int64_t t = 0; t < tokens; ++t) positions[t] = static_cast<int32_t>((t * 7) % max_positions);
  std::vector<float> x = random_vector(tokens * heads * 64, 8), dx = random_vector(tokens * heads * 64, 9);
  std::vector<float> x_ref = x, dx_ref = dx;
  tt::rope_forward(x_ref.data(), positions.data(), tokens, heads, table);
  tt::rope_backward(dx_ref.data(), positions.data(), tokens, heads, table);
  DeviceBuffer<float> d_x(x), d_dx(dx), d_cos(table.cos), d_sin(table.sin);
  DeviceBuffer<int32_t> d_pos(positions);
  DeviceRopeTable device_table{style, table.head_dim, table.max_positions, d_cos.get(), d_sin.get()};
  rope_forward(d_x.get(), d_pos.get(), tokens, heads, device_table, nullptr);
  rope_backward(d_dx.get(), d_pos.get(), tokens, heads, device_table, nullptr);
  EXPECT_LT(relative_error(d_x.download(), x_ref), kFp32Tolerance);
  EXPECT_LT(relative_error(d_dx.download(), dx_ref), kFp32Tolerance);
}

TEST(CudaKernels, RopeInterleaved) {
  TT_REQUIRE_GPU();
  check_rope(RopeStyle::Interleaved);
}

TEST(CudaKernels, RopeRotateHalf) {
  TT_REQUIRE_GPU();
  check_rope(RopeStyle::RotateHalf);
}

TEST(CudaKernels, SwiGluForwardBackward) {
  TT_REQUIRE_GPU();
  const int64_t count = 10007;
  std::vector<float> gate = random_vector(count, 10, 3.0f), up = random_vector(count, 11), dout = random_vector(count, 12);
  std::vector<float> out_ref(count), dgate_ref(count), dup_ref(count);
  tt::swiglu_forward(out_ref.data(), gate.data(), up.data(), count);
  tt::swiglu_backward(dgate_ref.data(), dup_ref.data(), dout.data(), gate.data(), up.data(), count);
  DeviceBuffer<float> d_gate(gate), d_up(up), d_dout(dout), d_out(count), d_dgate(count), d_dup(count);
  swiglu_forward(d_out.get(), d_gate.get(), d_up.get(), count, nullptr);
  swiglu_backward(d_dgate.get(), d_dup.get(), d_dout.get(), d_gate.get(), d_up.get(), count, nullptr);
  EXPECT_LT(relative_error(d_out.download(), out_ref), kFp32Tolerance);
  EXPECT_LT(relative_error(d_dgate.download(), dgate_ref), kFp32Tolerance);
  EXPECT_LT(relative_error(d_dup.download(), dup_ref), kFp32Tolerance);
}

// Two tensors, one decayed and one a norm weight, through the CPU optimizer and the fused kernel
// (gradient norm on the device, clipping inside the update), for three steps.
TEST(CudaKernels, GradNormClipAndAdamW) {
  TT_REQUIRE_GPU();
  ParameterLayout layout;
  layout.slots = {{"w", {300, 17}, 0, 300 * 17, false}, {"norm", {129}, 300 * 17, 129, true}};
  layout.total = 300 * 17 + 129;
  const int64_t n = layout.total;
  const std::vector<uint8_t> slot_mask = weight_decay_mask(layout);
  std::vector<uint8_t> element_mask(n);
  for (size_t s = 0; s < layout.slots.size(); ++s)
    for (int64_t i = 0; i < layout.slots[s].numel; ++i) element_mask[layout.slots[s].offset + i] = slot_mask[s];
  AdamWConfig config{.learning_rate = 1e-3, .beta1 = 0.9, .beta2 = 0.95, .epsilon = 1e-8, .weight_decay = 0.1};
  std::vector<float> params = random_vector(n, 13);
  AdamWState state;
  DeviceBuffer<float> d_params(params), d_m(std::vector<float>(n, 0.0f)), d_v(std::vector<float>(n, 0.0f)), d_grads(n),
      d_sum_sq(1);
  DeviceBuffer<uint8_t> d_mask(element_mask);
  DeviceBuffer<uint16_t> d_bf16(n);
  for (int step = 1; step <= 3; ++step) {
    std::vector<float> grads = random_vector(n, 100 + step, 0.1f);
    d_grads.upload(grads);
    const double max_norm = 1.0, lr = config.learning_rate * step;
    const double norm_ref = clip_grad_norm(grads, max_norm);
    adamw_step(params, grads, state, config, lr, slot_mask, layout);
    grad_norm_squared(d_sum_sq.get(), d_grads.get(), n, nullptr);
    AdamWStep update{.lr = lr, .beta1 = config.beta1, .beta2 = config.beta2, .epsilon = config.epsilon,
                     .weight_decay = config.weight_decay, .step = step, .max_grad_norm = max_norm,
                     .grad_sum_sq = d_sum_sq.get()};
    adamw_update(d_params.get(), d_m.get(), d_v.get(), d_grads.get(), d_mask.get(), d_bf16.get(), n, update, nullptr);
    EXPECT_NEAR(std::sqrt(d_sum_sq.download()[0]), norm_ref, 1e-5 * norm_ref);
    EXPECT_LT(relative_error(d_params.download(), params), kFp32Tolerance) << "step " << step;
    EXPECT_LT(relative_error(d_m.download(), state.m), kFp32Tolerance) << "step " << step;
    EXPECT_LT(relative_error(d_v.download(), state.v), kFp32Tolerance) << "step " << step;
  }
  std::vector<uint16_t> copy = d_bf16.download();
  std::vector<float> copy_values(n), rounded(n);
  for (int64_t i = 0; i < n; ++i) copy_values[i] = bf16_to_f32(copy[i]), rounded[i] = bf16_to_f32(f32_to_bf16(params[i]));
  EXPECT_LT(relative_error(copy_values, rounded), 1e-3);
}

}  // namespace
}  // namespace tt::cuda
