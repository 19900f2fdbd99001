// The device training context (model/device_transformer.h) on a host double of the device
// (tests/host_train_device.h: host memory, the CPU kernels): the same kernels in the order the device
// runs them must give model_loss's loss, log-probs and every gradient. This checks the context's
// buffers, its backward order, the bf16 weight offsets and accumulation without a GPU; the GPU's own
// numbers are checked by src/kernels/cuda/device_train_test.cpp.
#include "model/device_transformer.h"

#include <gtest/gtest.h>

#include "tests/device_train_fixtures.h"
#include "tests/host_train_device.h"

namespace tt {
namespace {

using testing::compare_gradients;
using testing::cpu_loss_pass;
using testing::device_loss_pass;
using testing::LossPass;
using testing::mean_token_weights;
using testing::packed_assistant_batch;
using testing::slice_relative_error;
using testing::tiny_train_model;

struct Case {
  std::string preset;
  bool tied;
};

class DeviceTransformerOnHost : public ::testing::TestWithParam<Case> {};

void expect_same(Model& model, const LossPass& ref, const LossPass& dev, const std::string& what) {
  EXPECT_NEAR(dev.loss.loss_sum, ref.loss.loss_sum, 1e-6 * std::fabs(ref.loss.loss_sum)) << what << ": loss";
  EXPECT_EQ(dev.loss.tokens, ref.loss.tokens) << what;
  EXPECT_EQ(dev.loss.correct, ref.loss.correct) << what;
  EXPECT_LE(slice_relative_error(dev.logprobs, ref.logprobs, 0, static_cast<int64_t>(ref.logprobs.size())), 1e-6)
      << what << ": token log-probs";
  const auto grads = compare_gradients(model.layout, dev.grads, ref.grads, 1e-6);
  EXPECT_TRUE(grads.ok) << what << ": gradients\n" << grads.table;
}

TEST_P(DeviceTransformerOnHost, LossLogprobsAndEveryGradientEqualModelLoss) {
  Model model = tiny_train_model(GetParam().preset, GetParam().tied);
  const Batch batch = packed_assistant_batch(3);
  for (Precision precision : {Precision::FP32, Precision::BF16})
    for (TokenLoss kind : {TokenLoss::NLL, TokenLoss::DFT}) {
      const ForwardOptions options{.precision = precision};
      testing::HostTrainDevice device;
      expect_same(model, cpu_loss_pass(model, batch, options, kind), device_loss_pass(model, device, batch, options, kind),
                  std::string(precision_name(precision)) + (kind == TokenLoss::NLL ? " nll" : " dft"));
    }
}

TEST_P(DeviceTransformerOnHost, NeftuneNoiseIsTheCpusNoise) {
  Model model = tiny_train_model(GetParam().preset, GetParam().tied);
  const Batch batch = packed_assistant_batch(4);
  const ForwardOptions options{.neftune_alpha = 5.0f, .neftune_seed = 99};
  const LossPass ref = cpu_loss_pass(model, batch, options, TokenLoss::NLL);
  testing::HostTrainDevice device;
  expect_same(model, ref, device_loss_pass(model, device, batch, options, TokenLoss::NLL), "neftune");
  const LossPass quiet = cpu_loss_pass(model, batch, {}, TokenLoss::NLL);
  EXPECT_NE(quiet.loss.loss_sum, ref.loss.loss_sum) << "the noise must change the loss for this test to mean anything";
}

// Unpacked rows (no positions, no doc_start: plain causal attention) and a batch shape that grows
// between calls (the context reallocates its activations).
TEST_P(DeviceTransformerOnHost, PlainRowsAndAGrowingBatch) {
  Model model = tiny_train_model(GetParam().preset, GetParam().tied);
  testing::HostTrainDevice device;
  DeviceTrainingModel dm(model.config, device, Precision::FP32, model.params,
                         std::vector<uint8_t>(model.params.size(), 1));
  for (int64_t seq : {8, 24}) {
    Batch b;
    b.rows = 3;
    b.seq = seq;
    Rng rng(static_cast<uint64_t>(seq));
    for (int64_t i = 0; i < b.size(); ++i) b.tokens.push_back(static_cast<int32_t>(rng.below(259)));
    for (int64_t i = 0; i < b.size(); ++i) b.targets.push_back((i + 1) % seq == 0 ? -100 : b.tokens[i + 1]);
    const LossPass ref = cpu_loss_pass(model, b, {}, TokenLoss::NLL);
    dm.zero_gradients();
    LossPass dev;
    dev.logprobs.assign(b.size(), NAN);
    const std::vector<float> w = mean_token_weights(b);
    dev.loss = dm.loss(b, {}, w.data(), TokenLoss::NLL, true, dev.logprobs.data());
    dm.download_gradients(dev.grads);
    expect_same(model, ref, dev, "seq " + std::to_string(seq));
  }
}

INSTANTIATE_TEST_SUITE_P(Models, DeviceTransformerOnHost,
                         ::testing::Values(Case{"tiny-llama4", true}, Case{"tiny-llama", true},
                                           Case{"tiny-llama", false}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.preset + (info.param.tied ? "" : "_untied");
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace tt
