// --device on the inference verbs (generate, chat, eval, score, pairs, bench generate): each runs its
// engine on the device it names; bad values are one-line errors naming the option; cpu says so; and an
// explicit cuda on a machine without a GPU is a one-line error, never a silent CPU run.
#include <gtest/gtest.h>

#include "kernels/device.h"
#include "tests/test_util.h"

namespace tt {
namespace {

using testing::expect_one_line_error;

const std::string kBench = "bench generate --arch tiny-llama4 --batch 2 --prompt 4 --new 3 --precision fp32 --json ";

bool gpu_answers() {
  ResolvedDevice probed;
  return probe_cuda_device(0, probed).empty();
}

TEST(EngineDeviceCli, BenchGenerateOnTheCpuSaysSo) {
  const auto r = testing::run_cli(kBench + "--device cpu");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("device: cpu (fp32)"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("device_peak_mb"), std::string::npos) << "a CPU run reports no device memory:\n" << r.output;
}

TEST(EngineDeviceCli, EveryInferenceVerbChecksItsDevice) {
  const std::string dir = testing::make_temp_dir("engine-device");
  for (const std::string verb :
       {kBench, "generate --model " + dir + " --prompt hi ", "score --model " + dir + " --input x --output y ",
        "eval --model " + dir + " --tasks gsm8k ", "chat --model " + dir + " ",
        "pairs --model " + dir + " --prompts p --out " + dir + "/o "})
    expect_one_line_error(testing::run_cli(verb + "--device gpu"), "--device: expected auto, cpu, cuda or cuda:N, got 'gpu'");
}

TEST(EngineDeviceCli, CudaWithoutAGpuIsAOneLineError) {
  if (gpu_answers()) GTEST_SKIP() << "a GPU answers here: the cuda tests (ctest -L cuda) run the device engine";
  expect_one_line_error(testing::run_cli(kBench + "--device cuda"), "--device cuda:0: ");
}

// Where a GPU answers, bench generate runs there and reports the device's memory.
TEST(EngineDeviceCli, BenchGenerateOnTheGpuReportsDeviceMemory) {
  if (!gpu_answers()) GTEST_SKIP() << "no GPU here";
  const auto r = testing::run_cli(kBench + "--device cuda");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("device: cuda:0 "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"device_peak_mb\""), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tt
