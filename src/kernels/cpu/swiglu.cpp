#include "kernels/cpu/swiglu.h"

#include "core/cpu_features.h"
#include "kernels/cpu/isa_paths.h"
#include "core/op_profile.h"

namespace tt {

void swiglu_forward(float* out, const float* gate, const float* up, int64_t count) {
  OpScope scope("swiglu fwd");
  if (active_isa() >= Isa::AVX512)
    isa_paths::swiglu_forward_avx512(out, gate, up, count);
  else
    isa_paths::swiglu_forward_avx2(out, gate, up, count);
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t count) {
  OpScope scope("swiglu bwd");
  if (active_isa() >= Isa::AVX512)
    isa_paths::swiglu_backward_avx512(dgate, dup, dout, gate, up, count);
  else
    isa_paths::swiglu_backward_avx2(dgate, dup, dout, gate, up, count);
}

}  // namespace tt
