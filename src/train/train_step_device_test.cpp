// The device branches of train/train_step.h (use_train_device) on a host double of the device
// (tests/host_train_device.h): optimizer steps with accumulation, clipping and AdamW equal the CPU's,
// checkpoints written from the device hold the device's weights and moments, and a CPU checkpoint
// resumes on the device with its moments and step count. The GPU runs the same checks in
// src/kernels/cuda/device_sft_test.cpp.
#include "train/train_step.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "tests/device_train_fixtures.h"
#include "tests/host_train_device.h"
#include "tests/test_util.h"
#include "core/error.h"
#include "core/op_profile.h"
#include "kernels/profiling_train_device.h"
#include "train/trainer_state.h"

namespace tt {
namespace {

using testing::compare_gradients;
using testing::packed_assistant_batch;
using testing::tiny_train_model;

std::vector<std::vector<Batch>> micro_batches(int steps) {
  std::vector<std::vector<Batch>> out;
  for (int s = 0; s < steps; ++s) out.push_back({packed_assistant_batch(2 * s + 1), packed_assistant_batch(2 * s + 2)});
  return out;
}

StepOptions options() {
  StepOptions o;
  o.adamw = {.learning_rate = 3e-3, .weight_decay = 0.1};
  o.learning_rate = 3e-3;
  o.max_grad_norm = 0.5;  // below the first steps' norms: clipping is exercised
  o.neftune_alpha = 5.0f;
  o.neftune_seed = 7;
  return o;
}

// bench train --device cuda --profile: the profiling wrapper changes no result, and its table names the
// device ops with their calls (one attention forward per layer and micro-batch).
TEST(TrainStepOnDevice, ProfiledDeviceTimesEachOpAndChangesNothing) {
  const auto data = micro_batches(2);
  Model plain_model = tiny_train_model("tiny-llama4", true), profiled_model = tiny_train_model("tiny-llama4", true);
  TrainState plain(plain_model, Precision::FP32), profiled(profiled_model, Precision::FP32);
  use_train_device(plain, std::make_unique<testing::HostTrainDevice>());
  use_train_device(profiled, profiled_train_device(std::make_unique<testing::HostTrainDevice>()));
  op_profile_start();
  const StepResult p = train_step(profiled, data[0], options());
  const std::vector<OpTime> rows = op_profile_stop();
  const StepResult u = train_step(plain, data[0], options());
  EXPECT_EQ(p.loss, u.loss);
  EXPECT_EQ(p.grad_norm, u.grad_norm);
  auto calls = [&](const std::string& name) {
    for (const OpTime& row : rows)
      if (row.name == name) return row.calls;
    return int64_t{0};
  };
  const int64_t layers = plain_model.config.num_hidden_layers, micro = static_cast<int64_t>(data[0].size());
  // The host double's CPU kernels open scopes of the same names inside the wrapper's (attention,
  // classifier): at least the wrapper's calls are there. "matmul" and the optimizer's row are the
  // wrapper's alone.
  EXPECT_GE(calls("attention fwd"), layers * micro);
  EXPECT_GE(calls("attention bwd"), layers * micro);
  EXPECT_GE(calls("matmul"), 7 * layers * micro);
  EXPECT_GE(calls("classifier + loss"), micro);
  EXPECT_EQ(calls("optimizer (norm, clip, adamw)"), 1);
}

TEST(TrainStepOnDevice, StepsCheckpointsAndResumeMatchTheCpu) {
  const auto data = micro_batches(6);
  for (Precision precision : {Precision::FP32, Precision::BF16}) {
    SCOPED_TRACE(precision_name(precision));
    Model cpu_model = tiny_train_model("tiny-llama4", true), dev_model = tiny_train_model("tiny-llama4", true);
    TrainState cpu(cpu_model, precision), dev(dev_model, precision);
    use_train_device(dev, std::make_unique<testing::HostTrainDevice>());
    bool clipped = false;
    for (int s = 0; s < 5; ++s) {
      const StepResult c = train_step(cpu, data[s], options());
      const StepResult d = train_step(dev, data[s], options());
      EXPECT_NEAR(d.loss, c.loss, 1e-6 * c.loss) << "step " << s;
      EXPECT_NEAR(d.grad_norm, c.grad_norm, 1e-6 * c.grad_norm) << "step " << s;
      EXPECT_EQ(d.tokens, c.tokens);
      clipped = clipped || c.grad_norm > options().max_grad_norm;
    }
    EXPECT_TRUE(clipped) << "no step was clipped: raise the learning rate or lower max_grad_norm";
    EXPECT_EQ(dev_model.params, tiny_train_model("tiny-llama4", true).params)
        << "the host copy stays the initial weights until a checkpoint downloads the device's";

    const std::string dir = testing::make_temp_dir("device_checkpoint");
    save_train_checkpoint(dev, dir, {.global_step = 5, .seen_tokens = 0, .extra = nullptr}, "", 0);
    Model loaded = tiny_train_model("tiny-llama4", true, 99);
    AdamWState adam;
    load_checkpoint(dir + "/checkpoint-5", loaded, adam);
    EXPECT_EQ(adam.step, 5);
    EXPECT_TRUE(compare_gradients(loaded.layout, loaded.params, cpu_model.params, 1e-5).ok) << "weights";
    EXPECT_TRUE(compare_gradients(loaded.layout, adam.m, cpu.adam.m, 1e-5).ok) << "first moments";
    EXPECT_TRUE(compare_gradients(loaded.layout, adam.v, cpu.adam.v, 1e-5).ok) << "second moments";

    // The CPU state's checkpoint, resumed on the device: step 6 as the CPU's step 6.
    const std::string cpu_dir = testing::make_temp_dir("cpu_checkpoint");
    save_train_checkpoint(cpu, cpu_dir, {.global_step = 5, .seen_tokens = 0, .extra = nullptr}, "", 0);
    Model resumed_model = tiny_train_model("tiny-llama4", true, 98);
    AdamWState resumed_adam;
    load_checkpoint(cpu_dir + "/checkpoint-5", resumed_model, resumed_adam);
    TrainState resumed(resumed_model, precision);
    resumed.adam = std::move(resumed_adam);
    use_train_device(resumed, std::make_unique<testing::HostTrainDevice>());
    const StepResult c6 = train_step(cpu, data[5], options());
    const StepResult d6 = train_step(resumed, data[5], options());
    EXPECT_NEAR(d6.loss, c6.loss, 1e-6 * c6.loss) << "step 6 after resuming on the device";
    EXPECT_NEAR(d6.grad_norm, c6.grad_norm, 1e-6 * c6.grad_norm);
    std::filesystem::create_directories(dir + "/final");
    write_trained_model(resumed, dir + "/final", "");
    Model final_model = load_model(dir + "/final");
    EXPECT_TRUE(compare_gradients(final_model.layout, final_model.params, cpu_model.params, 1e-5).ok)
        << "the final model written from the device";
  }
}

// A non-finite gradient is caught by its norm before AdamW: the device weights, moments and update
// count stay as they were, and the next good step is the CPU's first step.
TEST(TrainStepOnDevice, NonFiniteGradientStopsBeforeTheUpdate) {
  Model cpu_model = tiny_train_model("tiny-llama4", true), dev_model = tiny_train_model("tiny-llama4", true);
  TrainState cpu(cpu_model, Precision::FP32), dev(dev_model, Precision::FP32);
  auto device = std::make_unique<testing::HostTrainDevice>();
  testing::HostTrainDevice* host = device.get();
  use_train_device(dev, std::move(device));
  const StepOptions o = options();
  zero_gradients(dev);
  accumulate_token_loss(dev, packed_assistant_batch(1), std::nanf(""), o.loss, 0.0f, 0);
  try {
    apply_gradients(dev, o.adamw, o.learning_rate, o.max_grad_norm);
    ADD_FAILURE() << "a NaN gradient went through the optimizer step";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("before the optimizer step"), std::string::npos) << e.what();
  }
  EXPECT_EQ(host->optimizer_updates(), 0);
  std::vector<float> weights;
  dev.gpu->download_parameters(weights);
  EXPECT_EQ(weights, tiny_train_model("tiny-llama4", true).params) << "the device weights changed";
  std::vector<float> m(weights.size(), 1.0f), v(weights.size(), 1.0f);
  host->download_moments(m.data(), v.data());
  EXPECT_TRUE(std::all_of(m.begin(), m.end(), [](float x) { return x == 0.0f; })) << "first moments changed";
  EXPECT_TRUE(std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; })) << "second moments changed";

  const auto data = micro_batches(1);
  const StepResult c = train_step(cpu, data[0], o);
  const StepResult d = train_step(dev, data[0], o);
  EXPECT_NEAR(d.loss, c.loss, 1e-6 * c.loss);
  EXPECT_NEAR(d.grad_norm, c.grad_norm, 1e-6 * c.grad_norm);
  EXPECT_EQ(host->optimizer_updates(), 1);
}

}  // namespace
}  // namespace tt
