// The mma.sync attention kernels (attention_mma.cuh) run on the CPU through warp_emulator.h, against
// the CPU attention kernel: forward and backward, causal GQA, packed documents, partial tiles, head
// dims 64 and 128, several thread orders. Runs on every machine (no GPU, no CUDA toolkit needed); the
// same kernels compiled by nvcc are checked on a GPU by attention_test.cpp (ctest -L cuda).
// The emulator itself is checked first: its ldmatrix + mma give a plain matrix product, a barrier
// that a thread skips is reported, and a missing barrier gives a stale read.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cuda/attention_mma.cuh"
#include "tests/gradcheck.h"

namespace tt::cuda::mma {
namespace {

using emulation::Block;
using emulation::LaunchShape;
using testing::random_vector;

float round_bf16(float x) { return emulation::bf16_bits_to_float(emulation::float_to_bf16_bits(x)); }

double relative_error(const std::vector<float>& out, const std::vector<float>& ref) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < out.size(); ++i) {
    diff += (double(out[i]) - ref[i]) * (double(out[i]) - ref[i]);
    norm += double(ref[i]) * ref[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

// One warp: A (16 x 32) and B^T (8 x 32) staged as bf16 tiles, C = A B through ldmatrix (x4 for A,
// x4 for two k-steps of B, and x4.trans for B stored k-major) and mma, against the plain product.
TEST(WarpEmulator, LdmatrixAndMmaGiveTheMatrixProduct) {
  constexpr int M = 16, N = 16, K = 32, ld = K + 8, ldt = N + 8;
  const std::vector<float> a = random_vector(M * K, 1), b = random_vector(K * N, 2);
  std::vector<double> want(M * N, 0.0);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j)
      for (int k = 0; k < K; ++k) want[i * N + j] += double(round_bf16(a[i * K + k])) * round_bf16(b[k * N + j]);
  for (const bool k_major : {false, true}) {
    std::vector<float> got(M * N, -1.0f);
    const size_t a_bytes = M * ld * 2, b_bytes = (k_major ? K * ldt : N * ld) * 2;
    Block::launch(LaunchShape{1, 1, 32, a_bytes + b_bytes, 7}, [&] {
      auto* a_tile = reinterpret_cast<uint16_t*>(shared_memory());
      auto* b_tile = a_tile + M * ld;
      const int lane = thread_index();
      if (lane == 0) {
        for (int i = 0; i < M; ++i)
          for (int k = 0; k < K; ++k) a_tile[i * ld + k] = emulation::float_to_bf16_bits(a[i * K + k]);
        for (int k = 0; k < K; ++k)
          for (int j = 0; j < N; ++j) {
            const uint16_t x = emulation::float_to_bf16_bits(b[k * N + j]);
            if (k_major) b_tile[k * ldt + j] = x;  // [k][n]
            else b_tile[j * ld + k] = x;           // [n][k]
          }
      }
      warp_sync();
      float c[N / 8][4] = {};
      for (int kk = 0; kk < K / 16; ++kk) {
        uint32_t af[4], bf[4];
        ldmatrix_x4(af, a_tile + (lane % 16) * ld + kk * 16 + (lane / 16) * 8);
        if (k_major)
          ldmatrix_x4_trans(bf, b_tile + (kk * 16 + 8 * ((lane / 8) % 2) + lane % 8) * ldt + 8 * (lane / 16));
        else
          ldmatrix_x4(bf, b_tile + (8 * (lane / 16) + lane % 8) * ld + 16 * kk + 8 * ((lane / 8) % 2));
        const uint32_t b0[2] = {bf[0], bf[1]}, b1[2] = {bf[2], bf[3]};
        mma_bf16_16816(c[0], af, b0);
        mma_bf16_16816(c[1], af, b1);
      }
      const int g = lane / 4, t = lane % 4;
      for (int j = 0; j < N / 8; ++j)
        for (int i = 0; i < 4; ++i) got[(g + 8 * (i / 2)) * N + 8 * j + 2 * t + i % 2] = c[j][i];
    });
    for (int i = 0; i < M * N; ++i) EXPECT_NEAR(got[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << i << " k_major " << k_major;
  }
}

TEST(WarpEmulator, ABarrierThatAThreadSkipsIsReportedNotAHang) {
  EXPECT_THROW(Block::launch(LaunchShape{1, 1, 64, 16, 1},
                             [] {
                               if (thread_index() != 5) block_sync();
                             }),
               std::runtime_error);
}

// Lane 0 writes a row, every lane reads it through ldmatrix: without a barrier in between some thread
// order reads the row before it is written; with warp_sync every order reads it.
TEST(WarpEmulator, AMissingBarrierGivesAStaleReadInSomeOrder) {
  auto stale_reads = [](bool barrier) {
    int stale = 0;
    for (uint64_t seed = 1; seed <= 8; ++seed)
      Block::launch(LaunchShape{1, 1, 32, 64 * 16, seed}, [&] {
        auto* rows = reinterpret_cast<uint16_t*>(shared_memory());
        if (thread_index() == 0)
          for (int i = 0; i < 32 * 8; ++i) rows[i] = 0x3f80;  // 1.0
        if (barrier) warp_sync();
        uint32_t r[4];
        ldmatrix_x4(r, rows + thread_index() * 8);
        if (thread_index() == 31 && r[3] != 0x3f803f80u) ++stale;
      });
    return stale;
  };
  EXPECT_GT(stale_reads(false), 0);
  EXPECT_EQ(stale_reads(true), 0);
}

enum class Documents { None, Short, Long };

std::vector<uint16_t> bf16_copy(const std::vector<float>& x) {
  std::vector<uint16_t> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = emulation::float_to_bf16_bits(x[i]);
  return out;
}

// Staging: the fp32 tensors rounded through registers, or their bf16 copies by cp.async (what
// attention_tensor_cores.cu launches), double-buffered either way.
enum class Staging { Fp32, Bf16CopiesAsync };

template <int D>
void check_attention(int64_t batch, int64_t seq, int64_t heads, int64_t kv_heads, Documents docs, uint64_t seed,
                     Staging staging = Staging::Bf16CopiesAsync) {
  const int64_t q_size = batch * seq * heads * D, kv_size = batch * seq * kv_heads * D, stats = batch * heads * seq;
  const std::vector<float> q = random_vector(q_size, 21), k = random_vector(kv_size, 22), v = random_vector(kv_size, 23),
                           dout = random_vector(q_size, 24);
  std::vector<int32_t> doc_start(batch * seq);
  for (int64_t b = 0; b < batch; ++b) {  // different per row; long ones span tiles and start mid-tile
    int32_t start = 0;
    for (int64_t t = 0; t < seq; ++t) {
      const bool starts = docs == Documents::Long ? (t + 37 * b) % 90 == 0 || t == 71 : (t * 7 + b * 3) % 11 == 0;
      if (t > 0 && starts) start = static_cast<int32_t>(t);
      doc_start[b * seq + t] = start;
    }
  }
  const int32_t* starts = docs == Documents::None ? nullptr : doc_start.data();
  const tt::AttentionShape shape{batch, seq, heads, kv_heads, D};
  std::vector<float> out_ref(q_size), lse_ref(stats), dq_ref(q_size), dk_ref(kv_size), dv_ref(kv_size);
  tt::attention_forward(out_ref.data(), lse_ref.data(), q.data(), k.data(), v.data(), starts, shape);
  tt::attention_backward(dq_ref.data(), dk_ref.data(), dv_ref.data(), dout.data(), out_ref.data(), lse_ref.data(),
                         q.data(), k.data(), v.data(), starts, shape);

  // Outputs poisoned: every element must be written.
  std::vector<float> out(q_size, NAN), lse(stats, NAN), dq(q_size, NAN), dk(kv_size, NAN), dv(kv_size, NAN);
  AttentionMmaArgs args;
  args.out = out.data();
  args.lse = lse.data();
  args.q = q.data();
  args.k = k.data();
  args.v = v.data();
  args.doc_start = starts;
  args.batch = batch;
  args.seq = seq;
  args.heads = heads;
  args.kv_heads = kv_heads;
  const std::vector<uint16_t> q16 = bf16_copy(q), k16 = bf16_copy(k), v16 = bf16_copy(v), dout16 = bf16_copy(dout);
  if (staging == Staging::Bf16CopiesAsync) {
    args.q16 = q16.data();
    args.k16 = k16.data();
    args.v16 = v16.data();
    args.dout16 = dout16.data();
  }
  const int64_t tiles = (seq + kAttentionTile - 1) / kAttentionTile;
  Block::launch(LaunchShape{tiles, batch * heads, kAttentionThreads, sizeof(AttentionForwardShared<D>), seed},
                [&] { attention_mma_forward_kernel<D>(args); });
  EXPECT_LT(relative_error(out, out_ref), 1e-2) << "out";
  EXPECT_LT(relative_error(lse, lse_ref), 1e-2) << "lse";

  std::vector<float> delta(stats);  // rowwise dout . out, as attention.cu's delta kernel
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t t = 0; t < seq; ++t) {
        double sum = 0.0;
        for (int64_t d = 0; d < D; ++d) {
          const int64_t i = ((b * seq + t) * heads + h) * D + d;
          sum += double(dout[i]) * out[i];
        }
        delta[(b * heads + h) * seq + t] = static_cast<float>(sum);
      }
  args.dq = dq.data();
  args.dk = dk.data();
  args.dv = dv.data();
  args.dout = dout.data();
  args.delta = delta.data();
  args.saved_lse = lse.data();
  Block::launch(LaunchShape{tiles, batch * kv_heads, kAttentionThreads, sizeof(AttentionKeyGradShared<D>), seed},
                [&] { attention_mma_key_grad_kernel<D>(args); });
  Block::launch(LaunchShape{tiles, batch * heads, kAttentionThreads, sizeof(AttentionQueryGradShared<D>), seed},
                [&] { attention_mma_query_grad_kernel<D>(args); });
  EXPECT_LT(relative_error(dq, dq_ref), 1e-2) << "dq";
  EXPECT_LT(relative_error(dk, dk_ref), 1e-2) << "dk";
  EXPECT_LT(relative_error(dv, dv_ref), 1e-2) << "dv";
}

// The 140M model's 9/3 heads (groups of 3), a partial last tile, no documents.
TEST(AttentionMmaEmulated, CausalGqaPartialTile) { check_attention<64>(1, 100, 3, 1, Documents::None, 1); }

// Documents of 1..11 tokens: most tiles need the mask; two batch rows with different documents.
TEST(AttentionMmaEmulated, ShortDocumentsTwoRows) { check_attention<64>(2, 70, 2, 2, Documents::Short, 2); }

// Documents that span tiles and start mid-tile: whole key tiles skipped, tiles seen by some warps only.
TEST(AttentionMmaEmulated, LongDocumentsAcrossTiles) { check_attention<64>(1, 150, 2, 1, Documents::Long, 3); }

TEST(AttentionMmaEmulated, HeadDim128) { check_attention<128>(1, 80, 2, 1, Documents::Long, 4); }

// The fp32 rows staged through registers (no bf16 copies).
TEST(AttentionMmaEmulated, Fp32StagingShortDocuments) {
  check_attention<64>(1, 140, 3, 1, Documents::Short, 5, Staging::Fp32);
}

}  // namespace
}  // namespace tt::cuda::mma
