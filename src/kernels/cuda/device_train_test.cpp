// The training forward/backward on the GPU (model/device_transformer.h) against the CPU fp32 path
// (model_loss = model_forward + classifier + model_backward): the loss and every parameter gradient of
// tiny random llama4_text (QK norm, interleaved RoPE) and llama (rotate-half RoPE with llama3 scaling,
// tied and untied embeddings) models, on packed rows with per-document boundaries and assistant-only
// token weights, NLL and DFT, in fp32 mode and bf16 GEMM mode. On failure every tensor's error is
// printed (the output tail is all a GPU run shows).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "kernels/cuda/cuda_test_util.h"
#include "kernels/train_device.h"
#include "model/device_transformer.h"
#include "tests/device_train_fixtures.h"

extern "C" tt::TrainDevice* tt_cuda_train_device(int index, int abi, char* error, size_t error_size);

namespace tt {
namespace {

using cuda::testing::relative_error;
using testing::compare_gradients;
using testing::cpu_loss_pass;
using testing::device_loss_pass;
using testing::LossPass;
using testing::mean_token_weights;
using testing::packed_assistant_batch;
using testing::tiny_train_model;

std::unique_ptr<TrainDevice> open_device() {
  char error[512] = {};
  TrainDevice* d = tt_cuda_train_device(0, kTtTrainDeviceAbi, error, sizeof(error));
  if (!d) throw std::runtime_error(error);
  return std::unique_ptr<TrainDevice>(d);
}

// Loss, log-probs and every gradient tensor within `grad_tol`; prints a table of all errors on failure.
void expect_parity(const std::string& what, Model& model, const LossPass& cpu, const LossPass& gpu, double loss_tol,
                   double grad_tol) {
  std::ostringstream table;
  bool ok = true;
  const double loss_err = std::fabs(gpu.loss.loss_sum - cpu.loss.loss_sum) / std::fabs(cpu.loss.loss_sum);
  table << "  loss cpu " << cpu.loss.loss_sum << " gpu " << gpu.loss.loss_sum << " rel " << loss_err << "\n";
  if (!(loss_err <= loss_tol)) ok = false;
  if (gpu.loss.tokens != cpu.loss.tokens)
    ok = false, table << "  scored tokens cpu " << cpu.loss.tokens << " gpu " << gpu.loss.tokens << "\n";
  const double lp_err = relative_error(gpu.logprobs, cpu.logprobs);
  table << "  token log-probs rel " << lp_err << "\n";
  if (!(lp_err <= loss_tol)) ok = false;
  const testing::GradientComparison grads = compare_gradients(model.layout, gpu.grads, cpu.grads, grad_tol);
  ok = ok && grads.ok;
  table << grads.table;
  const double worst = grads.worst;
  std::printf("[device training parity] %s: loss rel %.3g, worst gradient rel %.3g\n", what.c_str(), loss_err, worst);
  EXPECT_TRUE(ok) << what << ": GPU vs CPU beyond loss " << loss_tol << " / gradient " << grad_tol << "\n"
                  << table.str();
}

struct Case {
  std::string preset;
  bool tied;
};

class DeviceTrainParity : public ::testing::TestWithParam<Case> {};

// fp32 mode: the two sides differ only in the order of fp32 reductions (cuBLASLt vs oneDNN, the
// attention and norm kernels). The loss and log-probs stay within 1e-5; gradients are held to 1e-4
// per tensor, the bound tests/model_parity_test.cpp sets for the CPU against torch in fp32 for the same
// reason (sums over all tokens of products that cancel); the printed line shows the actual margin.
TEST_P(DeviceTrainParity, Fp32LossAndEveryGradient) {
  TT_REQUIRE_GPU();
  auto device = open_device();
  Model model = tiny_train_model(GetParam().preset, GetParam().tied);
  const Batch batch = packed_assistant_batch(3);
  for (TokenLoss kind : {TokenLoss::NLL, TokenLoss::DFT}) {
    const std::string what = GetParam().preset + (GetParam().tied ? "" : " untied") + " fp32 " +
                             (kind == TokenLoss::NLL ? "NLL" : "DFT");
    expect_parity(what, model, cpu_loss_pass(model, batch, {.precision = Precision::FP32}, kind),
                  device_loss_pass(model, *device, batch, {.precision = Precision::FP32}, kind), 1e-5, 1e-4);
  }
}

// bf16 mode: both sides round every GEMM operand to bf16 (weights once, from the fp32 master);
// an activation that differs in its last fp32 bit may round to the neighbouring bf16 value.
TEST_P(DeviceTrainParity, Bf16LossAndEveryGradient) {
  TT_REQUIRE_GPU();
  auto device = open_device();
  Model model = tiny_train_model(GetParam().preset, GetParam().tied);
  const Batch batch = packed_assistant_batch(5);
  for (TokenLoss kind : {TokenLoss::NLL, TokenLoss::DFT}) {
    const std::string what = GetParam().preset + (GetParam().tied ? "" : " untied") + " bf16 " +
                             (kind == TokenLoss::NLL ? "NLL" : "DFT");
    expect_parity(what, model, cpu_loss_pass(model, batch, {.precision = Precision::BF16}, kind),
                  device_loss_pass(model, *device, batch, {.precision = Precision::BF16}, kind), 1e-2, 1e-2);
  }
}

// Two backward passes accumulate: the gradients are twice one pass's, and a forward-only call leaves
// them alone (gradient accumulation over micro-batches).
TEST_P(DeviceTrainParity, GradientsAccumulateAcrossCalls) {
  TT_REQUIRE_GPU();
  auto device = open_device();
  Model model = tiny_train_model(GetParam().preset, GetParam().tied);
  const Batch batch = packed_assistant_batch(7);
  LossPass once = cpu_loss_pass(model, batch, {}, TokenLoss::NLL);
  DeviceTrainingModel gpu(model.config, *device, Precision::FP32, model.params,
                          std::vector<uint8_t>(model.params.size(), 1));
  const std::vector<float> w = mean_token_weights(batch);
  gpu.loss(batch, {}, w.data(), TokenLoss::NLL, true);
  const LossResult forward_only = gpu.loss(batch, {}, w.data(), TokenLoss::NLL, false);
  // Without a backward pass the token weights are not applied (as on the CPU): the loss is the plain
  // sum of the scored tokens' negative log-probabilities.
  double unweighted = 0.0;
  for (size_t t = 0; t < batch.targets.size(); ++t)
    if (batch.targets[t] >= 0) unweighted -= once.logprobs[t];
  EXPECT_NEAR(forward_only.loss_sum, unweighted, 1e-5 * unweighted) << "forward-only loss";
  EXPECT_EQ(forward_only.tokens, once.loss.tokens);
  gpu.loss(batch, {}, w.data(), TokenLoss::NLL, true);
  LossPass twice;
  gpu.download_gradients(twice.grads);
  for (float& g : once.grads) g *= 2.0f;
  const testing::GradientComparison accumulated = compare_gradients(model.layout, twice.grads, once.grads, 1e-4);
  EXPECT_TRUE(accumulated.ok) << "two backward passes vs twice the CPU gradients:\n" << accumulated.table;
  gpu.zero_gradients();
  gpu.download_gradients(twice.grads);
  for (float g : twice.grads) ASSERT_EQ(g, 0.0f) << "zero_gradients left a non-zero gradient";
}

INSTANTIATE_TEST_SUITE_P(Models, DeviceTrainParity,
                         ::testing::Values(Case{"tiny-llama4", true}, Case{"tiny-llama", true},
                                           Case{"tiny-llama", false}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.preset + (info.param.tied ? "" : "_untied");
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace tt
