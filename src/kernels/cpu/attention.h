// Causal grouped-query attention, flash-style: the forward keeps only each row's log-sum-exp, and
// the backward recomputes the probabilities block by block, so T x T probabilities are never stored.
//
// Layouts (rows are tokens of batch row b at position t, index b*T + t):
//   q, out, dq: [B*T, heads * head_dim]      k, v, dk, dv: [B*T, kv_heads * head_dim]
//   lse:        [B, heads, T]
// Query head h reads KV head h / (heads / kv_heads). Scores are scaled by 1/sqrt(head_dim).
// doc_start (optional, [B*T]): the first position of the document that token t belongs to, for packed
// rows; a query attends to keys in [doc_start[t], t]. nullptr means plain causal attention.
#pragma once
#include <cstdint>

namespace tt {

struct AttentionShape {
  int64_t batch = 1, seq = 1, heads = 1, kv_heads = 1, head_dim = 1;
};

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* doc_start, const AttentionShape& shape);

// dq, dk, dv are overwritten.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                        const float* q, const float* k, const float* v, const int32_t* doc_start,
                        const AttentionShape& shape);

}  // namespace tt
