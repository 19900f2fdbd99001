// The engine's device choice, and an engine asked for a GPU where none answers: a one-line error
// naming the device, never a silent CPU run. (The device engine itself: src/kernels/cuda/
// engine_device_test.cpp, label cuda.)
#include "infer/device_engine.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "infer/engine.h"
#include "infer/test_models.h"
#include "kernels/device.h"

namespace tt::infer {
namespace {

TEST(DeviceEngine, CpuIsMinusOneAndBadTextNamesWhereItCameFrom) {
  EXPECT_EQ(choose_engine_device("cpu", "--device", Precision::FP32), -1);
  try {
    choose_engine_device("tpu", "stage 'eval': device", Precision::FP32);
    FAIL() << "tpu accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stage 'eval': device: expected auto, cpu, cuda or cuda:N, got 'tpu'"),
              std::string::npos)
        << e.what();
  }
}

TEST(DeviceEngine, AnEngineOnAGpuThatDoesNotAnswerIsAnError) {
  ResolvedDevice probed;
  if (probe_cuda_device(0, probed).empty()) GTEST_SKIP() << "a GPU answers here (the cuda tests cover it)";
  EXPECT_EQ(choose_engine_device("auto", "--device", Precision::FP32), -1);
  Model model = testing::tiny_model();
  try {
    Engine engine(model, {.cuda_device = 0});
    FAIL() << "an engine on cuda:0 was built without a GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda:0: "), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tt::infer
