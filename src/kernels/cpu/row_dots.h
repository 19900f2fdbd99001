// The dot products of many rows (RMSNorm's sums of squares, the mean terms of its backward), each
// row's sum in the order and rounding of the plain loop `for i: sum += a[i] * b[i]` as this
// project's x86-64-v3 build compiles it, whatever the path: rows are summed several at a time, one
// per vector lane (row_dots_kernel.h), so the norms run at vector speed and give the bits they gave
// when each row was summed alone as one scalar chain.
#pragma once
#include <algorithm>
#include <cstdint>

#include "core/parallel_for.h"
#include "kernels/cpu/parallel.h"

namespace tt {

// The plain loop itself: the reference, and the path of a row left over after the groups.
float row_dot(const float* a, const float* b, int64_t n);

// sums[r] = row_dot(a + r * stride, b + r * stride, n) for r < rows, on the calling thread (callers
// run it inside their own parallel loop over blocks of kRowDotsBlock rows: one parallel region per
// kernel call, as before). Rows are summed a group at a time; rows left over one by one.
constexpr int64_t kRowDotsBlock = 16;
void row_dots(const float* a, const float* b, int64_t rows, int64_t n, int64_t stride, float* sums);

// Calls row(r, dot) for each r < rows, dot = row_dot of row r of a and b ([rows, n] each), in one
// parallel loop over blocks of kRowDotsBlock rows when the work is large.
template <class Row>
void for_each_row_dot(const float* a, const float* b, int64_t rows, int64_t n, Row row) {
  parallel_for((rows + kRowDotsBlock - 1) / kRowDotsBlock, rows * n > kMinParallelStreamingWork, [&](int64_t i) {
    const int64_t r0 = i * kRowDotsBlock, block = std::min(kRowDotsBlock, rows - r0);
    float dots[kRowDotsBlock];
    row_dots(a + r0 * n, b + r0 * n, block, n, n, dots);
    for (int64_t r = r0; r < r0 + block; ++r) row(r, dots[r - r0]);
  });
}
}  // namespace tt
