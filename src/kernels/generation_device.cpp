#include "kernels/generation_device.h"

#include "core/error.h"
#include "kernels/device.h"

namespace tt {

std::unique_ptr<GenerationDevice> open_generation_device(int index) {
  std::string why;
  auto make = reinterpret_cast<TtCudaGenerationDeviceFn>(cuda_plugin_symbol("tt_cuda_generation_device", why));
  if (!make) fail("cuda:{}: {}", index, why);
  char error[512] = {};
  GenerationDevice* device = make(index, kTtGenerationDeviceAbi, error, sizeof(error));
  if (!device) fail("cuda:{}: {}", index, error);
  return std::unique_ptr<GenerationDevice>(device);
}

}  // namespace tt
