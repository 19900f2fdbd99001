// SFT examples (token ids + loss mask) and how they become batches.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/transformer.h"

namespace tt {

struct SftExample {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> loss_mask;  // 1 = this token is a target (assistant / completion token)
};

// Pre-tokenized JSONL: {"tokens": [...], "loss_mask": [...]} per line (loss_mask optional: all 1).
std::vector<SftExample> read_tokenized_jsonl(const std::string& path);

// A micro-batch of whole examples, right-padded with pad_id to the longest one (TRL's collator):
// target[t] = tokens[t+1] where loss_mask[t+1], else -100; padding carries no loss and, being at the
// end of causal rows, changes no real token's output.
Batch make_padded_batch(const std::vector<const SftExample*>& examples, int32_t pad_id);

// Packing: examples go into rows of at most max_length tokens by best-fit decreasing (in the
// spirit of TRL's "bfd" strategy); each row lists the examples it holds, in order.
std::vector<std::vector<int64_t>> pack_examples(const std::vector<SftExample>& examples, int64_t max_length);

// One packed row per group: positions restart and attention stays within each document, so the
// loss equals that of the unpacked examples while no compute goes to padding.
Batch make_packed_batch(const std::vector<std::vector<const SftExample*>>& rows, int32_t pad_id);

}  // namespace tt
