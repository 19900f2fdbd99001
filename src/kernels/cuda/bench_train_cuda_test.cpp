// `tinythink bench train --device cuda` end to end on a tiny model: the step runs on the GPU and the
// JSON line carries the device fields (tokens/s, MFU against cuBLASLt and, for a card in the table,
// against its bf16 peak, peak device memory).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "kernels/cuda/cuda_test_util.h"

namespace tt {
namespace {

// The binary of this build, else the one beside this test binary (a prebuilt bundle).
std::string tinythink_binary() {
  if (std::filesystem::exists(TT_BINARY)) return TT_BINARY;
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "tinythink").string();
}

TEST(BenchTrainCuda, TinyModelStepsOnTheGpuAndReportsDeviceFields) {
  TT_REQUIRE_GPU();
  const std::string command = tinythink_binary() +
                              " bench train --device cuda --arch tiny-llama4 --batch 2 --seq 64 --steps 2 "
                              "--precision bf16 --json 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  ASSERT_EQ(::pclose(pipe), 0) << command << "\n" << output;
  const size_t brace = output.rfind("\n{");
  const std::string line = output.substr(brace == std::string::npos ? output.find('{') : brace + 1);
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << output;
  EXPECT_NE(output.find("device: cuda:0"), std::string::npos) << output;
  EXPECT_EQ(j.value("device", ""), "cuda:0") << j.dump();
  EXPECT_EQ(j.value("matmul_kernel", ""), "cuBLASLt") << j.dump();
  EXPECT_GT(j.value("tokens_per_s", 0.0), 0.0) << j.dump();
  EXPECT_GT(j.value("peak_device_mb", 0.0), 0.0) << j.dump();
  EXPECT_GT(j.value("mfu", 0.0), 0.0) << j.dump();
  EXPECT_TRUE(j.contains("mfu_vs_bf16_peak")) << j.dump();
  EXPECT_TRUE(std::isfinite(j.value("step_s", NAN))) << j.dump();
}

}  // namespace
}  // namespace tt
