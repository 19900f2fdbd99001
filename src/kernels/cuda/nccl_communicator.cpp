// The NCCL communicator of kernels/device_collectives.h, inside the CUDA plugin. Compiled against
// nccl.h when CMake finds it (cmake/cuda.cmake sets TT_HAVE_NCCL); libnccl.so.2 itself (over 200 MB)
// is dlopen'd on the first NCCL call ($TINYTHINK_NCCL names another file), so neither the plugin nor
// a GPU bundle carries it and single-GPU runs never load it. Without either, the entry points answer
// with the reason.
#include "kernels/device_collectives.h"

#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#if TT_HAVE_NCCL
#include <dlfcn.h>
#include <nccl.h>

#include <cstdlib>
#endif

#include "kernels/cuda/check.h"

namespace tt::cuda {

namespace {

#if TT_HAVE_NCCL
static_assert(sizeof(ncclUniqueId) == kTtNcclIdBytes, "NCCL's unique id size");

// The NCCL functions the communicator calls, from the dlopen'd library.
struct NcclApi {
  decltype(&ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclCommGetAsyncError) comm_get_async_error = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclReduceScatter) reduce_scatter = nullptr;
  decltype(&ncclAllGather) all_gather = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
  std::string why_not;  // "" when every function was found
};

template <typename Fn>
void find_symbol(void* library, const char* name, Fn& fn, std::string& why_not) {
  fn = reinterpret_cast<Fn>(dlsym(library, name));
  if (!fn && why_not.empty()) why_not = std::string("the NCCL library has no ") + name;
}

const NcclApi& nccl() {
  static const NcclApi api = [] {
    NcclApi a;
    const char* path = std::getenv("TINYTHINK_NCCL");
    path = path && *path ? path : "libnccl.so.2";
    void* library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      const char* why = dlerror();
      a.why_not = std::string("cannot load NCCL (") + path + "): " + (why ? why : "not found") +
                  "; install NCCL 2 or set TINYTHINK_NCCL to libnccl.so.2";
      return a;
    }
    find_symbol(library, "ncclGetUniqueId", a.get_unique_id, a.why_not);
    find_symbol(library, "ncclCommInitRank", a.comm_init_rank, a.why_not);
    find_symbol(library, "ncclCommDestroy", a.comm_destroy, a.why_not);
    find_symbol(library, "ncclCommGetAsyncError", a.comm_get_async_error, a.why_not);
    find_symbol(library, "ncclAllReduce", a.all_reduce, a.why_not);
    find_symbol(library, "ncclReduceScatter", a.reduce_scatter, a.why_not);
    find_symbol(library, "ncclAllGather", a.all_gather, a.why_not);
    find_symbol(library, "ncclGetErrorString", a.error_string, a.why_not);
    return a;
  }();
  return api;
}

class NcclCommunicator final : public DeviceCommunicator {
 public:
  NcclCommunicator(const ncclUniqueId& id, int world, int rank, int device) : size_(world), rank_(rank), device_(device) {
    TT_CUDA_CHECK(cudaSetDevice(device));
    TT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    if (ncclResult_t r = nccl().comm_init_rank(&comm_, world, id, rank); r != ncclSuccess) {
      cudaStreamDestroy(stream_);
      fail("ncclCommInitRank", r, 0);
    }
  }
  ~NcclCommunicator() override {
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_);
    nccl().comm_destroy(comm_);
    cudaStreamDestroy(stream_);
  }
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int size() const override { return size_; }
  int rank() const override { return rank_; }
  int device() const override { return device_; }

  void all_reduce_sum(float* data, size_t n) override {
    TT_CUDA_CHECK(cudaSetDevice(device_));
    check("ncclAllReduce", nccl().all_reduce(data, data, n, ncclFloat32, ncclSum, comm_, stream_), n);
  }
  void reduce_scatter_sum(const float* in, float* out, size_t chunk) override {
    TT_CUDA_CHECK(cudaSetDevice(device_));
    check("ncclReduceScatter", nccl().reduce_scatter(in, out, chunk, ncclFloat32, ncclSum, comm_, stream_), chunk);
  }
  void all_gather(const float* in, float* out, size_t chunk) override {
    TT_CUDA_CHECK(cudaSetDevice(device_));
    check("ncclAllGather", nccl().all_gather(in, out, chunk, ncclFloat32, comm_, stream_), chunk);
  }
  void synchronize() override {
    TT_CUDA_CHECK(cudaSetDevice(device_));
    TT_CUDA_CHECK(cudaStreamSynchronize(stream_));
    ncclResult_t async = ncclSuccess;
    check("ncclCommGetAsyncError", nccl().comm_get_async_error(comm_, &async), 0);
    check("an earlier NCCL call", async, 0);
  }

 private:
  [[noreturn]] void fail(const char* call, ncclResult_t result, size_t floats) const {
    throw std::runtime_error(std::string("NCCL error: ") + call + " (rank " + std::to_string(rank_) + " of " +
                             std::to_string(size_) + ", cuda:" + std::to_string(device_) + ", " +
                             std::to_string(floats) + " floats): " + nccl().error_string(result) +
                             (result == ncclSystemError || result == ncclRemoteError
                                  ? "; NCCL_DEBUG=WARN tells more"
                                  : ""));
  }
  void check(const char* call, ncclResult_t result, size_t floats) const {
    if (result != ncclSuccess) fail(call, result, floats);
  }

  int size_, rank_, device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};
#endif

}  // namespace

}  // namespace tt::cuda

extern "C" __attribute__((visibility("default"))) int tt_cuda_nccl_unique_id(unsigned char* id, char* error,
                                                                              size_t error_size) {
#if TT_HAVE_NCCL
  const tt::cuda::NcclApi& api = tt::cuda::nccl();
  if (!api.why_not.empty()) {
    std::snprintf(error, error_size, "%s", api.why_not.c_str());
    return 1;
  }
  ncclUniqueId unique;
  if (ncclResult_t r = api.get_unique_id(&unique); r != ncclSuccess) {
    std::snprintf(error, error_size, "ncclGetUniqueId: %s", api.error_string(r));
    return 1;
  }
  std::memcpy(id, unique.internal, tt::kTtNcclIdBytes);
  return 0;
#else
  std::snprintf(error, error_size, "the CUDA plugin was built without NCCL (nccl.h and libnccl not found)");
  return 1;
#endif
}

extern "C" __attribute__((visibility("default"))) tt::DeviceCommunicator* tt_cuda_nccl_communicator(
    const unsigned char* id, int world, int rank, int device, int abi, char* error, size_t error_size) {
  if (abi != tt::kTtDeviceCommunicatorAbi) {
    std::snprintf(error, error_size, "the CUDA plugin's communicator interface is version %d, the binary's %d",
                  tt::kTtDeviceCommunicatorAbi, abi);
    return nullptr;
  }
#if TT_HAVE_NCCL
  if (const std::string& why = tt::cuda::nccl().why_not; !why.empty()) {
    std::snprintf(error, error_size, "%s", why.c_str());
    return nullptr;
  }
  try {
    ncclUniqueId unique;
    std::memcpy(unique.internal, id, tt::kTtNcclIdBytes);
    return new tt::cuda::NcclCommunicator(unique, world, rank, device);
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "%s", e.what());
    return nullptr;
  }
#else
  std::snprintf(error, error_size, "the CUDA plugin was built without NCCL (nccl.h and libnccl not found)");
  return nullptr;
#endif
}
