#include "train/sft_data.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "io/jsonl.h"

namespace tt {

std::vector<SftExample> read_tokenized_jsonl(const std::string& path) {
  std::vector<SftExample> examples;
  read_jsonl(path, [&](int64_t line, const nlohmann::json& row) {
    if (!row.contains("tokens") || !row["tokens"].is_array()) fail_at_line(path, line, "expected a list 'tokens'");
    SftExample e;
    for (const auto& t : row["tokens"]) {
      if (!t.is_number_integer() || (t.is_number_unsigned() ? t.get<uint64_t>() > INT32_MAX : t.get<int64_t>() < 0 ||
                                                                                                  t.get<int64_t>() > INT32_MAX))
        fail_at_line(path, line, fmt::format("'tokens' holds {}, which is not a token id (0 to 2^31-1)", t.dump()));
      e.tokens.push_back(static_cast<int32_t>(t.get<int64_t>()));
    }
    if (row.contains("loss_mask")) {
      const auto& mask = row["loss_mask"];
      if (!mask.is_array() || mask.size() != e.tokens.size())
        fail_at_line(path, line, "'loss_mask' must be a list as long as 'tokens'");
      for (const auto& m : mask) {
        if (!m.is_boolean() && !(m.is_number_integer() && (m.get<int64_t>() == 0 || m.get<int64_t>() == 1)))
          fail_at_line(path, line, fmt::format("'loss_mask' must hold 0/1 values, got {}", m.dump()));
        e.loss_mask.push_back(m.is_boolean() ? m.get<bool>() : m.get<int64_t>() != 0);
      }
    } else {
      e.loss_mask.assign(e.tokens.size(), 1);
    }
    if (e.tokens.size() < 2) fail_at_line(path, line, "an example needs at least 2 tokens");
    examples.push_back(std::move(e));
  });
  // Loss falls on tokens 1..n-1 whose mask is 1. With none in the whole file, training "ran" with a
  // loss of 0 and no gradient, and wrote an unchanged model with exit 0.
  const bool any_loss = std::any_of(examples.begin(), examples.end(), [](const SftExample& e) {
    return std::find(e.loss_mask.begin() + 1, e.loss_mask.end(), 1) != e.loss_mask.end();
  });
  if (!examples.empty() && !any_loss)
    fail("{}: no token has loss (every loss_mask is 0 after each row's first token): nothing to train on", path);
  return examples;
}

namespace {

void append_example(Batch& batch, const SftExample& e, int32_t doc_start, bool packed) {
  const size_t n = e.tokens.size();
  for (size_t t = 0; t < n; ++t) {
    batch.tokens.push_back(e.tokens[t]);
    batch.targets.push_back(t + 1 < n && e.loss_mask[t + 1] ? e.tokens[t + 1] : -100);
    if (packed) {
      batch.positions.push_back(static_cast<int32_t>(t));
      batch.doc_start.push_back(doc_start);
    }
  }
}

void pad_row(Batch& batch, int64_t count, int32_t pad_id, bool packed) {
  for (int64_t i = 0; i < count; ++i) {
    int32_t column = static_cast<int32_t>(batch.tokens.size() % batch.seq);
    batch.tokens.push_back(pad_id);
    batch.targets.push_back(-100);
    if (packed) {  // padding forms its own "document" so it never touches real tokens
      batch.positions.push_back(static_cast<int32_t>(i));
      batch.doc_start.push_back(column - static_cast<int32_t>(i));
    }
  }
}

}  // namespace

Batch make_padded_batch(const std::vector<const SftExample*>& examples, int32_t pad_id) {
  Batch batch;
  batch.rows = static_cast<int64_t>(examples.size());
  for (const auto* e : examples) batch.seq = std::max<int64_t>(batch.seq, e->tokens.size());
  for (const auto* e : examples) {
    append_example(batch, *e, 0, false);
    pad_row(batch, batch.seq - static_cast<int64_t>(e->tokens.size()), pad_id, false);
  }
  return batch;
}

std::vector<std::vector<int64_t>> pack_examples(const std::vector<SftExample>& examples, int64_t max_length) {
  std::vector<int64_t> order(examples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  // longest first; ties keep dataset order so packing is deterministic
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return examples[a].tokens.size() > examples[b].tokens.size(); });
  std::vector<std::vector<int64_t>> rows;
  std::multimap<int64_t, size_t> free_space;  // remaining capacity -> row
  for (int64_t i : order) {
    int64_t length = std::min<int64_t>(static_cast<int64_t>(examples[i].tokens.size()), max_length);
    auto it = free_space.lower_bound(length);  // the tightest row it fits in
    if (it == free_space.end()) {
      rows.push_back({i});
      if (max_length - length > 0) free_space.emplace(max_length - length, rows.size() - 1);
      continue;
    }
    size_t row = it->second;
    int64_t left = it->first - length;
    free_space.erase(it);
    rows[row].push_back(i);
    if (left > 0) free_space.emplace(left, row);
  }
  return rows;
}

Batch make_packed_batch(const std::vector<std::vector<const SftExample*>>& rows, int32_t pad_id) {
  Batch batch;
  batch.rows = static_cast<int64_t>(rows.size());
  for (const auto& row : rows) {
    int64_t length = 0;
    for (const auto* e : row) length += static_cast<int64_t>(e->tokens.size());
    batch.seq = std::max(batch.seq, length);
  }
  for (const auto& row : rows) {
    int64_t column = 0;
    for (const auto* e : row) {
      append_example(batch, *e, static_cast<int32_t>(column), true);
      column += static_cast<int64_t>(e->tokens.size());
    }
    batch.padding_free_length += column;
    pad_row(batch, batch.seq - column, pad_id, true);
  }
  return batch;
}

}  // namespace tt
