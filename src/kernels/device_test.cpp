#include "kernels/device.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace tt {
namespace {

TEST(Device, ParsesEveryForm) {
  EXPECT_EQ(parse_device("auto").kind, DeviceKind::Auto);
  EXPECT_EQ(parse_device("cpu").kind, DeviceKind::CPU);
  DeviceSpec cuda = parse_device("cuda");
  EXPECT_EQ(cuda.kind, DeviceKind::CUDA);
  EXPECT_EQ(cuda.index, 0);
  DeviceSpec third = parse_device("cuda:2");
  EXPECT_EQ(third.kind, DeviceKind::CUDA);
  EXPECT_EQ(third.index, 2);
  EXPECT_EQ(device_spec_name(third), "cuda:2");
}

TEST(Device, RejectsOtherText) {
  for (const char* bad : {"", "gpu", "cuda:", "cuda:-1", "cuda:1x", "CPU", "cuda:0:1"}) {
    try {
      parse_device(bad, "trainer.device");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("trainer.device"), std::string::npos) << e.what();
    }
  }
}

TEST(Device, CpuIsAlwaysTheCpu) {
  ResolvedDevice device = resolve_device(parse_device("cpu"));
  EXPECT_EQ(device.kind, DeviceKind::CPU);
  EXPECT_TRUE(device.fallback_reason.empty());
}

// Whatever this machine has: auto either finds a GPU (with a name and memory) or says why not.
TEST(Device, AutoFindsAGpuOrSaysWhyNot) {
  ResolvedDevice device = resolve_device(parse_device("auto"));
  if (device.kind == DeviceKind::CUDA) {
    EXPECT_FALSE(device.name.empty());
    EXPECT_GT(device.total_memory, 0u);
  } else {
    EXPECT_FALSE(device.fallback_reason.empty());
    EXPECT_NE(describe_device(device, Precision::BF16).find(device.fallback_reason), std::string::npos);
  }
}

TEST(Device, ExplicitCudaWithoutThatDeviceIsAnError) {
  EXPECT_THROW(resolve_device(parse_device("cuda:4096")), Error);
}

}  // namespace
}  // namespace tt
