// CUDA attention against the CPU kernel: causal, grouped-query, packed rows with document starts.
#include <gtest/gtest.h>

#include "kernels/cpu/attention.h"
#include "kernels/cuda/attention_tensor_cores.h"
#include "kernels/cuda/cuda_test_util.h"
#include "kernels/cuda/ops.h"

namespace tt::cuda {
namespace {

using testing::DeviceBuffer;
using testing::random_vector;
using testing::relative_error;

enum class Documents { None, Short, Long };

// bf16: the shape is marked bf16 (the tensor-core kernels where they apply) and compared at the bf16
// tolerance. Short documents: 1..16 tokens; long ones span several 64-row tiles and start mid-tile.
// kernels: the tensor-core family that bf16 shapes run (restored afterwards).
void check_attention(int64_t batch, int64_t seq, int64_t heads, int64_t kv_heads, int64_t head_dim, Documents docs,
                     bool bf16 = false, TensorCoreAttentionKernels kernels = TensorCoreAttentionKernels::wmma) {
  const TensorCoreAttentionKernels before = tensor_core_attention_kernels();
  set_tensor_core_attention_kernels(kernels);
  const int64_t q_size = batch * seq * heads * head_dim, kv_size = batch * seq * kv_heads * head_dim;
  std::vector<float> q = random_vector(q_size, 21), k = random_vector(kv_size, 22), v = random_vector(kv_size, 23),
                     dout = random_vector(q_size, 24);
  std::vector<int32_t> doc_start(batch * seq);
  for (int64_t b = 0; b < batch; ++b) {  // different per row
    int32_t start = 0;
    for (int64_t t = 0; t < seq; ++t) {
      const bool starts = docs == Documents::Long ? (t + 37 * b) % 150 == 0 || t == 201 : (t * 7 + b * 3) % 11 == 0;
      if (t > 0 && starts) start = static_cast<int32_t>(t);
      doc_start[b * seq + t] = start;
    }
  }
  const bool packed = docs != Documents::None;
  const int32_t* starts = packed ? doc_start.data() : nullptr;
  tt::AttentionShape cpu_shape{batch, seq, heads, kv_heads, head_dim};
  std::vector<float> out_ref(q_size), lse_ref(batch * heads * seq), dq_ref(q_size), dk_ref(kv_size), dv_ref(kv_size);
  tt::attention_forward(out_ref.data(), lse_ref.data(), q.data(), k.data(), v.data(), starts, cpu_shape);
  tt::attention_backward(dq_ref.data(), dk_ref.data(), dv_ref.data(), dout.data(), out_ref.data(), lse_ref.data(),
                         q.data(), k.data(), v.data(), starts, cpu_shape);

  DeviceBuffer<float> d_q(q), d_k(k), d_v(v), d_dout(dout), d_out(q_size), d_lse(batch * heads * seq), d_dq(q_size),
      d_dk(kv_size), d_dv(kv_size);
  DeviceBuffer<int32_t> d_starts(doc_start);
  const int32_t* device_starts = packed ? d_starts.get() : nullptr;
  AttentionShape shape{batch, seq, heads, kv_heads, head_dim, bf16};
  DeviceBuffer<float> d_scratch(attention_scratch_floats(shape));
  attention_forward(d_out.get(), d_lse.get(), d_q.get(), d_k.get(), d_v.get(), device_starts, shape, d_scratch.get(),
                    nullptr);
  attention_backward(d_dq.get(), d_dk.get(), d_dv.get(), d_dout.get(), d_out.get(), d_lse.get(), d_q.get(), d_k.get(),
                     d_v.get(), device_starts, shape, d_scratch.get(), nullptr);
  set_tensor_core_attention_kernels(before);
  const double tolerance = bf16 ? testing::kBf16Tolerance : testing::kFp32Tolerance;
  EXPECT_LT(relative_error(d_out.download(), out_ref), tolerance) << "out";
  EXPECT_LT(relative_error(d_lse.download(), lse_ref), tolerance) << "lse";
  EXPECT_LT(relative_error(d_dq.download(), dq_ref), tolerance) << "dq";
  EXPECT_LT(relative_error(d_dk.download(), dk_ref), tolerance) << "dk";
  EXPECT_LT(relative_error(d_dv.download(), dv_ref), tolerance) << "dv";
}

TEST(CudaKernels, AttentionCausalGqa) {
  TT_REQUIRE_GPU();
  check_attention(2, 67, 6, 2, 64, Documents::None);
}

TEST(CudaKernels, AttentionPackedDocuments) {
  TT_REQUIRE_GPU();
  check_attention(2, 90, 4, 1, 64, Documents::Short);
}

TEST(CudaKernels, AttentionOddHeadDim) {
  TT_REQUIRE_GPU();
  check_attention(1, 33, 2, 2, 40, Documents::Short);
}

// The tensor-core kernels (bf16 operands): partial tiles, GQA groups of 3 (the 140M model's 9/3 heads)
// and 1, documents inside a tile and across tiles, head dims 64 and 128.
TEST(CudaKernels, AttentionBf16TensorCoresCausalGqa) {
  TT_REQUIRE_GPU();
  check_attention(2, 200, 6, 2, 64, Documents::None, true);
}

TEST(CudaKernels, AttentionBf16TensorCoresShortDocuments) {
  TT_REQUIRE_GPU();
  check_attention(2, 150, 3, 1, 64, Documents::Short, true);
}

TEST(CudaKernels, AttentionBf16TensorCoresLongDocuments) {
  TT_REQUIRE_GPU();
  check_attention(2, 330, 9, 3, 64, Documents::Long, true);
}

TEST(CudaKernels, AttentionBf16TensorCoresHeadDim128) {
  TT_REQUIRE_GPU();
  check_attention(1, 257, 4, 4, 128, Documents::Long, true);
}

// The same shapes on the mma.sync kernels (attention_mma.cuh; also run on the CPU's warp emulator by
// attention_mma_emulated_test.cpp).
constexpr auto kMma = TensorCoreAttentionKernels::mma;

TEST(CudaKernels, AttentionBf16MmaCausalGqa) {
  TT_REQUIRE_GPU();
  check_attention(2, 200, 6, 2, 64, Documents::None, true, kMma);
}

TEST(CudaKernels, AttentionBf16MmaShortDocuments) {
  TT_REQUIRE_GPU();
  check_attention(2, 150, 3, 1, 64, Documents::Short, true, kMma);
}

TEST(CudaKernels, AttentionBf16MmaLongDocuments) {
  TT_REQUIRE_GPU();
  check_attention(2, 330, 9, 3, 64, Documents::Long, true, kMma);
}

TEST(CudaKernels, AttentionBf16MmaHeadDim128) {
  TT_REQUIRE_GPU();
  check_attention(1, 257, 4, 4, 128, Documents::Long, true, kMma);
}

// A head dim the tensor-core kernels do not take falls back to the simple kernels (fp32 exact).
TEST(CudaKernels, AttentionBf16FallsBackForOtherHeadDims) {
  TT_REQUIRE_GPU();
  check_attention(1, 70, 2, 1, 40, Documents::Long, true);
}

}  // namespace
}  // namespace tt::cuda
