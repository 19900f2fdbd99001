// A row of logits to its log-prob and gradient on AVX2 + FMA.
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/vec_avx2.h"
#include "kernels/cpu/logit_row_kernel.h"

namespace tt {

isa_paths::LogitRow isa_paths::process_logit_row_avx2(float* row, int64_t vocab, int32_t target, bool want_grad,
                                                   float token_weight, bool dft) {
  return process_logit_row<Avx2>(row, vocab, target, want_grad, token_weight, dft);
}

}  // namespace tt
