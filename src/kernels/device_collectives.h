// Collectives over the GPUs of a data-parallel job (issue 19): NCCL, inside the CUDA plugin
// (kernels/cuda/nccl_communicator.cpp), handed out through the C entry points below, so that the
// binary links neither NCCL nor the CUDA runtime. The ranks agree on an NCCL id through MPI: rank 0
// asks the plugin for one, core/communicator gives it to every rank, and each rank joins with
// (id, world size, rank, its GPU: cuda:LOCAL_RANK under mpirun/srun).
//
// Pointers are device memory of the communicator's GPU; every call is queued on the communicator's
// stream (synchronize() waits for them). Errors are std::runtime_error with one line naming the NCCL
// call, its error text, the sizes and the rank (the plugin and the binary share the C++ runtime).
#pragma once
#include <cstddef>
#include <memory>

#include "core/communicator.h"

namespace tt {

class DeviceCommunicator {
 public:
  virtual ~DeviceCommunicator() = default;
  virtual int size() const = 0;
  virtual int rank() const = 0;
  virtual int device() const = 0;
  // In place, every rank ends with the elementwise sum.
  virtual void all_reduce_sum(float* data, size_t n) = 0;
  // `in` holds size() chunks of `chunk` floats; `out` (chunk floats) receives the sum of every
  // rank's chunk rank() (ZeRO-1's gradient slices).
  virtual void reduce_scatter_sum(const float* in, float* out, size_t chunk) = 0;
  // Every rank's `in` (chunk floats), in rank order, into `out` (size() x chunk floats).
  virtual void all_gather(const float* in, float* out, size_t chunk) = 0;
  virtual void synchronize() = 0;
};

// Bumped whenever the interface above changes; the plugin refuses another version.
inline constexpr int kTtDeviceCommunicatorAbi = 1;
inline constexpr size_t kTtNcclIdBytes = 128;  // NCCL_UNIQUE_ID_BYTES

// This rank's NCCL communicator over the ranks of `world`, on GPU `device`. Every rank calls it
// (it is a collective of `world`); a tt::Error with the reason when the plugin, a GPU or NCCL is
// missing.
std::unique_ptr<DeviceCommunicator> open_nccl_communicator(Communicator& world, int device);

}  // namespace tt

extern "C" {
// Writes a new NCCL unique id (kTtNcclIdBytes) into `id`; 0 on success, else a one-line reason in
// `error`.
using TtCudaNcclIdFn = int (*)(unsigned char* id, char* error, size_t error_size);
// The communicator of `rank` among `world` ranks on GPU `device`, joined with rank 0's id; nullptr
// with a one-line reason in `error` on failure.
using TtCudaNcclCommunicatorFn = tt::DeviceCommunicator* (*)(const unsigned char* id, int world, int rank, int device,
                                                             int abi, char* error, size_t error_size);
}
