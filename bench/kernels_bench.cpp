// Micro-benchmarks of the CPU kernels on the MobileLLM-R1-140M shapes (hidden 576, 9/3 heads of 64,
// FFN 2048, vocab 128256). FLOP rates are counters ("flops" per second) in the output.
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/classifier.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rmsnorm.h"

namespace tt {
namespace {

std::vector<float> filled(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - scale / 2;
  return v;
}

void BM_AttentionForward(benchmark::State& state) {
  const int64_t T = state.range(0);
  AttentionShape s{1, T, 9, 3, 64};
  auto q = filled(T * 9 * 64, 1), k = filled(T * 3 * 64, 1), v = filled(T * 3 * 64, 1);
  std::vector<float> out(q.size()), lse(9 * T);
  for (auto _ : state) attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), nullptr, s);
  // QK^T and PV over the causal half: 2 * 2 * T^2/2 * D per head
  state.counters["flops"] = benchmark::Counter(2.0 * T * T * 64 * 9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AttentionForward)->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond);

void BM_AttentionBackward(benchmark::State& state) {
  const int64_t T = state.range(0);
  AttentionShape s{1, T, 9, 3, 64};
  auto q = filled(T * 9 * 64, 1), k = filled(T * 3 * 64, 1), v = filled(T * 3 * 64, 1), d = filled(T * 9 * 64, 1);
  std::vector<float> out(q.size()), lse(9 * T), dq(q.size()), dk(k.size()), dv(v.size());
  attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), nullptr, s);
  for (auto _ : state)
    attention_backward(dq.data(), dk.data(), dv.data(), d.data(), out.data(), lse.data(), q.data(), k.data(), v.data(),
                       nullptr, s);
  // recomputed QK^T plus dP, dQ, dK, dV: 5 products over the causal half
  state.counters["flops"] = benchmark::Counter(5.0 * T * T * 64 * 9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AttentionBackward)->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond);

void BM_MatmulFfnUp(benchmark::State& state) {
  const int64_t M = state.range(0);
  const Precision precision = state.range(1) ? Precision::BF16 : Precision::FP32;
  auto a = filled(M * 576, 1), w = filled(2048 * 576, 0.1f);
  std::vector<float> c(M * 2048);
  for (auto _ : state) matmul(a.data(), w.data(), c.data(), M, 2048, 576, {.trans_b = true, .precision = precision});
  state.counters["flops"] = benchmark::Counter(2.0 * M * 2048 * 576, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MatmulFfnUp)->Args({512, 0})->Args({4096, 0})->Args({512, 1})->Unit(benchmark::kMillisecond);

void BM_ClassifierForwardBackward(benchmark::State& state) {
  const int64_t N = state.range(0), V = 128256, C = 576;
  auto h = filled(N * C, 1), e = filled(V * C, 0.05f);
  std::vector<int32_t> targets(N);
  for (int64_t i = 0; i < N; ++i) targets[i] = static_cast<int32_t>((i * 7919) % V);
  std::vector<float> weights(N, 1.0f / N), dh(N * C), de(V * C, 0.0f);
  ClassifierGrad grad{weights.data(), TokenLoss::NLL, dh.data(), de.data()};
  for (auto _ : state)
    classifier_forward_backward(h.data(), e.data(), targets.data(), N, V, C, &grad, nullptr, Precision::FP32);
  state.counters["flops"] = benchmark::Counter(6.0 * N * V * C, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ClassifierForwardBackward)->Arg(512)->Unit(benchmark::kMillisecond);

void BM_RmsNormForwardBackward(benchmark::State& state) {
  const int64_t N = state.range(0), C = 576;
  auto x = filled(N * C, 1), w = filled(C, 1), dy = filled(N * C, 1);
  std::vector<float> y(N * C), rstd(N), dx(N * C), dw(C);
  for (auto _ : state) {
    rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
    rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, C);
  }
  state.counters["bytes"] = benchmark::Counter(5.0 * N * C * 4, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_RmsNormForwardBackward)->Arg(4096)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tt
