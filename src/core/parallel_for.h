// Loops over the OpenMP threads that enter no OpenMP region when they run on one thread. libgomp ends
// every region with a futex wake, even a serial one (`#pragma omp parallel for if (false)`): a system
// call, ~1.2 us on the 2-vCPU VMs here (a real region of two threads costs ~3.2 us, two calls). A
// decode step of the 140M model ran ~370 of them, 7% of the step. Iteration i runs on the thread
// OpenMP's static (or dynamic) schedule gives it; callers' results must not depend on which thread.
#pragma once
#include <omp.h>

#include <cstdint>

namespace tt {
// Internal linkage (as kernels/cpu/simd.h): AVX2 and AVX-512 translation units both include this, and
// the linker must never hand one of them the other's copy.
namespace {  // NOLINT: per-translation-unit copies on purpose

// True when a loop marked worth parallelising (`worth`) would use more than one thread.
inline bool use_threads(bool worth) { return worth && !omp_in_parallel() && omp_get_max_threads() > 1; }

// body(i) for i in [0, n): schedule(static) over the threads when use_threads(worth), else a plain loop.
template <class Body>
inline void parallel_for(int64_t n, bool worth, Body&& body) {
  if (use_threads(worth)) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) body(i);
  } else {
    for (int64_t i = 0; i < n; ++i) body(i);
  }
}

// The same with schedule(dynamic, chunk): uneven iterations.
template <class Body>
inline void parallel_for_dynamic(int64_t n, int64_t chunk, bool worth, Body&& body) {
  if (use_threads(worth)) {
#pragma omp parallel for schedule(dynamic, chunk)
    for (int64_t i = 0; i < n; ++i) body(i);
  } else {
    for (int64_t i = 0; i < n; ++i) body(i);
  }
}

}  // namespace
}  // namespace tt
