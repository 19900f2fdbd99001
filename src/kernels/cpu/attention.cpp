#include "kernels/cpu/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/small_gemm.h"
#include "core/parallel_for.h"
#include "core/op_profile.h"

namespace tt {

namespace {

// Query rows per block. The backward uses taller blocks: its dK/dV products reduce over the block's
// rows, and 16 rows are too few to amortise loading and storing the accumulators.
constexpr int64_t kQueryBlock = 16;
constexpr int64_t kBackwardQueryBlock = 64;

// The key range [lo, hi) a block of query rows [i0, i1) of batch row b can see.
struct KeyRange {
  int64_t lo, hi;
};

inline int64_t first_key(const int32_t* doc_start, int64_t b, int64_t T, int64_t i) {
  return doc_start ? doc_start[b * T + i] : 0;
}

KeyRange key_range(const int32_t* doc_start, int64_t b, int64_t T, int64_t i0, int64_t i1) {
  int64_t lo = i0;
  for (int64_t i = i0; i < i1; ++i) lo = std::min(lo, first_key(doc_start, b, T, i));
  return {lo, i1};
}

// Per-thread scratch buffers, reused across blocks.
struct Scratch {
  std::vector<float> q, s, dp, dst, dout;
  void reserve(int64_t rows, int64_t seq, int64_t head_dim) {
    q.resize(rows * head_dim);
    dout.resize(rows * head_dim);
    s.resize(rows * seq);
    dp.resize(rows * seq);
    dst.resize(rows * seq);
  }
};

// Copies rows [i0, i1) of head h (stride ld) into a dense [rows, head_dim] block, times scale.
void gather_rows(float* dst, const float* src, int64_t ld, int64_t i0, int64_t i1, int64_t head_dim, float scale) {
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t d = 0; d < head_dim; ++d) dst[(i - i0) * head_dim + d] = src[i * ld + d] * scale;
}

// s[r, :] = scores of query rows against keys [lo, hi): masked entries become -inf.
// Then p = exp(s - lse_row) in place when lse is given, else the row's lse is computed and returned.
void mask_scores(float* s, int64_t rows, int64_t nk, int64_t i0, const KeyRange& range, const int32_t* doc_start,
                 int64_t b, int64_t T) {
  for (int64_t r = 0; r < rows; ++r) {
    int64_t i = i0 + r;
    int64_t start = first_key(doc_start, b, T, i);
    float* row = s + r * nk;
    for (int64_t j = range.lo; j < start; ++j) row[j - range.lo] = -std::numeric_limits<float>::infinity();
    for (int64_t j = i + 1; j < range.hi; ++j) row[j - range.lo] = -std::numeric_limits<float>::infinity();
  }
}

// row = exp(row - shift), returns the sum. Vector body + scalar tail with the same exp.
float exp_shift_sum(float* row, int64_t n, float shift) {
  __m256 vshift = _mm256_set1_ps(shift), acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 e = simd::exp256(_mm256_sub_ps(_mm256_loadu_ps(row + j), vshift));
    _mm256_storeu_ps(row + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = simd::horizontal_sum(acc);
  for (; j < n; ++j) {
    row[j] = simd::exp_scalar(row[j] - shift);
    sum += row[j];
  }
  return sum;
}

// K (or V) of every (batch row, KV head) transposed to [D, T], so blocks read keys as GEMM columns.
std::vector<float> transpose_heads(const float* x, const AttentionShape& s) {
  const int64_t T = s.seq, D = s.head_dim, KVH = s.kv_heads, ld = KVH * D;
  std::vector<float> out(s.batch * KVH * D * T);
  parallel_for(s.batch * KVH, s.batch * T * ld > kMinParallelStreamingWork, [&](int64_t i) {
    const int64_t b = i / KVH, h = i % KVH;
    transpose(x + b * T * ld + h * D, T, D, ld, out.data() + (b * KVH + h) * D * T);
  });
  return out;
}

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* doc_start, const AttentionShape& shape) {
  OpScope scope("attention fwd");
  const int64_t B = shape.batch, T = shape.seq, H = shape.heads, D = shape.head_dim;
  const int64_t group = H / shape.kv_heads;
  const int64_t ldq = H * D, ldk = shape.kv_heads * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int64_t blocks = (T + kQueryBlock - 1) / kQueryBlock;
  std::vector<float> kt_all = transpose_heads(k, shape);  // [B, KVH, D, T], once for all blocks
#pragma omp parallel if (B * H * T * T * D > 8 * kMinParallelWork)
  {
    Scratch scratch;
    scratch.reserve(kQueryBlock, T, D);
#pragma omp for schedule(dynamic, 1) collapse(2)
    for (int64_t bh = 0; bh < B * H; ++bh)
      for (int64_t blk = blocks - 1; blk >= 0; --blk) {  // long blocks first: better balance
        const int64_t b = bh / H, h = bh % H, kvh = h / group;
        const int64_t i0 = blk * kQueryBlock, i1 = std::min(T, i0 + kQueryBlock), rows = i1 - i0;
        const KeyRange range = key_range(doc_start, b, T, i0, i1);
        const int64_t nk = range.hi - range.lo;
        const float* qb = q + b * T * ldq + h * D;
        const float* ktb = kt_all.data() + (b * shape.kv_heads + kvh) * D * T + range.lo;  // [D, nk], ld T
        const float* vb = v + (b * T + range.lo) * ldk + kvh * D;
        gather_rows(scratch.q.data(), qb, ldq, i0, i1, D, scale);
        float* s = scratch.s.data();
        small_gemm(rows, nk, D, scratch.q.data(), D, ktb, T, s, nk, false);
        mask_scores(s, rows, nk, i0, range, doc_start, b, T);
        for (int64_t r = 0; r < rows; ++r) {
          float* row = s + r * nk;
          float mx = -std::numeric_limits<float>::infinity();
          for (int64_t j = 0; j < nk; ++j) mx = std::max(mx, row[j]);
          float sum = exp_shift_sum(row, nk, mx);
          float inv = 1.0f / sum;
          for (int64_t j = 0; j < nk; ++j) row[j] *= inv;
          lse[(b * H + h) * T + i0 + r] = mx + std::log(sum);
        }
        float* ob = out + (b * T + i0) * ldq + h * D;
        small_gemm(rows, D, nk, s, nk, vb, ldk, ob, ldq, false);
      }
  }
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                        const float* q, const float* k, const float* v, const int32_t* doc_start,
                        const AttentionShape& shape) {
  OpScope scope("attention bwd");
  const int64_t B = shape.batch, T = shape.seq, H = shape.heads, KVH = shape.kv_heads, D = shape.head_dim;
  const int64_t group = H / KVH;
  const int64_t ldq = H * D, ldk = KVH * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int64_t blocks = (T + kBackwardQueryBlock - 1) / kBackwardQueryBlock;
  // Per query head dK, dV (no two threads write the same rows), summed into the KV heads afterwards.
  std::vector<float> dk_heads(B * H * T * D, 0.0f), dv_heads(B * H * T * D, 0.0f);
  std::vector<float> kt_all = transpose_heads(k, shape), vt_all = transpose_heads(v, shape);  // [B, KVH, D, T]
#pragma omp parallel if (B * H * T * T * D > 8 * kMinParallelWork)
  {
    Scratch scratch;
    scratch.reserve(kBackwardQueryBlock, T, D);
    std::vector<float> delta(kBackwardQueryBlock);
#pragma omp for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < B * H; ++bh) {
      const int64_t b = bh / H, h = bh % H, kvh = h / group;
      float* dk_h = dk_heads.data() + bh * T * D;  // [T, D]
      float* dv_h = dv_heads.data() + bh * T * D;
      const float* kb = k + b * T * ldk + kvh * D;
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t i0 = blk * kBackwardQueryBlock, i1 = std::min(T, i0 + kBackwardQueryBlock), rows = i1 - i0;
        const KeyRange range = key_range(doc_start, b, T, i0, i1);
        const int64_t nk = range.hi - range.lo;
        float* qs = scratch.q.data();
        float* dob = scratch.dout.data();
        gather_rows(qs, q + b * T * ldq + h * D, ldq, i0, i1, D, scale);
        gather_rows(dob, dout + b * T * ldq + h * D, ldq, i0, i1, D, 1.0f);
        const float* ktb = kt_all.data() + (b * KVH + kvh) * D * T + range.lo;  // [D, nk], ld T
        const float* vtb = vt_all.data() + (b * KVH + kvh) * D * T + range.lo;
        float* p = scratch.s.data();
        float* dp = scratch.dp.data();
        small_gemm(rows, nk, D, qs, D, ktb, T, p, nk, false);
        mask_scores(p, rows, nk, i0, range, doc_start, b, T);
        for (int64_t r = 0; r < rows; ++r) {
          float row_lse = lse[(b * H + h) * T + i0 + r];
          exp_shift_sum(p + r * nk, nk, row_lse);
          const float* o = out + (b * T + i0 + r) * ldq + h * D;
          float dot = 0.0f;
          for (int64_t d = 0; d < D; ++d) dot += dob[r * D + d] * o[d];
          delta[r] = dot;
        }
        // dP = dO V^T ; dS = P * (dP - delta)
        small_gemm(rows, nk, D, dob, D, vtb, T, dp, nk, false);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < nk; ++j) dp[r * nk + j] = p[r * nk + j] * (dp[r * nk + j] - delta[r]);
        // dQ = dS K * scale (K rows straight from the input)
        float* dqb = dq + (b * T + i0) * ldq + h * D;
        small_gemm(rows, D, nk, dp, nk, kb + range.lo * ldk, ldk, dqb, ldq, false);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t d = 0; d < D; ++d) dqb[r * ldq + d] *= scale;
        // dK += dS^T (Q * scale) ; dV += P^T dO
        float* st = scratch.dst.data();
        transpose(dp, rows, nk, nk, st);
        small_gemm(nk, D, rows, st, rows, qs, D, dk_h + range.lo * D, D, true);
        transpose(p, rows, nk, nk, st);
        small_gemm(nk, D, rows, st, rows, dob, D, dv_h + range.lo * D, D, true);
      }
    }
    // Sum the query heads of each group into their KV head.
#pragma omp for schedule(static) collapse(2)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t kvh = 0; kvh < KVH; ++kvh) {
          float* dkr = dk + (b * T + t) * ldk + kvh * D;
          float* dvr = dv + (b * T + t) * ldk + kvh * D;
          std::memset(dkr, 0, sizeof(float) * D);
          std::memset(dvr, 0, sizeof(float) * D);
          for (int64_t g = 0; g < group; ++g) {
            const float* sk = dk_heads.data() + ((b * H + kvh * group + g) * T + t) * D;
            const float* sv = dv_heads.data() + ((b * H + kvh * group + g) * T + t) * D;
            for (int64_t d = 0; d < D; ++d) {
              dkr[d] += sk[d];
              dvr[d] += sv[d];
            }
          }
        }
  }
}

}  // namespace tt
