// SwiGLU on AVX2.
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/vec_avx2.h"
#include "kernels/cpu/swiglu_kernel.h"

namespace tt {

void isa_paths::swiglu_forward_avx2(float* out, const float* gate, const float* up, int64_t count) {
  swiglu_forward_on<Avx2>(out, gate, up, count);
}

void isa_paths::swiglu_backward_avx2(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                                 int64_t count) {
  swiglu_backward_on<Avx2>(dgate, dup, dout, gate, up, count);
}

}  // namespace tt
