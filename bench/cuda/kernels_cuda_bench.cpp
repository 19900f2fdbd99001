// Timings of the CUDA kernels on the shapes of the MobileLLM-R1-140M study setting (batch 2 x seq
// 4096 by default): the bf16 cuBLASLt GEMMs of one layer (TFLOP/s), attention forward + backward,
// the fused classifier + cross-entropy forward + backward over the 128k vocabulary, and RMSNorm.
// Prints one "name value unit" line per measurement (scripts/gpu-check.sh tabulates them).
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "cuda_timing.h"
#include "kernels/cuda/attention_tensor_cores.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/classifier.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/ops.h"

namespace {

using namespace tt::cuda;
using tt::cuda::bench::time_ms;

template <typename T>
T* device_array(size_t count, unsigned char byte = 0) {
  void* p = nullptr;
  TT_CUDA_CHECK(cudaMalloc(&p, sizeof(T) * count));
  TT_CUDA_CHECK(cudaMemset(p, byte, sizeof(T) * count));
  return static_cast<T*>(p);
}

int run(int64_t batch, int64_t seq) {
  const int64_t tokens = batch * seq, hidden = 576, heads = 9, kv_heads = 3, head_dim = 64, ffn = 2048, vocab = 128256;
  cudaDeviceProp prop{};
  TT_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device %s\n", prop.name);
  Blas blas;
  // Small random-ish values: 0x3c bytes are bf16 ~0.0114 and finite floats.
  auto* x = device_array<uint16_t>(tokens * ffn * 2, 0x3c);
  auto* w = device_array<uint16_t>(int64_t(4096) * ffn, 0x3c);
  auto* y = device_array<float>(tokens * 4096);
  struct Shape {
    const char* name;
    int64_t n, k;
  };
  const Shape shapes[] = {{"qkv", (heads + 2 * kv_heads) * head_dim, hidden},
                          {"o", hidden, heads * head_dim},
                          {"gate_up", 2 * ffn, hidden},
                          {"down", hidden, ffn}};
  double total_flops = 0, total_ms = 0;
  for (const Shape& s : shapes) {
    // Forward (x W^T) and the two backward products (dy W, dy^T x), as training runs them.
    double ms = time_ms(10, [&] { blas.gemm(x, w, y, tokens, s.n, s.k, {.trans_b = true, .type = GemmType::BF16}, nullptr); });
    ms += time_ms(10, [&] { blas.gemm(x, w, y, tokens, s.k, s.n, {.type = GemmType::BF16}, nullptr); });
    ms += time_ms(10, [&] {
      blas.gemm(x, x, y, s.n, s.k, tokens, {.trans_a = true, .accumulate = true, .type = GemmType::BF16}, nullptr);
    });
    const double flops = 3.0 * 2.0 * tokens * s.n * s.k;
    std::printf("gemm_%s_fwd_bwd %.1f TFLOP/s\n", s.name, flops / ms / 1e9);
    total_flops += flops;
    total_ms += ms;
  }
  std::printf("gemm_layer_bf16 %.1f TFLOP/s\n", total_flops / total_ms / 1e9);
  cudaFree(x);
  cudaFree(w);
  cudaFree(y);

  auto* q = device_array<float>(tokens * heads * head_dim, 0x3c);
  auto* k = device_array<float>(tokens * kv_heads * head_dim, 0x3c);
  auto* v = device_array<float>(tokens * kv_heads * head_dim, 0x3c);
  auto* out = device_array<float>(tokens * heads * head_dim);
  auto* dq = device_array<float>(tokens * heads * head_dim);
  auto* dk = device_array<float>(tokens * kv_heads * head_dim);
  auto* dv = device_array<float>(tokens * kv_heads * head_dim);
  auto* lse = device_array<float>(tokens * heads);
  // Causal attention: 2 * 2 * T^2/2 * D FLOPs per head forward, 2.5x that backward. The bf16 shape
  // runs the tensor-core kernels (the training step's path in bf16), the fp32 one the simple kernels.
  const double attention_flops = 2.0 * batch * heads * double(seq) * seq * head_dim;
  // bf16 on both tensor-core families (wmma: attention_fwd, mma.sync: attention_fwd_mma), then fp32.
  struct AttentionRun {
    bool bf16;
    TensorCoreAttentionKernels kernels;
    const char* suffix;
  };
  const TensorCoreAttentionKernels chosen = tensor_core_attention_kernels();
  for (const AttentionRun run : {AttentionRun{true, TensorCoreAttentionKernels::wmma, ""},
                                 AttentionRun{true, TensorCoreAttentionKernels::mma, "_mma"},
                                 AttentionRun{false, TensorCoreAttentionKernels::wmma, "_fp32"}}) {
    set_tensor_core_attention_kernels(run.kernels);
    AttentionShape shape{batch, seq, heads, kv_heads, head_dim, run.bf16};
    const char* suffix = run.suffix;
    auto* scratch = device_array<float>(attention_scratch_floats(shape));
    const double fwd = time_ms(3, [&] { attention_forward(out, lse, q, k, v, nullptr, shape, scratch, nullptr); });
    const double bwd =
        time_ms(3, [&] { attention_backward(dq, dk, dv, out, out, lse, q, k, v, nullptr, shape, scratch, nullptr); });
    std::printf("attention_fwd%s %.2f ms\n", suffix, fwd);
    std::printf("attention_bwd%s %.2f ms\n", suffix, bwd);
    std::printf("attention_fwd_rate%s %.2f TFLOP/s\n", suffix, attention_flops / fwd / 1e9);
    std::printf("attention_bwd_rate%s %.2f TFLOP/s\n", suffix, 2.5 * attention_flops / bwd / 1e9);
    cudaFree(scratch);
  }
  set_tensor_core_attention_kernels(chosen);
  for (float* p : {q, k, v, out, dq, dk, dv, lse}) cudaFree(p);

  auto* h = device_array<float>(tokens * hidden, 0x3c);
  auto* wf = device_array<float>(vocab * hidden, 0x3c);
  auto* wb = device_array<uint16_t>(vocab * hidden, 0x3c);
  auto* dh = device_array<float>(tokens * hidden);
  auto* dw = device_array<float>(vocab * hidden);
  auto* token_weights = device_array<float>(tokens, 0x3c);
  auto* targets = device_array<int32_t>(tokens, 0);
  ClassifierWorkspace workspace(1024, vocab, hidden);
  DeviceClassifierGrad grad{token_weights, tt::TokenLoss::NLL, dh, dw};
  const double classifier = time_ms(3, [&] {
    classifier_forward_backward(blas, workspace, h, wf, wb, targets, tokens, &grad, nullptr, GemmType::BF16, nullptr);
  });
  std::printf("classifier_ce_fwd_bwd %.2f ms\n", classifier);
  std::printf("classifier_ce_rate %.1f TFLOP/s\n", 3.0 * 2.0 * tokens * vocab * hidden / classifier / 1e9);
  auto* rstd = device_array<float>(tokens);
  const double norm = time_ms(20, [&] {
    rmsnorm_forward(dh, rstd, h, wf, tokens, hidden, 1e-5f, nullptr);
    rmsnorm_backward(dh, dw, h, h, wf, rstd, tokens, hidden, nullptr);
  });
  std::printf("rmsnorm_fwd_bwd %.3f ms\n", norm);
  size_t free_bytes = 0, total_bytes = 0;
  TT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  std::printf("device_memory_used %.2f GiB\n", (total_bytes - free_bytes) / 1073741824.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int64_t batch = argc > 1 ? std::atoll(argv[1]) : 2, seq = argc > 2 ? std::atoll(argv[2]) : 4096;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
      std::fprintf(stderr, "kernels_cuda_bench: no CUDA device\n");
      return 2;
    }
    return run(batch, seq);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kernels_cuda_bench: %s\n", e.what());
    return 1;
  }
}
