// The machine's measured ceilings, so that benchmarks can say how close a workload comes to them
// (issue 16): STREAM-style memory bandwidth (what batch-1 decode is bound by: every weight read once
// per token) and oneDNN's GEMM rate on given shapes (what training and prefill are bound by).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/precision.h"

namespace tt {

// STREAM's triad, a[i] = b[i] + scalar * c[i], split over the OpenMP threads in fixed static blocks.
void triad(float* a, const float* b, const float* c, float scalar, int64_t n);
// The sum of a[0..n) (a read-only pass over memory; per-thread partial sums, added in thread order).
double read_sum(const float* a, int64_t n);

struct MemoryBandwidth {
  double triad_gb_per_s = 0;  // STREAM's convention: 3 arrays x 4 bytes per element moved
  double read_gb_per_s = 0;   // one array read
  int64_t array_bytes = 0;    // bytes per array
  int threads = 0;
};

// Best of `repeats` timed passes of each, on three arrays of `floats_per_array` (choose them well
// beyond the last-level cache: 32M floats = 128 MB each).
MemoryBandwidth measure_memory_bandwidth(int64_t floats_per_array, int repeats);

// oneDNN's throughput (FLOP/s, median of `repeats` after one warm-up call) on C[m,n] = A[m,k] B[n,k]^T
// in `precision`, in the training step's form (BF16: B is a bf16 copy, A is rounded by the call,
// fp32 accumulation).
double measure_matmul_flops(int64_t m, int64_t n, int64_t k, Precision precision, int repeats = 5);

}  // namespace tt
