// The plugin's exported entry points (see plugin_api.h).
#include "kernels/cuda/plugin_api.h"

#include <cuda_runtime_api.h>

#include <cstdio>

namespace {

int report(char* error, size_t size, const char* what, cudaError_t status) {
  std::snprintf(error, size, "%s: %s (%s)", what, cudaGetErrorString(status), cudaGetErrorName(status));
  return 1;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int tt_cuda_plugin_abi() { return kTtCudaPluginAbi; }

extern "C" __attribute__((visibility("default"))) int tt_cuda_probe(int device, TtCudaDeviceInfo* info, char* error,
                                                                     size_t error_size) {
  *info = TtCudaDeviceInfo{};
  cudaDriverGetVersion(&info->driver_version);
  cudaRuntimeGetVersion(&info->runtime_version);
  if (info->driver_version == 0) {
    std::snprintf(error, error_size, "no NVIDIA driver (libcuda.so) on this machine");
    return 1;
  }
  if (cudaError_t s = cudaGetDeviceCount(&info->device_count); s != cudaSuccess)
    return report(error, error_size, "cudaGetDeviceCount", s);
  if (info->device_count == 0) {
    std::snprintf(error, error_size, "the driver sees no CUDA device");
    return 1;
  }
  if (device < 0 || device >= info->device_count) {
    std::snprintf(error, error_size, "cuda:%d does not exist (%d device%s)", device, info->device_count,
                  info->device_count == 1 ? "" : "s");
    return 1;
  }
  cudaDeviceProp prop{};
  if (cudaError_t s = cudaGetDeviceProperties(&prop, device); s != cudaSuccess)
    return report(error, error_size, "cudaGetDeviceProperties", s);
  info->index = device;
  std::snprintf(info->name, sizeof(info->name), "%s", prop.name);
  info->compute_major = prop.major;
  info->compute_minor = prop.minor;
  info->bf16_tensor_cores = prop.major >= 8;
  info->total_memory = prop.totalGlobalMem;
  if (cudaError_t s = cudaSetDevice(device); s != cudaSuccess) return report(error, error_size, "cudaSetDevice", s);
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaError_t s = cudaMemGetInfo(&free_bytes, &total_bytes); s != cudaSuccess)
    return report(error, error_size, "cudaMemGetInfo", s);
  info->free_memory = free_bytes;
  return 0;
}
