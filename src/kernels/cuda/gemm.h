// GEMMs through cuBLASLt: C[M,N] (+)= op(A)[M,K] · op(B)[K,N], row-major, with the conventions of
// kernels/cpu/matmul.h (trans_b: B stored [N,K], the HF Linear weight layout). Operands are fp32
// (fp32 compute, no TF32: the parity mode) or both bf16 (fp32 accumulation); C is fp32.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <tuple>

namespace tt::cuda {

enum class GemmType { F32, BF16 };

struct GemmOptions {
  bool trans_a = false;
  bool trans_b = false;
  bool accumulate = false;  // C += A·B
  GemmType type = GemmType::F32;
};

// The cuBLASLt handle, its workspace and the algorithm chosen per shape (heuristics run once per
// shape). One per device and thread of work; not copyable.
class Blas {
 public:
  explicit Blas(size_t workspace_bytes = size_t(32) << 20);
  ~Blas();
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;

  void gemm(const void* a, const void* b, float* c, int64_t m, int64_t n, int64_t k, const GemmOptions& options,
            cudaStream_t stream);

 private:
  using ShapeKey = std::tuple<int64_t, int64_t, int64_t, bool, bool, bool, int>;
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  std::map<ShapeKey, cublasLtMatmulAlgo_t> algorithms_;
};

}  // namespace tt::cuda
