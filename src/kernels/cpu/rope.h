// Rotary position embeddings.
//   Interleaved (Llama4): pairs (2i, 2i+1) rotated as complex numbers.
//   RotateHalf (Llama):  pairs (i, i + head_dim/2), HF's rotate_half.
// Pair i at position p turns by angle p * inv_freq[i].
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/rope_params.h"

namespace tt {

// inv_freq[i] = theta^(-2i/head_dim), then llama3 scaling when configured (HF's rope init functions).
std::vector<float> rope_inverse_frequencies(const RopeParams& params);

struct RopeTable {
  RopeStyle style = RopeStyle::Interleaved;
  int64_t head_dim = 0;
  int64_t max_positions = 0;
  std::vector<float> cos, sin;  // [max_positions, head_dim/2]
};
RopeTable make_rope_table(const RopeParams& params, int64_t max_positions);

// x: [tokens, heads, head_dim], rotated in place; positions: [tokens].
void rope_forward(float* x, const int32_t* positions, int64_t tokens, int64_t heads, const RopeTable& table);
// The transpose of the rotation (rotation by -angle), applied to a gradient in place.
void rope_backward(float* dx, const int32_t* positions, int64_t tokens, int64_t heads, const RopeTable& table);

}  // namespace tt
