#include "kernels/cpu/roofline.h"

#include <omp.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "core/system.h"
#include "kernels/cpu/matmul.h"

namespace tt {

namespace {

// Thread t's block [begin, end) of n elements: the same partition in every pass, so each thread
// touches the pages it first wrote (first-touch placement on a NUMA machine).
void thread_block(int64_t n, int64_t& begin, int64_t& end) {
  const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
  begin = n * t / threads;
  end = n * (t + 1) / threads;
}

double best_seconds(int repeats, auto&& pass) {
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const double t0 = now_seconds();
    pass();
    best = std::min(best, now_seconds() - t0);
  }
  return best;
}

}  // namespace

void triad(float* a, const float* b, const float* c, float scalar, int64_t n) {
#pragma omp parallel
  {
    int64_t begin, end;
    thread_block(n, begin, end);
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) a[i] = b[i] + scalar * c[i];
  }
}

double read_sum(const float* a, int64_t n) {
  std::vector<double> partial(omp_get_max_threads(), 0.0);
#pragma omp parallel
  {
    int64_t begin, end;
    thread_block(n, begin, end);
    // 32 independent chains (four vectors of AVX2) so the loads, not one add's latency, set the pace.
    float lanes[32] = {};
    int64_t i = begin;
    for (; i + 32 <= end; i += 32)
#pragma omp simd
      for (int l = 0; l < 32; ++l) lanes[l] += a[i + l];
    double sum = 0;
    for (; i < end; ++i) sum += a[i];
    for (float lane : lanes) sum += lane;
    partial[omp_get_thread_num()] = sum;
  }
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

MemoryBandwidth measure_memory_bandwidth(int64_t floats_per_array, int repeats) {
  const int64_t n = floats_per_array;
  // Written first by the threads that use them (first touch), not by one thread's std::vector fill.
  std::unique_ptr<float[]> a(new float[n]), b(new float[n]), c(new float[n]);
#pragma omp parallel
  {
    int64_t begin, end;
    thread_block(n, begin, end);
    for (int64_t i = begin; i < end; ++i) {
      a[i] = 0.0f;
      b[i] = 1.0f;
      c[i] = 2.0f;
    }
  }
  const double bytes = 4.0 * static_cast<double>(n);
  triad(a.get(), b.get(), c.get(), 3.0f, n);  // warm-up
  const double triad_s = best_seconds(repeats, [&] { triad(a.get(), b.get(), c.get(), 3.0f, n); });
  volatile double sink = 0;
  const double read_s = best_seconds(repeats, [&] { sink = sink + read_sum(b.get(), n); });
  MemoryBandwidth out;
  out.triad_gb_per_s = 3.0 * bytes / triad_s / 1e9;
  out.read_gb_per_s = bytes / read_s / 1e9;
  out.array_bytes = static_cast<int64_t>(bytes);
  out.threads = thread_count();
  return out;
}

double measure_matmul_flops(int64_t m, int64_t n, int64_t k, Precision precision, int repeats) {
  const bool bf16 = precision == Precision::BF16;
  // As in the step: the weights are a bf16 copy already, the activations are rounded by the call.
  std::vector<float> a(m * k, 0.5f), b(n * k, 0.25f), out(m * n);
  const MatmulOptions options{.trans_b = true, .precision = precision, .b_is_bf16 = bf16};
  matmul(a.data(), b.data(), out.data(), m, n, k, options);
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    const double t0 = now_seconds();
    matmul(a.data(), b.data(), out.data(), m, n, k, options);
    times.push_back(now_seconds() - t0);
  }
  std::sort(times.begin(), times.end());
  return 2.0 * static_cast<double>(m) * n * k / times[times.size() / 2];
}

}  // namespace tt
