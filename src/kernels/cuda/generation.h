// The CUDA kernels of generation (issue 15), batch-invariant by construction: every output row is
// reduced in an order fixed by that row alone (its sequence length, the model's shapes), never by the
// number of rows in the call, their order or their neighbours — no split-K chosen by batch size.
//   - a paged KV cache in device memory (the layout of infer/kv_cache.h: a block holds, for every
//     layer, K and V of its slots: [layer][k|v][slot][kv_heads * head_dim]) and its block allocator;
//   - paged attention for decode and for prefill over cached prefixes (each query row attends to
//     positions 0..p of its own sequence through the block table; for head_dim 64 and 128 one block
//     serves all query heads of a KV head and walks the positions in tiles of 32, other shapes take a
//     generic kernel: the choice depends on the shapes and the device, never on the rows);
//   - a row-invariant GEMM (each output is one FMA chain over k = 0..K-1 in order, as kernels/cpu/packed_gemm.h:
//     the same bits as the CPU engine's gemm);
//   - sampling on the device (repetition penalty, greedy, temperature, top-k, top-p, min-p) with the
//     uniform draw taken from the request's own host RNG stream, as the CPU engine's sampler does.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tt::cuda {

// ---- paged KV cache ----

struct PagedKvShape {
  int64_t layers = 1, kv_heads = 1, head_dim = 1, block_size = 16;
  constexpr int64_t row() const { return kv_heads * head_dim; }
  constexpr int64_t block_floats() const { return layers * 2 * block_size * row(); }
};

// The device view the kernels take: the block pool and the block tables of the sequences.
struct PagedKvView {
  float* pool = nullptr;              // [blocks][layers][2][block_size][row]
  const int32_t* tables = nullptr;    // [sequences][max_blocks_per_sequence] block ids
  int64_t max_blocks_per_sequence = 0;
  PagedKvShape shape;
};

// Owns the pool in device memory and hands blocks out; the block tables live on the host (the
// scheduler's) and are uploaded with upload_tables before a step. Sized from the device's free memory:
// `memory_fraction` of what cudaMemGetInfo reports free when the pool is made.
class DevicePagedKv {
 public:
  DevicePagedKv(const PagedKvShape& shape, int64_t max_sequences, int64_t max_positions, double memory_fraction);
  // An explicit number of blocks (tests, benchmarks).
  DevicePagedKv(const PagedKvShape& shape, int64_t max_sequences, int64_t max_positions, int64_t blocks);
  ~DevicePagedKv();
  DevicePagedKv(const DevicePagedKv&) = delete;
  DevicePagedKv& operator=(const DevicePagedKv&) = delete;

  // A new empty sequence, or -1 when max_sequences are live (the scheduler queues the request).
  int32_t new_sequence();
  void free_sequence(int32_t seq);
  // Whether positions [0, tokens) of `seq` fit in the free blocks (the scheduler queues when not).
  bool can_reserve(int32_t seq, int64_t tokens) const;
  // Makes room for positions [0, tokens); a tt-style one-line std::runtime_error when the pool is full
  // or `tokens` exceeds max_positions.
  void reserve(int32_t seq, int64_t tokens);
  const std::vector<int32_t>& block_table(int32_t seq) const { return tables_[seq]; }

  // Copies the block tables to the device (after reserve / free, before the step's kernels).
  void upload_tables(cudaStream_t stream);
  // Copies block tables kept elsewhere (the engine's host allocator, infer/kv_blocks.h) instead:
  // host int32 [max_sequences][max_blocks_per_sequence], -1 = none; this object's own allocator is
  // then unused. Returns once `tables` has been read.
  void upload_tables(const int32_t* tables, cudaStream_t stream);
  int64_t max_sequences() const { return max_sequences_; }
  int64_t max_blocks_per_sequence() const { return max_blocks_per_sequence_; }
  PagedKvView view() const;

  int64_t blocks_total() const { return blocks_; }
  int64_t blocks_free() const { return static_cast<int64_t>(free_blocks_.size()); }
  size_t pool_bytes() const { return static_cast<size_t>(blocks_) * shape_.block_floats() * sizeof(float); }

 private:
  void allocate();

  PagedKvShape shape_;
  int64_t max_sequences_, max_blocks_per_sequence_, blocks_;
  float* pool_ = nullptr;
  int32_t* device_tables_ = nullptr;
  std::vector<int32_t> host_tables_;  // [max_sequences][max_blocks_per_sequence], -1 = none
  std::vector<std::vector<int32_t>> tables_;
  std::vector<int32_t> free_blocks_;
  std::vector<uint8_t> live_;
};

// Writes the K and V of `rows` token rows ([rows, row] each) of layer `layer` into their slots:
// row i goes to sequence sequences[i] at position positions[i] (already reserved).
void paged_kv_write(const PagedKvView& kv, int64_t layer, const float* k, const float* v, const int32_t* sequences,
                    const int32_t* positions, int64_t rows, cudaStream_t stream);

// out[i, h, :] = softmax(q[i, h] · K[0..p_i] / sqrt(D)) · V[0..p_i] over row i's sequence (K/V of
// layer `layer`, positions 0..positions[i], all already written). q, out: [rows, heads, head_dim];
// heads a multiple of kv_heads (grouped-query); head_dim at most 256. The reduction over positions
// has a fixed order that depends only on positions[i].
void paged_attention(float* out, const float* q, const PagedKvView& kv, int64_t layer, const int32_t* sequences,
                     const int32_t* positions, int64_t rows, int64_t heads, cudaStream_t stream);

// ---- row-invariant GEMM: y[m, n] (+)= sum_k x[m, k] * w[n, k], w in HF Linear layout [out, in] ----
// One FMA chain per output from 0, then added to y when accumulating: the result of a row depends only
// on that row and w, and equals kernels/cpu/packed_gemm.h's bit for bit. x must not alias y.
// fp32 w: the chain over k in order.
void rowinv_gemm_f32(const float* x, int64_t m, const float* w, int64_t n, int64_t k, float* y, bool accumulate,
                     cudaStream_t stream);
// w as bf16 bits (uint16, round-to-nearest-even of the fp32 weights), row-major [n, k]: x rounded to
// bf16, the chain over the pairs (k, k+1) in order, odd product first (the CPU's bf16 product).
void rowinv_gemm_bf16(const float* x, int64_t m, const uint16_t* w, int64_t n, int64_t k, float* y, bool accumulate,
                      cudaStream_t stream);
// The same product on the tensor cores: x rounded to bf16 (nearest even) as it is staged, bf16 w, fp32
// accumulation in a fixed order over k (no split-K). The block tile is picked from m, n and the SM count
// (kernels/cuda/rowinv_gemm_tiles.h), and every tile computes the same bits. Row-invariant (a row's bits
// depend only on that row and w, whatever m), but not the FMA chain above bit for bit: the generation
// device's default in bf16 mode.
void rowinv_gemm_bf16_tensor_cores(const float* x, int64_t m, const uint16_t* w, int64_t n, int64_t k, float* y,
                                   bool accumulate, cudaStream_t stream);

// ---- sampling on the device ----

struct DeviceSampling {
  float temperature = 1.0f;  // 0 = greedy
  float top_p = 1.0f;
  int32_t top_k = 0;         // 0 = off
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int32_t prompt_length = 0;   // of the row's history, the prompt's tokens (the rest are generated)
  int32_t history_length = 0;  // of the row's span, the history (the rest are ids held back)
  double uniform = 0.0;      // the draw in [0, 1) from the request's Rng (unused when greedy)
};

// One token per row of logits [rows, vocab]; logits are modified in place (ids held back, penalties).
// Row r's span [history_offsets[r], history_offsets[r + 1]) of `history` holds its prompt + generated
// tokens (history_length of them, read for the penalties) and then the ids it may not draw yet
// (min_tokens), whose logits become -inf. The penalties follow the CPU's apply_penalties (vLLM's order
// and rounding). seen: [rows, vocab] words of scratch, all zero on entry and left zero. Greedy rows
// (temperature 0 or top_k 1) take the lowest id among the largest logits;
// sampled rows keep the candidates of the CPU's filter_candidates (temperature, top-k, top-p, min-p;
// order: higher logit first, ties lower id first) and return the first whose cumulative probability
// exceeds `uniform` in that order.
void sample_tokens(int32_t* tokens, float* logits, int64_t rows, int64_t vocab, const DeviceSampling* params,
                   const int32_t* history, const int64_t* history_offsets, uint32_t* seen, cudaStream_t stream);

}  // namespace tt::cuda
