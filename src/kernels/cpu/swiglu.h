// SwiGLU: out = silu(gate) * up, silu(g) = g * sigmoid(g). All arrays [count].
#pragma once
#include <cstdint>

namespace tt {

void swiglu_forward(float* out, const float* gate, const float* up, int64_t count);
// dgate = dout * up * silu'(gate), dup = dout * silu(gate). dgate/dup may alias gate/up.
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t count);

}  // namespace tt
