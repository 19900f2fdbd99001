// SwiGLU on AVX512 (compiled with AVX-512 enabled; called only when the CPU has it).
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/vec_avx512.h"
#include "kernels/cpu/swiglu_kernel.h"

namespace tt {

void isa_paths::swiglu_forward_avx512(float* out, const float* gate, const float* up, int64_t count) {
  swiglu_forward_on<Avx512>(out, gate, up, count);
}

void isa_paths::swiglu_backward_avx512(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                                 int64_t count) {
  swiglu_backward_on<Avx512>(dgate, dup, dout, gate, up, count);
}

}  // namespace tt
