// Micro-benchmarks of the CPU kernels, training's and the engine's, on the MobileLLM-R1-140M shapes
// (hidden 576, 9/3 heads of 64, FFN 2048, vocab 128256). FLOP rates are counters ("flops" per second)
// in the output.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/parallel_for.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/classifier.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/packed_gemm.h"
#include "kernels/cpu/paged_attention.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/row_dots.h"
#include "kernels/cpu/sampling.h"
#include "kernels/cpu/swiglu.h"
#include "model/transformer.h"
#include "train/optimizer.h"

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

// Runs the benchmark on instruction-set path `isa` (skipped where the CPU cannot run it); the
// active path is put back afterwards.
bool select_isa_for(benchmark::State& state, Isa isa) {
  if (!cpu_can_run(isa, cpu_features())) {
    state.SkipWithError((std::string(isa_name(isa)) + ": not on this CPU").c_str());
    return false;
  }
  select_isa(isa);
  state.SetLabel(isa_name(isa));
  return true;
}

// The engine's row-invariant GEMM on the FFN up-projection: decode (1 row), a batch of decode rows
// (32) and a prefill chunk (256); fp32 and bf16 weights; on the AVX2 (0), AVX-512 (1) and
// AVX512-BF16 (2: VDPBF16PS for bf16 weights, the AVX-512 kernel for fp32) paths.
void BM_PackedGemmFfnUp(benchmark::State& state) {
  const Isa before = active_isa();
  if (!select_isa_for(state, static_cast<Isa>(state.range(2)))) return;
  const int64_t M = state.range(0);
  auto x = filled(M * 576, 1), w = filled(2048 * 576, 0.1f);
  const PackedMatrix packed = state.range(1) ? pack_bf16(w.data(), 2048, 576) : pack_f32(w.data(), 2048, 576);
  std::vector<float> y(M * 2048);
  for (auto _ : state) packed_gemm(x.data(), M, packed.view(), y.data());
  state.counters["flops"] = benchmark::Counter(2.0 * M * 2048 * 576, benchmark::Counter::kIsIterationInvariantRate);
  select_isa(before);
}
BENCHMARK(BM_PackedGemmFfnUp)->ArgsProduct({{1, 32, 256}, {0, 1}, {0, 1, 2}})->Unit(benchmark::kMicrosecond);

// Decode's weight stream: one row through a vocabulary-sized bf16 head (128k x 576, 151 MB, far
// larger than the caches) and through an attention key projection (192 x 576, where few panels have
// to be split evenly among the threads); bytes/s of weights read, on the best path.
void BM_PackedGemmDecodeStream(benchmark::State& state) {
  const int64_t N = state.range(0), K = 576;
  auto x = filled(K, 1), w = filled(N * K, 0.1f);
  const PackedMatrix packed = pack_bf16(w.data(), N, K);
  std::vector<float> y(N);
  for (auto _ : state) packed_gemm(x.data(), 1, packed.view(), y.data());
  state.counters["bytes"] = benchmark::Counter(static_cast<double>(packed.bytes()), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(isa_name(active_isa()));
}
BENCHMARK(BM_PackedGemmDecodeStream)->Arg(131072)->Arg(192)->Unit(benchmark::kMicrosecond);

// Decode's layer weights: one row through the 140M model's 15 layers of bf16 projections in the
// engine's order (q/k/v stacked 960 x 576, o 576 x 576, gate/up stacked 4096 x 576, down 576 x 2048),
// 132 MB in 60 GEMMs of 0.7-4.7 MB. Against the one 151 MB head above: what starting and ending a
// parallel GEMM 60 times costs the stream.
void BM_PackedGemmDecodeLayers(benchmark::State& state) {
  struct Shape { int64_t n, k; };
  const Shape shapes[] = {{960, 576}, {576, 576}, {4096, 576}, {576, 2048}};
  std::vector<PackedMatrix> weights;
  for (int layer = 0; layer < 15; ++layer)
    for (const Shape& s : shapes) {
      auto w = filled(s.n * s.k, 0.1f);
      weights.push_back(pack_bf16(w.data(), s.n, s.k));
    }
  auto x = filled(2048, 1);
  std::vector<float> y(4096);
  double bytes = 0;
  for (const auto& w : weights) bytes += static_cast<double>(w.bytes());
  for (auto _ : state)
    for (const auto& w : weights) packed_gemm(x.data(), 1, w.view(), y.data());
  state.counters["bytes"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(isa_name(active_isa()));
}
BENCHMARK(BM_PackedGemmDecodeLayers)->Unit(benchmark::kMicrosecond);

// What entering a loop costs, whatever the loop does: 0 an OpenMP region that runs on one thread
// (`parallel for if (false)`), 1 a region over all the threads, 2 parallel_for of a loop not worth
// them (no region). libgomp ends each region with a futex call: ~1.2 us (0) and ~3.2 us (1, two
// threads) on the 2-vCPU VMs here, where a system call is slow; 2 is a plain loop.
void BM_LoopEntry(benchmark::State& state) {
  const int64_t mode = state.range(0);
  int64_t sink[4] = {};
  for (auto _ : state) {
    if (mode == 0) {
#pragma omp parallel for if (false)
      for (int64_t i = 0; i < 4; ++i) sink[i] += i;
    } else if (mode == 1) {
#pragma omp parallel for
      for (int64_t i = 0; i < 4; ++i) sink[i] += i;
    } else {
      parallel_for(4, false, [&](int64_t i) { sink[i] += i; });
    }
    benchmark::DoNotOptimize(sink);
  }
  state.SetLabel(mode == 0 ? "serial region" : mode == 1 ? "region on all threads" : "parallel_for, no region");
}
BENCHMARK(BM_LoopEntry)->Arg(0)->Arg(1)->Arg(2);

// SwiGLU forward over a prefill chunk's FFN activations (512 x 2048) on each path.
void BM_SwigluForward(benchmark::State& state) {
  const Isa before = active_isa();
  if (!select_isa_for(state, state.range(0) ? Isa::AVX512 : Isa::AVX2)) return;
  const int64_t n = 512 * 2048;
  auto g = filled(n, 0.5f), u = filled(n, 0.25f);
  std::vector<float> out(n);
  for (auto _ : state) swiglu_forward(out.data(), g.data(), u.data(), n);
  state.SetBytesProcessed(state.iterations() * n * 12);
  select_isa(before);
}
BENCHMARK(BM_SwigluForward)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// The engine's attention: `rows` decode rows, each over its own sequence of `context` cached positions
// in blocks of 16 (shuffled over the pool).
void BM_PagedAttentionDecode(benchmark::State& state) {
  const int64_t rows = state.range(0), T = state.range(1), H = 9, KVH = 3, D = 64, bs = 16;
  const int64_t blocks_per_row = (T + bs - 1) / bs, pool = rows * blocks_per_row;
  std::vector<std::vector<float>> keys(pool, filled(bs * KVH * D, 1)), values(pool, filled(bs * KVH * D, 1));
  std::vector<const float*> key_ptrs, value_ptrs;
  for (int64_t b = 0; b < pool; ++b) {
    key_ptrs.push_back(keys[b].data());
    value_ptrs.push_back(values[b].data());
  }
  std::vector<std::vector<int32_t>> tables(rows);  // a permutation of the pool (104729 is prime)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < blocks_per_row; ++j)
      tables[r].push_back(static_cast<int32_t>((r * blocks_per_row + j) * 104729 % pool));
  std::vector<const int32_t*> table_ptrs;
  for (auto& t : tables) table_ptrs.push_back(t.data());
  std::vector<int32_t> positions(rows, static_cast<int32_t>(T - 1));
  auto q = filled(rows * H * D, 1);
  std::vector<float> out(rows * H * D);
  const PagedAttentionParams params{.rows = rows, .heads = H, .kv_heads = KVH, .head_dim = D, .block_size = bs,
                                    .q = q.data(), .out = out.data(), .positions = positions.data(),
                                    .block_tables = table_ptrs.data(), .block_keys = key_ptrs.data(),
                                    .block_values = value_ptrs.data()};
  for (auto _ : state) paged_attention(params);
  state.counters["flops"] = benchmark::Counter(4.0 * rows * T * H * D, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_PagedAttentionDecode)->Args({1, 512})->Args({32, 512})->Args({32, 4096})->Unit(benchmark::kMicrosecond);

// The loss head over a training sequence (N rows of 128k logits) on the AVX2 (0) and AVX-512 (1) paths.
void BM_ClassifierForwardBackward(benchmark::State& state) {
  const Isa before = active_isa();
  if (!select_isa_for(state, state.range(1) ? Isa::AVX512 : Isa::AVX2)) return;
  const int64_t N = state.range(0), V = 128256, C = 576;
  auto h = filled(N * C, 1), e = filled(V * C, 0.05f);
  std::vector<int32_t> targets(N);
  for (int64_t i = 0; i < N; ++i) targets[i] = static_cast<int32_t>((i * 7919) % V);
  std::vector<float> weights(N, 1.0f / N), dh(N * C), de(V * C, 0.0f);
  ClassifierGrad grad{weights.data(), TokenLoss::NLL, dh.data(), de.data()};
  for (auto _ : state)
    classifier_forward_backward(h.data(), e.data(), targets.data(), N, V, C, &grad, nullptr, Precision::FP32);
  state.counters["flops"] = benchmark::Counter(6.0 * N * V * C, benchmark::Counter::kIsIterationInvariantRate);
  select_isa(before);
}
BENCHMARK(BM_ClassifierForwardBackward)->Args({512, 0})->Args({512, 1})->Unit(benchmark::kMillisecond);

// RMSNorm's row sums on one thread: `rows` rows of `dim` summed one row at a time as one scalar
// chain each (0: what rmsnorm did before row_dots) or in groups of rows across vector lanes (1), the
// same bits.
void BM_RowDots(benchmark::State& state) {
  const int64_t rows = state.range(0), dim = state.range(1);
  auto x = filled(rows * dim, 1);
  std::vector<float> sums(rows);
  for (auto _ : state) {
    if (state.range(2))
      row_dots(x.data(), x.data(), rows, dim, dim, sums.data());
    else
      for (int64_t r = 0; r < rows; ++r) sums[r] = row_dot(x.data() + r * dim, x.data() + r * dim, dim);
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetBytesProcessed(state.iterations() * rows * dim * 4);
}
// hidden-size norms of a 512-token sequence; the QK-norm's 512 x 9 heads of 64
BENCHMARK(BM_RowDots)->Args({512, 576, 0})->Args({512, 576, 1})->Args({4608, 64, 0})->Args({4608, 64, 1})
    ->Unit(benchmark::kMicrosecond);

// The optimizer tail over `n` parameters (bf16 copy kept, clipping active): 0 = the separate passes
// (norm + clip scale, AdamW, bf16 refresh, zeroing), 1 = the norm pass + the fused pass; the same bits.
void BM_OptimizerTail(benchmark::State& state) {
  const int64_t n = state.range(0);
  ParameterLayout layout;
  layout.slots.push_back({.name = "w", .offset = 0, .numel = n});
  layout.total = n;
  const std::vector<uint8_t> mask = weight_decay_mask(layout);
  std::vector<float> params = filled(n, 1), grads(n), bf16_copy;
  AdamWState adam;
  const AdamWConfig config{.weight_decay = 0.01};
  for (auto _ : state) {
    state.PauseTiming();
    grads = filled(n, 10);
    state.ResumeTiming();
    if (state.range(1)) {
      const double norm = gradient_norm(grads);
      adamw_fused_step(params, grads, adam, config, 1e-4, mask, layout, clip_coefficient(norm, 1.0), &bf16_copy);
    } else {
      clip_grad_norm(grads, 1.0);
      adamw_step(params, grads, adam, config, 1e-4, mask, layout);
      refresh_bf16_copy(params, bf16_copy);
      std::fill(grads.begin(), grads.end(), 0.0f);
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_OptimizerTail)->Args({int64_t{1} << 24, 0})->Args({int64_t{1} << 24, 1})->Unit(benchmark::kMillisecond);

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

// What the training backward does per norm, 512 tokens x 576 on one thread: 0 = the recomputed
// forward (row sums again), the backward into a scratch buffer and the residual add as separate
// passes (before), 1 = the forward from the saved rstd and the backward adding into the residual
// gradient in its own pass (after); the same bits.
void BM_RmsNormBackwardInStep(benchmark::State& state) {
  const int64_t N = 512, C = 576;
  auto x = filled(N * C, 1), w = filled(C, 1), dy = filled(N * C, 1);
  std::vector<float> h(N * C), rstd(N), scratch(N * C), dx_sum(N * C, 0.0f), dw(C);
  rmsnorm_forward(h.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
  for (auto _ : state) {
    if (state.range(0)) {
      rmsnorm_forward_from_rstd(h.data(), x.data(), w.data(), rstd.data(), N, C);
      rmsnorm_backward_add(dx_sum.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, C);
    } else {
      rmsnorm_forward(h.data(), nullptr, x.data(), w.data(), N, C, 1e-5f);
      rmsnorm_backward(scratch.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, C);
      for (int64_t i = 0; i < N * C; ++i) dx_sum[i] += scratch[i];
    }
    benchmark::DoNotOptimize(dx_sum.data());
  }
}
BENCHMARK(BM_RmsNormBackwardInStep)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// One sampled token over the 128k vocabulary: 0 = temperature + top-p (the O(V) nucleus path),
// 1 = top-k 50 + top-p (partial sort), 2 = greedy.
void BM_SampleToken(benchmark::State& state) {
  const int64_t V = 128256;
  std::vector<float> logits(V);
  Rng init(7);
  for (auto& l : logits) l = static_cast<float>(init.normal() * 3.0);
  const TokenFilter filters[] = {{.temperature = 0.7f, .top_p = 0.95f}, {.temperature = 0.7f, .top_p = 0.95f, .top_k = 50},
                                 {.temperature = 0.0f}};
  const TokenFilter& filter = filters[state.range(0)];
  Rng rng(1);
  for (auto _ : state) benchmark::DoNotOptimize(sample_filtered(logits, filter, rng));
  state.counters["bytes"] = benchmark::Counter(V * 4.0, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SampleToken)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tt
