// The CUDA implementation of kernels/generation_device.h: one stream, the paged KV cache and the RoPE
// tables of a generation engine, each call forwarded to the kernels of generation.h and ops.h.
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/generation.h"
#include "kernels/cuda/ops.h"
#include "kernels/cuda/reduce.cuh"
#include "kernels/generation_device.h"

namespace tt::cuda {

namespace {

__global__ void round_in_place_kernel(float* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    x[i] = __bfloat162float(__float2bfloat16_rn(x[i]));
}

static_assert(sizeof(GenerationSampling) == sizeof(DeviceSampling), "GenerationSampling mirrors DeviceSampling");

class CudaGenerationDevice final : public GenerationDevice {
 public:
  explicit CudaGenerationDevice(int index) : index_(index) {
    TT_CUDA_CHECK(cudaSetDevice(index));
    TT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    const char* fast = std::getenv("TINYTHINK_CUDA_FAST_GEMM");
    fast_gemm_ = fast && std::string(fast) == "1";
  }
  ~CudaGenerationDevice() override {
    drop_graphs();
    kv_.reset();
    blas_.reset();
    cudaFree(x_bf16_);
    for (const auto& t : ropes_) free_rope_table(t);
    cudaStreamDestroy(stream_);
  }

  void* allocate(size_t bytes) override {
    void* p = nullptr;
    TT_CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 1));
    in_use_ += bytes;
    peak_ = std::max(peak_, in_use_ + (kv_ ? kv_->pool_bytes() : 0));
    sizes_[p] = bytes;
    return p;
  }
  void release(void* pointer) override {
    if (!pointer) return;
    in_use_ -= sizes_[pointer];
    sizes_.erase(pointer);
    TT_CUDA_CHECK(cudaFree(pointer));
  }
  void upload(void* device, const void* host, size_t bytes) override {
    if (bytes == 0) return;
    TT_CUDA_CHECK(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream_));
    TT_CUDA_CHECK(cudaStreamSynchronize(stream_));  // the host buffer may change right after
  }
  void download(void* host, const void* device, size_t bytes) override {
    if (bytes == 0) return;
    TT_CUDA_CHECK(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream_));
    TT_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void synchronize() override { TT_CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  size_t peak_bytes_in_use() override { return peak_; }
  bool batch_invariant() const override { return !fast_gemm_; }

  void embedding(float* out, const float* table, const int32_t* ids, int64_t n, int64_t dim) override {
    embedding_forward(out, table, ids, n, dim, stream_);
  }
  void rmsnorm(float* y, const float* x, const float* weight, int64_t rows, int64_t dim, float eps) override {
    if (rows > 0) rmsnorm_forward(y, nullptr, x, weight, rows, dim, eps, stream_);
  }
  int rope_table(RopeStyle style, int64_t head_dim, int64_t max_positions, const std::vector<float>& cos,
                 const std::vector<float>& sin) override {
    ropes_.push_back(upload_rope_table(style, head_dim, max_positions, cos, sin));
    return static_cast<int>(ropes_.size()) - 1;
  }
  void rope(float* x, const int32_t* positions, int64_t tokens, int64_t heads, int table) override {
    if (tokens > 0) rope_forward(x, positions, tokens, heads, ropes_.at(table), stream_);
  }
  void swiglu(float* out, const float* gate, const float* up, int64_t count) override {
    if (count > 0) swiglu_forward(out, gate, up, count, stream_);
  }
  void round_to_bf16(float* x, int64_t n) override {
    if (n == 0) return;
    round_in_place_kernel<<<blocks_for(n, 256), 256, 0, stream_>>>(x, n);
    TT_CUDA_CHECK_LAUNCH();
  }
  void gemm(const float* x, int64_t m, const void* w, bool w_bf16, int64_t n, int64_t k, float* y,
            bool accumulate) override {
    if (fast_gemm_ && w_bf16 && m > 0) return fast_gemm(x, m, w, n, k, y, accumulate);
    if (w_bf16)
      rowinv_gemm_bf16_tensor_cores(x, m, static_cast<const uint16_t*>(w), n, k, y, accumulate, stream_);
    else
      rowinv_gemm_f32(x, m, static_cast<const float*>(w), n, k, y, accumulate, stream_);
  }

  void create_kv(const GenerationKvShape& shape, int64_t max_sequences, int64_t max_positions,
                 double memory_fraction) override {
    kv_.reset();
    kv_ = std::make_unique<DevicePagedKv>(PagedKvShape{shape.layers, shape.kv_heads, shape.head_dim, shape.block_size},
                                          max_sequences, max_positions, memory_fraction);
    peak_ = std::max(peak_, in_use_ + kv_->pool_bytes());
  }
  int64_t kv_blocks_total() override { return kv().blocks_total(); }
  int64_t kv_max_sequences() override { return kv().max_sequences(); }
  int64_t kv_max_blocks_per_sequence() override { return kv().max_blocks_per_sequence(); }
  void kv_upload_tables(const int32_t* tables) override { kv().upload_tables(tables, stream_); }
  void kv_write(int64_t layer, const float* k, const float* v, const int32_t* sequences, const int32_t* positions,
                int64_t rows) override {
    paged_kv_write(kv().view(), layer, k, v, sequences, positions, rows, stream_);
  }
  void attention(float* out, const float* q, int64_t layer, const int32_t* sequences, const int32_t* positions,
                 int64_t rows, int64_t heads) override {
    paged_attention(out, q, kv().view(), layer, sequences, positions, rows, heads, stream_);
  }

  void begin_capture() override {
    // cuBLASLt's algorithm and workspace follow the shape, and the fast mode grows a buffer on demand:
    // only the row-invariant kernels are recorded.
    if (fast_gemm_)
      throw std::runtime_error("generation device: CUDA graphs need the batch-invariant GEMM (TINYTHINK_CUDA_FAST_GEMM=1 is set)");
    // Relaxed: the launchers' cudaFuncSetAttribute / cudaDeviceGetAttribute calls stay allowed.
    TT_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed));
  }
  int end_capture(bool keep) override {
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(stream_, &graph);
    if (!keep || ended != cudaSuccess) {
      if (graph) cudaGraphDestroy(graph);
      (void)cudaGetLastError();  // an invalidated capture leaves its error behind: clear it for the next call
      if (keep) check_cuda(ended, "cudaStreamEndCapture", __FILE__, __LINE__);
      return -1;
    }
    cudaGraphExec_t exec = nullptr;
    const cudaError_t instantiated = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    TT_CUDA_CHECK(instantiated);
    graphs_.push_back(exec);
    return static_cast<int>(graphs_.size()) - 1;
  }
  void replay(int graph) override {
    if (graph < 0 || graph >= static_cast<int>(graphs_.size()) || !graphs_[graph])
      throw std::runtime_error("generation device: no CUDA graph " + std::to_string(graph));
    TT_CUDA_CHECK(cudaGraphLaunch(graphs_[graph], stream_));
  }
  void drop_graphs() override {
    for (cudaGraphExec_t g : graphs_)
      if (g) cudaGraphExecDestroy(g);
    graphs_.clear();
  }

  void sample(int32_t* tokens, float* logits, int64_t rows, int64_t vocab, const GenerationSampling* params,
              const int32_t* history, const int64_t* history_offsets, uint32_t* seen) override {
    sample_tokens(tokens, logits, rows, vocab, reinterpret_cast<const DeviceSampling*>(params), history,
                  history_offsets, seen, stream_);
  }

 private:
  // The opt-in fast mode: x rounded to bf16 (as the bf16 path rounds matmul inputs), then cuBLASLt.
  void fast_gemm(const float* x, int64_t m, const void* w, int64_t n, int64_t k, float* y, bool accumulate) {
    const size_t count = static_cast<size_t>(m * k);
    if (count > x_bf16_capacity_) {
      cudaFree(x_bf16_);
      x_bf16_ = nullptr;
      x_bf16_capacity_ = std::max(count, 2 * x_bf16_capacity_);
      TT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&x_bf16_), sizeof(uint16_t) * x_bf16_capacity_));
    }
    tt::cuda::round_to_bf16(x_bf16_, x, static_cast<int64_t>(count), stream_);  // ops.h (the member is in place)
    if (!blas_) blas_ = std::make_unique<Blas>();
    blas_->gemm(x_bf16_, w, y, m, n, k, {.trans_b = true, .accumulate = accumulate, .type = GemmType::BF16}, stream_);
  }

  DevicePagedKv& kv() {
    if (!kv_) throw std::runtime_error("generation device: the KV cache is used before create_kv");
    return *kv_;
  }

  int index_;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<DevicePagedKv> kv_;
  std::vector<DeviceRopeTable> ropes_;
  std::unordered_map<void*, size_t> sizes_;
  size_t in_use_ = 0, peak_ = 0;
  bool fast_gemm_ = false;
  std::unique_ptr<Blas> blas_;
  std::vector<cudaGraphExec_t> graphs_;
  uint16_t* x_bf16_ = nullptr;
  size_t x_bf16_capacity_ = 0;
};

}  // namespace

}  // namespace tt::cuda

extern "C" __attribute__((visibility("default"))) tt::GenerationDevice* tt_cuda_generation_device(int index, int abi,
                                                                                                   char* error,
                                                                                                   size_t error_size) {
  if (abi != kTtGenerationDeviceAbi) {
    std::snprintf(error, error_size, "the CUDA plugin's generation interface is version %d, the binary's %d",
                  kTtGenerationDeviceAbi, abi);
    return nullptr;
  }
  try {
    return new tt::cuda::CudaGenerationDevice(index);
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "%s", e.what());
    return nullptr;
  }
}
