#include "kernels/device_collectives.h"

#include "core/error.h"
#include "kernels/device.h"

namespace tt {

std::unique_ptr<DeviceCommunicator> open_nccl_communicator(Communicator& world, int device) {
  std::string why;
  auto unique_id = reinterpret_cast<TtCudaNcclIdFn>(cuda_plugin_symbol("tt_cuda_nccl_unique_id", why));
  auto join = reinterpret_cast<TtCudaNcclCommunicatorFn>(cuda_plugin_symbol("tt_cuda_nccl_communicator", why));
  // Every rank says whether it can go on before any waits in a collective for the others.
  const bool ready = unique_id && join;
  int64_t missing = ready ? 0 : 1;
  world.all_reduce_sum(&missing, 1);
  if (!ready) fail("rank {}: NCCL over cuda:{}: {}", world.rank(), device, why);
  if (missing != 0) fail("NCCL: {} rank(s) have no CUDA plugin with NCCL", missing);
  char error[512] = {};
  std::string id(kTtNcclIdBytes, '\0');
  int64_t failed = 0;
  if (world.is_root() && unique_id(reinterpret_cast<unsigned char*>(id.data()), error, sizeof(error)) != 0) failed = 1;
  world.all_reduce_sum(&failed, 1);
  if (failed != 0) fail("NCCL: rank 0 could not make a unique id{}{}", world.is_root() ? ": " : "", error);
  id = world.all_gather(id)[0];  // rank 0's id to every rank
  DeviceCommunicator* communicator = join(reinterpret_cast<const unsigned char*>(id.data()), world.size(), world.rank(),
                                          device, kTtDeviceCommunicatorAbi, error, sizeof(error));
  if (!communicator) fail("rank {} of {}: NCCL over cuda:{}: {}", world.rank(), world.size(), device, error);
  return std::unique_ptr<DeviceCommunicator>(communicator);
}

}  // namespace tt
