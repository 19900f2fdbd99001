// Timings of the generation kernels (kernels/cuda/generation.h) on MobileLLM-R1-140M's shapes with
// random bf16 weights: one decode step of `batch` sequences at `context` cached tokens (every layer's
// seven row-invariant GEMMs, the K/V write and paged attention, the lm_head over the 128k vocabulary
// and greedy device sampling), the paged attention kernel alone for one layer of that step, one
// prefill chunk of `prefill` tokens over a cached prefix, and the tensor-core GEMM's block tiles
// (kernels/cuda/rowinv_gemm_tiles.h) one by one on the decode products at 1, 64 and 256 rows, in both
// kernel families (wmma, mma): TFLOP/s per tile and the one the engine picks on "# " lines, and per
// row count the GEMMs of a whole decode step with the picked tiles (each family) and with wmma 64x128
// alone. The RMSNorm/RoPE/SwiGLU kernels and the host
// scheduler are not in it: this bounds the engine's step from below, it is not `bench generate`. Prints "name value unit" lines (scripts/gpu-check.sh tabulates
// them). Usage: tinythink_generation_bench [batch=256] [context=1024] [prefill=2048]
#include <cuda_runtime_api.h>

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "cuda_timing.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/generation.h"
#include "kernels/cuda/rowinv_gemm_tiles.h"

namespace {

using namespace tt::cuda;
using tt::cuda::bench::time_ms;

constexpr int64_t kLayers = 15, kHidden = 576, kHeads = 9, kKvHeads = 3, kHeadDim = 64, kFfn = 2048, kVocab = 128256;

template <typename T>
T* device_array(size_t count, int byte = 0) {
  T* p = nullptr;
  TT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p), sizeof(T) * (count ? count : 1)));
  TT_CUDA_CHECK(cudaMemset(p, byte, sizeof(T) * (count ? count : 1)));
  return p;
}

template <typename T>
T* upload(const std::vector<T>& host) {
  T* p = device_array<T>(host.size());
  TT_CUDA_CHECK(cudaMemcpy(p, host.data(), sizeof(T) * host.size(), cudaMemcpyHostToDevice));
  return p;
}

struct Weights {
  uint16_t *wq, *wk, *wv, *wo, *gate, *up, *down, *lm_head;
};

// bf16 weights of small magnitude (0x3c00 ~ 0.0078, sign and low bits varied).
uint16_t* random_bf16(int64_t count, uint32_t seed) {
  std::vector<uint16_t> host(count);
  for (int64_t i = 0; i < count; ++i) {
    seed = seed * 1664525u + 1013904223u;
    host[i] = static_cast<uint16_t>(0x3c00 | (seed >> 16 & 0x80ff) | ((seed >> 8) & 0x8000));
  }
  return upload(host);
}

// Rows of `sequences` at `positions`: the projections, K/V write and attention of every layer.
void layers(const Weights& w, const PagedKvView& kv, int64_t rows, const int32_t* sequences, const int32_t* positions,
            float* x, float* q, float* k, float* v, float* attn, float* gate, float* up) {
  for (int64_t l = 0; l < kLayers; ++l) {
    rowinv_gemm_bf16_tensor_cores(x, rows, w.wq, kHeads * kHeadDim, kHidden, q, false, nullptr);
    rowinv_gemm_bf16_tensor_cores(x, rows, w.wk, kKvHeads * kHeadDim, kHidden, k, false, nullptr);
    rowinv_gemm_bf16_tensor_cores(x, rows, w.wv, kKvHeads * kHeadDim, kHidden, v, false, nullptr);
    paged_kv_write(kv, l, k, v, sequences, positions, rows, nullptr);
    paged_attention(attn, q, kv, l, sequences, positions, rows, kHeads, nullptr);
    rowinv_gemm_bf16_tensor_cores(attn, rows, w.wo, kHidden, kHeads * kHeadDim, x, true, nullptr);
    rowinv_gemm_bf16_tensor_cores(x, rows, w.gate, kFfn, kHidden, gate, false, nullptr);
    rowinv_gemm_bf16_tensor_cores(x, rows, w.up, kFfn, kHidden, up, false, nullptr);
    rowinv_gemm_bf16_tensor_cores(gate, rows, w.down, kHidden, kFfn, x, true, nullptr);
  }
}

// Each block tile of the tensor-core GEMM on the decode products of `rows` rows, and the GEMMs of one
// decode step (15 layers' seven products and the lm_head) timed as the sum of their parts.
void gemm_tiles(const Weights& w, int64_t rows, const float* x, float* y) {
  struct Product {
    const char* name;
    const uint16_t* w;
    int64_t n, k, per_step;  // times per decode step
  };
  const Product products[] = {{"q_o_proj", w.wq, kHeads * kHeadDim, kHidden, 2 * kLayers},
                              {"k_v_proj", w.wk, kKvHeads * kHeadDim, kHidden, 2 * kLayers},
                              {"gate_up_proj", w.gate, kFfn, kHidden, 2 * kLayers},
                              {"down_proj", w.down, kHidden, kFfn, kLayers},
                              {"lm_head", w.lm_head, kVocab, kHidden, 1}};
  double step_auto_ms[2] = {}, step_64x128_ms = 0;  // [family]: wmma, mma
  for (const Product& p : products) {
    const RowInvTile picked = rowinv_auto_tile(rows, p.n);
    for (RowInvGemmKernels family : {RowInvGemmKernels::wmma, RowInvGemmKernels::mma})
      for (RowInvTile tile : kRowInvTiles) {
        const double ms = time_ms(p.n > 100000 ? 5 : 20, [&] {
          rowinv_gemm_bf16_tensor_cores_tile(tile, family, x, rows, p.w, p.n, p.k, y, false, nullptr);
        });
        std::printf("# rowinv m%lld %-12s %6lldx%-4lld %-4s tile %-6s %5lld blocks %8.4f ms %7.2f TFLOP/s%s\n",
                    static_cast<long long>(rows), p.name, static_cast<long long>(p.n), static_cast<long long>(p.k),
                    rowinv_gemm_kernels_name(family), rowinv_tile_name(tile),
                    static_cast<long long>(rowinv_tile_blocks(tile, rows, p.n)), ms,
                    2.0 * rows * p.n * p.k / (ms / 1e3) / 1e12, tile == picked ? "  <- picked" : "");
        if (tile == picked) step_auto_ms[static_cast<int>(family)] += p.per_step * ms;
        if (tile == RowInvTile::k64x128 && family == RowInvGemmKernels::wmma) step_64x128_ms += p.per_step * ms;
      }
  }
  std::printf("rowinv_decode_gemms_m%lld_picked %.3f ms\n", static_cast<long long>(rows), step_auto_ms[0]);
  std::printf("rowinv_decode_gemms_m%lld_picked_mma %.3f ms\n", static_cast<long long>(rows), step_auto_ms[1]);
  std::printf("rowinv_decode_gemms_m%lld_64x128 %.3f ms\n", static_cast<long long>(rows), step_64x128_ms);
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t batch = argc > 1 ? std::atoll(argv[1]) : 256, context = argc > 2 ? std::atoll(argv[2]) : 1024,
                prefill = argc > 3 ? std::atoll(argv[3]) : 2048;
  try {
    cudaDeviceProp prop{};
    TT_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    std::printf("device %s\n", prop.name);
    const Weights w{random_bf16(kHeads * kHeadDim * kHidden, 1), random_bf16(kKvHeads * kHeadDim * kHidden, 2),
                    random_bf16(kKvHeads * kHeadDim * kHidden, 3), random_bf16(kHidden * kHeads * kHeadDim, 4),
                    random_bf16(kFfn * kHidden, 5),                random_bf16(kFfn * kHidden, 6),
                    random_bf16(kHidden * kFfn, 7),                random_bf16(kVocab * kHidden, 8)};
    const int64_t sequences = batch > 1 ? batch : 1, rows_max = std::max(batch, prefill);
    DevicePagedKv kv({kLayers, kKvHeads, kHeadDim, 16}, sequences, context + prefill, 0.5);
    std::vector<int32_t> ids(sequences);
    for (int64_t s = 0; s < sequences; ++s) {
      ids[s] = kv.new_sequence();
      kv.reserve(ids[s], s == 0 ? context + prefill : context);
    }
    kv.upload_tables(nullptr);
    float *x = device_array<float>(rows_max * kHidden), *q = device_array<float>(rows_max * kHeads * kHeadDim),
          *k = device_array<float>(rows_max * kKvHeads * kHeadDim),
          *v = device_array<float>(rows_max * kKvHeads * kHeadDim),
          *attn = device_array<float>(rows_max * kHeads * kHeadDim), *gate = device_array<float>(rows_max * kFfn),
          *up = device_array<float>(rows_max * kFfn), *logits = device_array<float>(batch * kVocab);
    // Decode: every sequence's next token at position context - 1 (the cache holds 0..context-2).
    std::vector<int32_t> positions(batch, static_cast<int32_t>(context - 1));
    int32_t *d_seqs = upload(ids), *d_pos = upload(positions), *tokens = device_array<int32_t>(batch);
    std::vector<DeviceSampling> greedy(batch);
    for (auto& p : greedy) p.temperature = 0.0f;
    std::vector<uint8_t> params_bytes(sizeof(DeviceSampling) * batch);
    std::memcpy(params_bytes.data(), greedy.data(), params_bytes.size());
    auto* params = reinterpret_cast<DeviceSampling*>(upload(params_bytes));
    int32_t* history = device_array<int32_t>(1);
    int64_t* offsets = device_array<int64_t>(batch + 1);
    uint32_t* seen = device_array<uint32_t>(1);
    const double decode_ms = time_ms(5, [&] {
      layers(w, kv.view(), batch, d_seqs, d_pos, x, q, k, v, attn, gate, up);
      rowinv_gemm_bf16_tensor_cores(x, batch, w.lm_head, kVocab, kHidden, logits, false, nullptr);
      sample_tokens(tokens, logits, batch, kVocab, params, history, offsets, seen, nullptr);
    });
    std::printf("decode_step_b%lld_ctx%lld %.3f ms\n", static_cast<long long>(batch), static_cast<long long>(context),
                decode_ms);
    std::printf("decode_tokens_per_s %.0f tok/s\n", batch / (decode_ms / 1e3));
    {  // The same step with the other GEMM family (rowinv_gemm_tiles.h): wmma against mma.
      const RowInvGemmKernels before = rowinv_gemm_kernels();
      const RowInvGemmKernels other =
          before == RowInvGemmKernels::wmma ? RowInvGemmKernels::mma : RowInvGemmKernels::wmma;
      set_rowinv_gemm_kernels(other);
      const double other_ms = time_ms(5, [&] {
        layers(w, kv.view(), batch, d_seqs, d_pos, x, q, k, v, attn, gate, up);
        rowinv_gemm_bf16_tensor_cores(x, batch, w.lm_head, kVocab, kHidden, logits, false, nullptr);
        sample_tokens(tokens, logits, batch, kVocab, params, history, offsets, seen, nullptr);
      });
      set_rowinv_gemm_kernels(before);
      std::printf("decode_step_b%lld_ctx%lld_%s_gemm %.3f ms\n", static_cast<long long>(batch),
                  static_cast<long long>(context), rowinv_gemm_kernels_name(other), other_ms);
      std::printf("# GEMM family of the rows above and below: %s\n", rowinv_gemm_kernels_name(before));
    }
    // The step's parts: the 15 layers, the lm_head over the vocabulary, greedy sampling.
    const double layers_ms =
        time_ms(5, [&] { layers(w, kv.view(), batch, d_seqs, d_pos, x, q, k, v, attn, gate, up); });
    const double lm_head_ms =
        time_ms(5, [&] { rowinv_gemm_bf16_tensor_cores(x, batch, w.lm_head, kVocab, kHidden, logits, false, nullptr); });
    const double sample_ms =
        time_ms(5, [&] { sample_tokens(tokens, logits, batch, kVocab, params, history, offsets, seen, nullptr); });
    std::printf("decode_layers_b%lld %.3f ms\n", static_cast<long long>(batch), layers_ms);
    std::printf("decode_lm_head_b%lld %.3f ms\n", static_cast<long long>(batch), lm_head_ms);
    std::printf("decode_greedy_sampling_b%lld %.3f ms\n", static_cast<long long>(batch), sample_ms);
    // Sampled decoding as `pairs` runs it (temperature 0.6, top-p 0.95, top-k 50, a fixed draw).
    std::vector<DeviceSampling> sampled(batch);
    for (int64_t i = 0; i < batch; ++i) {
      sampled[i].temperature = 0.6f;
      sampled[i].top_p = 0.95f;
      sampled[i].top_k = 50;
      sampled[i].uniform = (i + 0.5) / batch;
    }
    std::vector<uint8_t> sampled_bytes(sizeof(DeviceSampling) * batch);
    std::memcpy(sampled_bytes.data(), sampled.data(), sampled_bytes.size());
    auto* sampled_params = reinterpret_cast<DeviceSampling*>(upload(sampled_bytes));
    const double sampled_ms = time_ms(3, [&] {
      sample_tokens(tokens, logits, batch, kVocab, sampled_params, history, offsets, seen, nullptr);
    });
    std::printf("decode_topp_topk_sampling_b%lld %.3f ms\n", static_cast<long long>(batch), sampled_ms);
    // The paged attention kernel alone: one layer of that decode step, and the K/V bytes it reads per second.
    const double attention_ms =
        time_ms(20, [&] { paged_attention(attn, q, kv.view(), 0, d_seqs, d_pos, batch, kHeads, nullptr); });
    const double kv_bytes = static_cast<double>(batch) * context * kKvHeads * kHeadDim * 2 * sizeof(float);
    std::printf("paged_attention_b%lld_ctx%lld %.4f ms\n", static_cast<long long>(batch),
                static_cast<long long>(context), attention_ms);
    std::printf("paged_attention_kv_read %.0f GB/s\n", kv_bytes / (attention_ms / 1e3) / 1e9);
    // Prefill: `prefill` new tokens of sequence 0 after its `context` cached ones (no lm_head).
    std::vector<int32_t> prefill_seqs(prefill, ids[0]), prefill_pos(prefill);
    for (int64_t i = 0; i < prefill; ++i) prefill_pos[i] = static_cast<int32_t>(context + i);
    int32_t *d_pseqs = upload(prefill_seqs), *d_ppos = upload(prefill_pos);
    const double prefill_ms =
        time_ms(3, [&] { layers(w, kv.view(), prefill, d_pseqs, d_ppos, x, q, k, v, attn, gate, up); });
    std::printf("prefill_chunk_%lld %.3f ms\n", static_cast<long long>(prefill), prefill_ms);
    std::printf("prefill_tokens_per_s %.0f tok/s\n", prefill / (prefill_ms / 1e3));
    // The GEMM's block tiles on the decode products (own buffers: up to 256 rows whatever `batch`).
    std::vector<float> x_host(256 * kFfn);
    for (size_t i = 0; i < x_host.size(); ++i) x_host[i] = static_cast<float>(static_cast<int>(i % 17) - 8) / 16.0f;
    float *tile_x = upload(x_host), *tile_y = device_array<float>(256 * kVocab);
    for (int64_t rows : {1, 64, 256}) gemm_tiles(w, rows, tile_x, tile_y);
    size_t free_bytes = 0, total_bytes = 0;
    TT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    std::printf("kv_pool %.2f GiB\n", kv.pool_bytes() / 1073741824.0);
    std::printf("device_memory_used %.2f GiB\n", (total_bytes - free_bytes) / 1073741824.0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinythink_generation_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
