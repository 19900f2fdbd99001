// SFT examples (token ids + loss mask) and how they become batches.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/transformer.h"

namespace tt {

struct SftExample {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> loss_mask;  // 1 = this token is a target (assistant / completion token)
};

// Pre-tokenized JSONL: {"tokens": [...], "loss_mask": [...]} per line (loss_mask optional: all 1), or
// TRL's processed rows {"input_ids": [...], "completion_mask"?: [...], "assistant_masks"?: [...]}; every
// mask given applies.
std::vector<SftExample> read_tokenized_jsonl(const std::string& path);

// A micro-batch of whole examples, right-padded with pad_id to the longest one (TRL's collator):
// target[t] = tokens[t+1] where loss_mask[t+1], else -100; padding carries no loss and, being at the
// end of causal rows, changes no real token's output.
Batch make_padded_batch(const std::vector<const SftExample*>& examples, int32_t pad_id);

// Packing: examples go into rows of at most max_length tokens by best-fit decreasing, as TRL's
// _pack_bfd bins them: longest first (ties in dataset order), each into the row with the least room
// that still fits it (among equals the oldest), else a new row; each row lists its examples in order.
// Examples longer than max_length count as max_length (the caller truncates or splits them first).
std::vector<std::vector<int64_t>> pack_lengths(const std::vector<int64_t>& lengths, int64_t max_length);
std::vector<std::vector<int64_t>> pack_examples(const std::vector<SftExample>& examples, int64_t max_length);

// TRL's SFTConfig.packing_strategy.
enum class PackingStrategy {
  Bfd,         // "bfd": best-fit decreasing; an example over max_length keeps its first max_length tokens
               // (TRL 0.28 and later; TRL 0.27's "bfd" split it, as bfd-requeue does)
  BfdRequeue,  // "bfd-requeue" (also "bfd_split"): an example over max_length becomes fragments of
               // max_length tokens, the last shorter, each packed as a document of its own
  Wrapped,     // "wrapped": the examples concatenated and cut every max_length tokens; a piece is one
               // sequence whose attention crosses the examples it holds (no padding-free rows)
};
PackingStrategy parse_packing_strategy(const std::string& text, const std::string& where);

// TRL packs with datasets' map(batched=True): the examples are split into dataset_num_proc contiguous
// shards (datasets' shard(contiguous=True); num_proc <= 1: one), each shard into batches of 1000
// consecutive examples, and each batch is packed on its own. Returns the [begin, end) of each batch.
std::vector<std::pair<size_t, size_t>> packing_batches(size_t examples, int64_t num_proc);
constexpr size_t kPackingMapBatchSize = 1000;  // datasets.Dataset.map's default batch_size

// The rows TRL's pack_dataset makes of `examples` under `strategy`. Fragments (bfd-requeue) and
// wrapped pieces are owned here; bfd rows point into `examples`, which must outlive the result.
struct PackedRows {
  std::vector<SftExample> pieces;                    // fragments or wrapped pieces (empty for bfd)
  std::vector<std::vector<const SftExample*>> rows;  // each row's documents, in order
  bool padding_free = true;                          // false for wrapped: a row is one sequence
  PackedRows() = default;
  PackedRows(PackedRows&&) = default;  // moving keeps `pieces`' elements, and the pointers, in place
  PackedRows& operator=(PackedRows&&) = default;
  PackedRows(const PackedRows&) = delete;
};
PackedRows pack_dataset(const std::vector<SftExample>& examples, int64_t max_length, PackingStrategy strategy,
                        int64_t num_proc);

// One packed row per group: positions restart and attention stays within each document, so the
// loss equals that of the unpacked examples while no compute goes to padding.
Batch make_packed_batch(const std::vector<std::vector<const SftExample*>>& rows, int32_t pad_id);

}  // namespace tt
