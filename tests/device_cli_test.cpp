// --device on the command line and trainer.device in a training YAML: every form parses, bad ones
// are one-line errors naming the option or key, and a CPU run says which device it uses and why.
#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "kernels/device.h"
#include "tests/test_util.h"
#include "train/training_args.h"

namespace tt {
namespace {

// An explicit precision: the default (auto) is bf16 or fp32 depending on the CPU.
const std::string kBench = "bench train --arch tiny-llama4 --steps 1 --seq 16 --precision bf16 --json ";

using testing::expect_one_line_error;

TEST(DeviceCli, CpuRunsAndSaysSo) {
  auto r = testing::run_cli(kBench + "--device cpu");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("device: cpu (bf16)"), std::string::npos) << r.output;
}

// auto on a machine with no NVIDIA driver (or a build without the backend) is the ordinary CPU case
// and says nothing; where a GPU answers, it names the card (bench train then runs on it).
TEST(DeviceCli, AutoSaysWhichDeviceOnlyWhenAGpuAnswers) {
  auto r = testing::run_cli(kBench + "--device auto");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ResolvedDevice probed;
  const std::string why_not = probe_cuda_device(0, probed);
  if (why_not.empty())
    EXPECT_NE(r.output.find("device: cuda:0 " + probed.name), std::string::npos) << r.output;
  else if (probed.no_cuda_here)
    EXPECT_EQ(r.output.find("device:"), std::string::npos) << r.output;
  else
    EXPECT_NE(r.output.find("device: cpu (bf16; CUDA not used: " + why_not), std::string::npos) << r.output;
}

TEST(DeviceCli, BadDevicesAreOneLineErrors) {
  expect_one_line_error(testing::run_cli(kBench + "--device gpu"), "--device: expected auto, cpu, cuda or cuda:N, got 'gpu'");
  expect_one_line_error(testing::run_cli(kBench + "--device cuda:4096"), "--device cuda:4096: ");
}

TEST(DeviceCli, TrainerDeviceKeyIsCheckedWithItsFile) {
  const std::string path = testing::make_temp_dir("device") + "/c.yaml";
  std::ofstream(path) << "model_name: m\ntrainer:\n  output_dir: o\n  device: cuda:1\n";
  EXPECT_EQ(load_train_config(path, {}, TrainerKind::SFT).trainer.device, "cuda:1");
  std::ofstream(path) << "model_name: m\ntrainer:\n  output_dir: o\n  device: tpu\n";
  try {
    load_train_config(path, {}, TrainerKind::SFT);
    FAIL() << "device: tpu accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("trainer.device: expected auto, cpu, cuda or cuda:N"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tt
