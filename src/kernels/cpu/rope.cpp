#include "kernels/cpu/rope.h"

#include <cmath>
#include <numbers>

#include "core/parallel_for.h"
#include "core/error.h"
#include "kernels/cpu/parallel.h"
#include "core/op_profile.h"

namespace tt {

std::vector<float> rope_inverse_frequencies(const RopeParams& params) {
  const int64_t half = params.head_dim / 2;
  std::vector<float> inv_freq(half);
  for (int64_t i = 0; i < half; ++i) {
    // HF computes base ** (arange(0, dim, 2).float() / dim) in fp32, then 1 / that.
    float exponent = static_cast<float>(2 * i) / static_cast<float>(params.head_dim);
    inv_freq[i] = 1.0f / std::pow(static_cast<float>(params.theta), exponent);
  }
  const RopeScaling& s = params.scaling;
  if (s.type.empty() || s.type == "default") return inv_freq;
  if (s.type != "llama3") fail("rope_scaling: unsupported type '{}'", s.type);
  const double low_freq_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const double high_freq_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
  for (auto& f : inv_freq) {
    double wavelen = 2.0 * std::numbers::pi / f;
    if (wavelen < high_freq_wavelen) continue;
    if (wavelen > low_freq_wavelen) {
      f = static_cast<float>(f / s.factor);
      continue;
    }
    double smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
                    (s.high_freq_factor - s.low_freq_factor);
    f = static_cast<float>((1.0 - smooth) * f / s.factor + smooth * f);
  }
  return inv_freq;
}

RopeTable make_rope_table(const RopeParams& params, int64_t max_positions) {
  RopeTable table;
  table.style = params.style;
  table.head_dim = params.head_dim;
  table.max_positions = max_positions;
  const int64_t half = params.head_dim / 2;
  std::vector<float> inv_freq = rope_inverse_frequencies(params);
  table.cos.resize(max_positions * half);
  table.sin.resize(max_positions * half);
  for (int64_t p = 0; p < max_positions; ++p)
    for (int64_t i = 0; i < half; ++i) {
      float angle = static_cast<float>(p) * inv_freq[i];  // fp32 product, as HF's outer product
      table.cos[p * half + i] = std::cos(angle);
      table.sin[p * half + i] = std::sin(angle);
    }
  return table;
}

namespace {

// sign = +1 rotates by +angle (forward), -1 by -angle (backward).
void rotate(float* x, const int32_t* positions, int64_t tokens, int64_t heads, const RopeTable& table, float sign) {
  const int64_t dim = table.head_dim, half = dim / 2;
  const bool interleaved = table.style == RopeStyle::Interleaved;
  for (int64_t t = 0; t < tokens; ++t)  // checked before the parallel loop: no throwing inside it
    if (positions[t] < 0 || positions[t] >= table.max_positions)
      fail("position {} outside the RoPE table (size {})", positions[t], table.max_positions);
  parallel_for(tokens, tokens * heads * dim > kMinParallelStreamingWork, [&](int64_t t) {
    const int64_t p = positions[t];
    const float* c = table.cos.data() + p * half;
    const float* s = table.sin.data() + p * half;
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + (t * heads + h) * dim;
      for (int64_t i = 0; i < half; ++i) {
        float* a = interleaved ? v + 2 * i : v + i;
        float* b = interleaved ? v + 2 * i + 1 : v + i + half;
        float sn = sign * s[i];
        float x0 = *a, x1 = *b;
        *a = x0 * c[i] - x1 * sn;
        *b = x0 * sn + x1 * c[i];
      }
    }
  });
}

}  // namespace

void rope_forward(float* x, const int32_t* positions, int64_t tokens, int64_t heads, const RopeTable& table) {
  OpScope scope("rope fwd");
  rotate(x, positions, tokens, heads, table, 1.0f);
}

void rope_backward(float* dx, const int32_t* positions, int64_t tokens, int64_t heads, const RopeTable& table) {
  OpScope scope("rope bwd");
  rotate(dx, positions, tokens, heads, table, -1.0f);
}

}  // namespace tt
