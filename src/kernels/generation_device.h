// The generation engine's view of a GPU, with no CUDA header: the CUDA plugin implements this
// interface (kernels/cuda/generation_device.cu) and hands it out through the C entry point
// tt_cuda_generation_device, so infer/ runs the model recipe on the device (infer/device_forward.h)
// while the binary still links no CUDA library. Pointers are device memory; every call is queued on
// the object's stream and errors are std::runtime_error with one line (the plugin and the binary share
// the C++ runtime). The kernels are those of kernels/cuda/generation.h and ops.h: batch-invariant.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/rope_params.h"

namespace tt {

struct GenerationKvShape {
  int64_t layers = 1, kv_heads = 1, head_dim = 1, block_size = 16;
};

struct GenerationSampling {  // as tt::cuda::DeviceSampling
  float temperature = 1.0f, top_p = 1.0f;
  int32_t top_k = 0;
  float min_p = 0.0f, repetition_penalty = 1.0f, frequency_penalty = 0.0f, presence_penalty = 0.0f;
  int32_t prompt_length = 0, history_length = 0;
  double uniform = 0.0;
};

class GenerationDevice {
 public:
  virtual ~GenerationDevice() = default;

  // ---- memory (bytes) ----
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* pointer) = 0;
  virtual void upload(void* device, const void* host, size_t bytes) = 0;
  virtual void download(void* host, const void* device, size_t bytes) = 0;  // waits for the stream
  virtual void synchronize() = 0;
  virtual size_t peak_bytes_in_use() = 0;
  // False in the opt-in fast mode (TINYTHINK_CUDA_FAST_GEMM=1 when the device was opened: a bf16
  // model's matmuls on cuBLASLt's tensor-core GEMMs, whose algorithm and split-K follow the shape, so
  // a row's bits may depend on the batch). True otherwise: the row-invariant GEMM.
  virtual bool batch_invariant() const = 0;

  // ---- the layer's kernels (fp32 activations) ----
  virtual void embedding(float* out, const float* table, const int32_t* ids, int64_t n, int64_t dim) = 0;
  // weight == nullptr: the weightless QK norm.
  virtual void rmsnorm(float* y, const float* x, const float* weight, int64_t rows, int64_t dim, float eps) = 0;
  // A RoPE table (host cos/sin [max_positions, head_dim/2]) copied to the device; returns its id.
  virtual int rope_table(RopeStyle style, int64_t head_dim, int64_t max_positions, const std::vector<float>& cos,
                         const std::vector<float>& sin) = 0;
  virtual void rope(float* x, const int32_t* positions, int64_t tokens, int64_t heads, int table) = 0;
  virtual void swiglu(float* out, const float* gate, const float* up, int64_t count) = 0;
  // x[i] = bf16-rounded x[i] (nearest even), as the CPU engine rounds matmul inputs in bf16 mode.
  virtual void round_to_bf16(float* x, int64_t n) = 0;
  // y[m, n] (+)= x[m, k] · w[n, k]^T, one FMA chain per output (row-invariant). w_bf16: w holds bf16 bits.
  virtual void gemm(const float* x, int64_t m, const void* w, bool w_bf16, int64_t n, int64_t k, float* y,
                    bool accumulate) = 0;

  // ---- the paged KV cache (one per device object) ----
  // The device holds the pool of blocks and the block tables the kernels read; which block a sequence
  // uses is the host's business (infer/kv_blocks.h, the one block allocator and prefix cache).
  // The pool: sized from free memory (memory_fraction of it), at most max_sequences x max_positions.
  virtual void create_kv(const GenerationKvShape& shape, int64_t max_sequences, int64_t max_positions,
                         double memory_fraction) = 0;
  virtual int64_t kv_blocks_total() = 0;             // blocks in the pool, ids 0..total-1
  virtual int64_t kv_max_sequences() = 0;            // rows of the block tables
  virtual int64_t kv_max_blocks_per_sequence() = 0;  // columns of the block tables
  // Copies the block tables, host int32 [kv_max_sequences][kv_max_blocks_per_sequence] of block ids
  // (-1 = none), to the device for the following kv_write / attention calls (before a step, after
  // tables changed). Returns once the host array has been read.
  virtual void kv_upload_tables(const int32_t* tables) = 0;
  virtual void kv_write(int64_t layer, const float* k, const float* v, const int32_t* sequences,
                        const int32_t* positions, int64_t rows) = 0;
  virtual void attention(float* out, const float* q, int64_t layer, const int32_t* sequences,
                         const int32_t* positions, int64_t rows, int64_t heads) = 0;

  // ---- CUDA graphs (the engine's decode steps) ----
  // Between begin_capture and end_capture the calls above are recorded, not run (no upload, download,
  // allocate or release in between: those need the host). end_capture(true) returns the id of the
  // recorded graph; replay(id) runs it again on the stream, with the pointers and shapes it was recorded
  // with (the buffers' contents may change). end_capture(false) discards the recording (after an error
  // during it). drop_graphs releases every graph (before a recorded buffer is freed).
  virtual void begin_capture() = 0;
  virtual int end_capture(bool keep) = 0;
  virtual void replay(int graph) = 0;
  virtual void drop_graphs() = 0;

  // ---- sampling (kernels/cuda/generation.h's sample_tokens; device arrays) ----
  virtual void sample(int32_t* tokens, float* logits, int64_t rows, int64_t vocab, const GenerationSampling* params,
                      const int32_t* history, const int64_t* history_offsets, uint32_t* seen) = 0;
};

// The generation interface of CUDA device `index` through the loaded plugin; a tt::Error naming the
// device and the reason (no plugin, no device, another plugin version) when there is none.
std::unique_ptr<GenerationDevice> open_generation_device(int index);

}  // namespace tt

extern "C" {
// Bumped whenever GenerationDevice changes.
inline constexpr int kTtGenerationDeviceAbi = 4;
// A new GenerationDevice on CUDA device `index` (the caller deletes it), or nullptr with a one-line
// reason in `error`.
using TtCudaGenerationDeviceFn = tt::GenerationDevice* (*)(int index, int abi, char* error, size_t error_size);
}
