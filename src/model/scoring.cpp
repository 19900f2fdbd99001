#include "model/scoring.h"

#include <algorithm>

#include "core/error.h"
#include "model/transformer.h"

namespace tt {

std::vector<std::vector<float>> score_sequences(Model& model, const std::vector<std::vector<int32_t>>& sequences,
                                                const ScoreOptions& options) {
  std::vector<std::vector<float>> results(sequences.size());
  std::vector<float> bf16_copy;
  WeightSet weights = make_weight_set(model, options.precision, bf16_copy);
  Workspace ws;
  size_t next = 0;
  while (next < sequences.size()) {
    // Fill one row with whole sequences (a longer sequence gets a row of its own).
    size_t first = next;
    int64_t length = 0;
    while (next < sequences.size() &&
           (next == first || length + static_cast<int64_t>(sequences[next].size()) <= options.row_tokens))
      length += static_cast<int64_t>(sequences[next++].size());
    if (length == 0) continue;
    Batch batch;
    batch.rows = 1;
    batch.seq = length;
    for (size_t s = first; s < next; ++s) {
      const auto& seq = sequences[s];
      const int32_t start = static_cast<int32_t>(batch.tokens.size());
      for (size_t j = 0; j < seq.size(); ++j) {
        batch.tokens.push_back(seq[j]);
        batch.targets.push_back(j + 1 < seq.size() ? seq[j + 1] : -100);
        batch.positions.push_back(static_cast<int32_t>(j));
        batch.doc_start.push_back(start);
      }
    }
    std::vector<float> logprobs(length);
    model_loss(model.config, weights, batch, ws, {.precision = options.precision}, nullptr, TokenLoss::NLL, nullptr,
               logprobs.data());
    int64_t offset = 0;
    for (size_t s = first; s < next; ++s) {
      const int64_t n = static_cast<int64_t>(sequences[s].size());
      results[s].assign(logprobs.begin() + offset, logprobs.begin() + offset + std::max<int64_t>(0, n - 1));
      offset += n;
    }
  }
  return results;
}

}  // namespace tt
