// Causal grouped-query attention of query rows over a paged K/V cache (the engine's attention).
//
// Each query row i belongs to one sequence and sits at position positions[i]; it attends to that
// sequence's positions 0..positions[i], whose K/V (including its own) are already in the cache. A
// sequence's position p lives in block block_tables[i][p / block_size], slot p % block_size, and a
// block's slot holds kv_heads * head_dim floats. Per row and head: scores in position order, softmax,
// weighted sum of values — nothing depends on the other rows or on how a prompt was chunked, so a
// row's result is the same whatever the batch (the engine's batch invariance).
//
// Plain parameters, no hidden state: a device backend takes the same struct with device pointers.
#pragma once
#include <cstdint>

namespace tt {

struct PagedAttentionParams {
  int64_t rows = 0, heads = 1, kv_heads = 1, head_dim = 1;
  int64_t block_size = 1;                    // token slots per block
  const float* q = nullptr;                  // [rows, heads * head_dim]
  float* out = nullptr;                      // [rows, heads * head_dim]
  const int32_t* positions = nullptr;        // [rows]
  const int32_t* const* block_tables = nullptr;  // [rows]: the block table of each row's sequence
  const float* const* block_keys = nullptr;      // [blocks]: keys of each block, [block_size, kv_heads * head_dim]
  const float* const* block_values = nullptr;    // [blocks]: values, same layout
};

// Query head h reads KV head h / (heads / kv_heads); scores are scaled by 1/sqrt(head_dim).
void paged_attention(const PagedAttentionParams& p);

}  // namespace tt
