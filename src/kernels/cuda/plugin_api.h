// The C interface of the CUDA plugin (libtinythink_cuda.so), as the host binary sees it through
// dlopen/dlsym. Plain C types only: the binary includes no CUDA header and links no CUDA library.
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" {

// Bumped whenever a signature below changes; the loader refuses a plugin of another version.
inline constexpr int kTtCudaPluginAbi = 2;

struct TtCudaDeviceInfo {
  int device_count = 0;  // devices visible to the runtime
  int index = 0;
  char name[256] = {};
  uint64_t total_memory = 0, free_memory = 0;  // bytes
  int compute_major = 0, compute_minor = 0;
  int bf16_tensor_cores = 0;  // compute capability >= 8.0
  int runtime_version = 0, driver_version = 0;
};

using TtCudaAbiFn = int (*)();
// Fills info for device `device`. Returns 0 on success; else writes a one-line reason (no driver,
// no device, index out of range, ...) into error and returns non-zero. Never throws.
using TtCudaProbeFn = int (*)(int device, TtCudaDeviceInfo* info, char* error, size_t error_size);

int tt_cuda_plugin_abi();
int tt_cuda_probe(int device, TtCudaDeviceInfo* info, char* error, size_t error_size);
}
