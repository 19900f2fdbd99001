#include "kernels/device_collectives.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "kernels/device.h"

namespace tt {
namespace {

// Without a usable GPU (no plugin, no driver, no device), asking for NCCL is a one-line error naming
// the device, never a crash; with one, the one-rank path works (its collectives are checked by the
// cuda-labelled Nccl.* tests).
TEST(DeviceCollectives, NcclWithoutAGpuIsAOneLineError) {
  ResolvedDevice device;
  if (probe_cuda_device(0, device).empty()) {
    EXPECT_EQ(open_nccl_communicator(Communicator::world(), 0)->size(), 1);
    return;
  }
  try {
    open_nccl_communicator(Communicator::world(), 0);
    FAIL() << "NCCL opened without a GPU";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("NCCL"), std::string::npos) << message;
    EXPECT_NE(message.find("cuda:0"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace tt
