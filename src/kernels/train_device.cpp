#include "kernels/train_device.h"

#include "core/error.h"
#include "kernels/device.h"

namespace tt {

std::unique_ptr<TrainDevice> open_train_device(int index) {
  std::string why;
  auto make = reinterpret_cast<TtCudaTrainDeviceFn>(cuda_plugin_symbol("tt_cuda_train_device", why));
  if (!make) fail("cuda:{}: {}", index, why);
  char error[512] = {};
  TrainDevice* device = make(index, kTtTrainDeviceAbi, error, sizeof(error));
  if (!device) fail("cuda:{}: {}", index, error);
  return std::unique_ptr<TrainDevice>(device);
}

}  // namespace tt
