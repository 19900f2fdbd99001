// What a RoPE kernel needs to know, as plain data shared by every backend (kernels take these
// parameters, never a model config).
#pragma once
#include <cstdint>
#include <string>

namespace tt {

// How RoPE pairs dimensions: Llama4 rotates (2i, 2i+1) as complex numbers; Llama rotates (i, i + d/2).
enum class RopeStyle { Interleaved, RotateHalf };

struct RopeScaling {
  std::string type;  // "" (none) or "llama3"
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct RopeParams {
  RopeStyle style = RopeStyle::RotateHalf;
  int64_t head_dim = 0;
  double theta = 10000.0;
  RopeScaling scaling;
};

}  // namespace tt
