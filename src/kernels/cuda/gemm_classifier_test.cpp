// cuBLASLt GEMMs and the fused chunked classifier + cross-entropy / DFT against the CPU kernels,
// in the fp32 parity mode (1e-5) and with bf16 operands (1e-2).
#include <gtest/gtest.h>

#include "core/bf16.h"
#include "kernels/cpu/classifier.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cuda/classifier.h"
#include "kernels/cuda/cuda_test_util.h"
#include "kernels/cuda/ops.h"

namespace tt::cuda {
namespace {

using testing::DeviceBuffer;
using testing::random_vector;
using testing::relative_error;

std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = f32_to_bf16(v[i]);
  return out;
}

void check_gemm(bool trans_a, bool trans_b, bool accumulate, GemmType type) {
  const int64_t m = 70, n = 130, k = 96;
  std::vector<float> a = random_vector(m * k, 31), b = random_vector(k * n, 32), c_start = random_vector(m * n, 33);
  std::vector<float> c_ref = c_start;
  const Precision precision = type == GemmType::BF16 ? Precision::BF16 : Precision::FP32;
  tt::matmul(a.data(), b.data(), c_ref.data(), m, n, k,
             {.trans_a = trans_a, .trans_b = trans_b, .accumulate = accumulate, .precision = precision});
  DeviceBuffer<float> d_c(c_start);
  if (!accumulate) d_c.poison();
  Blas blas;
  GemmOptions options{.trans_a = trans_a, .trans_b = trans_b, .accumulate = accumulate, .type = type};
  if (type == GemmType::BF16) {
    DeviceBuffer<uint16_t> d_a(to_bf16(a)), d_b(to_bf16(b));
    blas.gemm(d_a.get(), d_b.get(), d_c.get(), m, n, k, options, nullptr);
    // Same bf16 operands, fp32 accumulation on both sides: only summation order differs.
    EXPECT_LT(relative_error(d_c.download(), c_ref), 1e-5);
  } else {
    DeviceBuffer<float> d_a(a), d_b(b);
    blas.gemm(d_a.get(), d_b.get(), d_c.get(), m, n, k, options, nullptr);
    EXPECT_LT(relative_error(d_c.download(), c_ref), testing::kFp32Tolerance);
  }
}

TEST(CudaKernels, GemmFp32AllTransposes) {
  TT_REQUIRE_GPU();
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (bool acc : {false, true}) {
        SCOPED_TRACE(::testing::Message() << "trans_a " << ta << " trans_b " << tb << " accumulate " << acc);
        check_gemm(ta, tb, acc, GemmType::F32);
      }
}

TEST(CudaKernels, GemmBf16AllTransposes) {
  TT_REQUIRE_GPU();
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "trans_a " << ta << " trans_b " << tb);
      check_gemm(ta, tb, true, GemmType::BF16);
    }
}

void check_classifier(TokenLoss loss, GemmType type) {
  const int64_t n = 150, vocab = 1000, dim = 64, chunk = 64;  // three chunks, the last one partial
  std::vector<float> hidden = random_vector(n * dim, 41), weight = random_vector(vocab * dim, 42, 0.2f);
  std::vector<float> token_weights(n);
  std::vector<int32_t> targets(n);
  for (int64_t t = 0; t < n; ++t) {
    targets[t] = t % 9 == 0 ? -100 : static_cast<int32_t>((t * 131) % vocab);
    token_weights[t] = 1.0f / static_cast<float>(n) * static_cast<float>(1 + t % 3);
  }
  const bool bf16 = type == GemmType::BF16;
  const Precision precision = bf16 ? Precision::BF16 : Precision::FP32;
  std::vector<float> d_hidden_ref(n * dim), d_weight_ref(vocab * dim, 0.0f), logp_ref(n);
  ClassifierGrad cpu_grad{token_weights.data(), loss, d_hidden_ref.data(), d_weight_ref.data()};
  ClassifierStats ref = tt::classifier_forward_backward(hidden.data(), weight.data(), targets.data(), n, vocab, dim,
                                                        &cpu_grad, logp_ref.data(), precision);

  DeviceBuffer<float> d_hidden(hidden), d_weight(weight), d_token_weights(token_weights), d_dh(n * dim),
      d_dw(std::vector<float>(vocab * dim, 0.0f)), d_logp(n);
  DeviceBuffer<uint16_t> d_weight_bf16(to_bf16(weight));
  DeviceBuffer<int32_t> d_targets(targets);
  Blas blas;
  ClassifierWorkspace workspace(chunk, vocab, dim);
  DeviceClassifierGrad grad{d_token_weights.get(), loss, d_dh.get(), d_dw.get()};
  ClassifierStats got = classifier_forward_backward(blas, workspace, d_hidden.get(), d_weight.get(),
                                                    d_weight_bf16.get(), d_targets.get(), n, &grad, d_logp.get(), type,
                                                    nullptr);
  const double tolerance = bf16 ? testing::kBf16Tolerance : testing::kFp32Tolerance;
  EXPECT_EQ(got.scored, ref.scored);
  EXPECT_NEAR(got.correct, ref.correct, bf16 ? 2 : 0);
  EXPECT_NEAR(got.weighted_loss, ref.weighted_loss, tolerance * std::abs(ref.weighted_loss));
  EXPECT_LT(relative_error(d_logp.download(), logp_ref), tolerance);
  EXPECT_LT(relative_error(d_dh.download(), d_hidden_ref), tolerance);
  EXPECT_LT(relative_error(d_dw.download(), d_weight_ref), tolerance);
}

TEST(CudaKernels, ClassifierNllFp32) {
  TT_REQUIRE_GPU();
  check_classifier(TokenLoss::NLL, GemmType::F32);
}

TEST(CudaKernels, ClassifierDftFp32) {
  TT_REQUIRE_GPU();
  check_classifier(TokenLoss::DFT, GemmType::F32);
}

TEST(CudaKernels, ClassifierNllBf16) {
  TT_REQUIRE_GPU();
  check_classifier(TokenLoss::NLL, GemmType::BF16);
}

TEST(CudaKernels, ClassifierDftBf16) {
  TT_REQUIRE_GPU();
  check_classifier(TokenLoss::DFT, GemmType::BF16);
}

}  // namespace
}  // namespace tt::cuda
