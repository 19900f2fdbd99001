// Per-token log-probabilities of given token sequences (perplexity, log-likelihood scoring).
// Sequences are packed into rows of at most `row_tokens` tokens with per-document attention, so no
// compute is spent on padding and each sequence scores as if it were alone.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "model/checkpoint.h"

namespace tt {

struct ScoreOptions {
  Precision precision = Precision::FP32;
  int64_t row_tokens = 2048;
};

// result[i][j] = log p(seq[i][j+1] | seq[i][0..j]); one entry fewer than the sequence's length.
std::vector<std::vector<float>> score_sequences(Model& model, const std::vector<std::vector<int32_t>>& sequences,
                                                const ScoreOptions& options = {});

}  // namespace tt
