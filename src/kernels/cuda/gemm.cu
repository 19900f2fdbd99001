#include "kernels/cuda/gemm.h"

#include <string>

#include "kernels/cuda/check.h"

namespace tt::cuda {

namespace {

// RAII for the per-call cuBLASLt descriptors.
struct Descriptors {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  ~Descriptors() {
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

}  // namespace

Blas::Blas(size_t workspace_bytes) : workspace_bytes_(workspace_bytes) {
  TT_CUBLAS_CHECK(cublasLtCreate(&handle_));
  TT_CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
}

Blas::~Blas() {
  if (workspace_) cudaFree(workspace_);
  if (handle_) cublasLtDestroy(handle_);
}

// Row-major C[M,N] = op(A)·op(B) is column-major C^T[N,M] = op(B)^T·op(A)^T: cuBLASLt's "A" is our
// B and its "B" is our A, each read column-major with the leading dimension of its row-major rows.
void Blas::gemm(const void* a, const void* b, float* c, int64_t m, int64_t n, int64_t k, const GemmOptions& options,
                cudaStream_t stream) {
  if (m == 0 || n == 0) return;
  const cudaDataType_t input = options.type == GemmType::BF16 ? CUDA_R_16BF : CUDA_R_32F;
  Descriptors d;
  TT_CUBLAS_CHECK(cublasLtMatmulDescCreate(&d.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t op_first = options.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;   // our B
  const cublasOperation_t op_second = options.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;  // our A
  TT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof(op_first)));
  TT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof(op_second)));
  // Column-major shapes (rows, cols, leading dim) of the stored matrices.
  if (options.trans_b)
    TT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.a, input, k, n, k));  // B stored [N,K]
  else
    TT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.a, input, n, k, n));  // B stored [K,N]
  if (options.trans_a)
    TT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.b, input, m, k, m));  // A stored [K,M]
  else
    TT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.b, input, k, m, k));  // A stored [M,K]
  TT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.c, CUDA_R_32F, n, m, n));

  const ShapeKey key{m, n, k, options.trans_a, options.trans_b, options.accumulate, static_cast<int>(options.type)};
  auto found = algorithms_.find(key);
  if (found == algorithms_.end()) {
    cublasLtMatmulPreference_t preference = nullptr;
    TT_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference));
    cublasStatus_t status = cublasLtMatmulPreferenceSetAttribute(
        preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes_, sizeof(workspace_bytes_));
    cublasLtMatmulHeuristicResult_t result{};
    int count = 0;
    if (status == CUBLAS_STATUS_SUCCESS)
      status = cublasLtMatmulAlgoGetHeuristic(handle_, d.op, d.a, d.b, d.c, d.c, preference, 1, &result, &count);
    cublasLtMatmulPreferenceDestroy(preference);
    TT_CUBLAS_CHECK(status);
    if (count == 0)
      fail_cuda("cublasLtMatmulAlgoGetHeuristic", __FILE__, __LINE__,
                "no algorithm for M=" + std::to_string(m) + " N=" + std::to_string(n) + " K=" + std::to_string(k));
    found = algorithms_.emplace(key, result.algo).first;
  }
  const float alpha = 1.0f, beta = options.accumulate ? 1.0f : 0.0f;
  TT_CUBLAS_CHECK(cublasLtMatmul(handle_, d.op, &alpha, b, d.a, a, d.b, &beta, c, d.c, c, d.c, &found->second,
                                 workspace_, workspace_bytes_, stream));
}

}  // namespace tt::cuda
