#include "train/sft_data.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "io/jsonl.h"

namespace tt {

std::vector<SftExample> read_tokenized_jsonl(const std::string& path) {
  std::vector<SftExample> examples;
  read_jsonl(path, [&](int64_t line, const nlohmann::json& row) {
    // TRL's processed rows name them input_ids and completion_mask / assistant_masks
    const char* ids_key = row.contains("tokens") || !row.contains("input_ids") ? "tokens" : "input_ids";
    if (!row.contains(ids_key) || !row[ids_key].is_array()) fail_at_line(path, line, "expected a list 'tokens' (or 'input_ids')");
    SftExample e;
    for (const auto& t : row[ids_key]) {
      if (!t.is_number_integer() || (t.is_number_unsigned() ? t.get<uint64_t>() > INT32_MAX : t.get<int64_t>() < 0 ||
                                                                                                  t.get<int64_t>() > INT32_MAX))
        fail_at_line(path, line, fmt::format("'{}' holds {}, which is not a token id (0 to 2^31-1)", ids_key, t.dump()));
      e.tokens.push_back(static_cast<int32_t>(t.get<int64_t>()));
    }
    // Every mask present applies (TRL's collator: completion_mask, then assistant_masks; labels of
    // -100 carry no loss, and any other label must be its token: targets are the next tokens).
    e.loss_mask.assign(e.tokens.size(), 1);
    if (row.contains("labels")) {
      const auto& labels = row["labels"];
      if (!labels.is_array() || labels.size() != e.tokens.size())
        fail_at_line(path, line, fmt::format("'labels' must be a list as long as '{}'", ids_key));
      for (size_t i = 0; i < labels.size(); ++i) {
        if (!labels[i].is_number_integer())
          fail_at_line(path, line, fmt::format("'labels' holds {}, which is not an integer", labels[i].dump()));
        const int64_t label = labels[i].get<int64_t>();
        if (label == -100) e.loss_mask[i] = 0;
        else if (label != e.tokens[i])
          fail_at_line(path, line, fmt::format("'labels'[{}] is {} where '{}' holds {}: labels must be the tokens or "
                                               "-100", i, label, ids_key, e.tokens[i]));
      }
    }
    for (const char* key : {"loss_mask", "completion_mask", "assistant_masks"}) {
      if (!row.contains(key)) continue;
      const auto& mask = row[key];
      if (!mask.is_array() || mask.size() != e.tokens.size())
        fail_at_line(path, line, fmt::format("'{}' must be a list as long as '{}'", key, ids_key));
      for (size_t i = 0; i < mask.size(); ++i) {
        const auto& m = mask[i];
        if (!m.is_boolean() && !(m.is_number_integer() && (m.get<int64_t>() == 0 || m.get<int64_t>() == 1)))
          fail_at_line(path, line, fmt::format("'{}' must hold 0/1 values, got {}", key, m.dump()));
        if (!(m.is_boolean() ? m.get<bool>() : m.get<int64_t>() != 0)) e.loss_mask[i] = 0;
      }
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

std::vector<std::vector<int64_t>> pack_lengths(const std::vector<int64_t>& lengths, int64_t max_length) {
  std::vector<int64_t> order(lengths.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  // longest first; ties keep dataset order (pyarrow's sort is stable)
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
  std::vector<std::vector<int64_t>> rows;
  std::multimap<int64_t, size_t> free_space;  // remaining room -> row; equal keys stay in insertion order
  for (int64_t i : order) {
    const int64_t length = std::min(lengths[i], max_length);
    auto it = free_space.lower_bound(length);  // the tightest row it fits in, the oldest among equals
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

std::vector<std::vector<int64_t>> pack_examples(const std::vector<SftExample>& examples, int64_t max_length) {
  std::vector<int64_t> lengths;
  for (const auto& e : examples) lengths.push_back(static_cast<int64_t>(e.tokens.size()));
  return pack_lengths(lengths, max_length);
}

PackingStrategy parse_packing_strategy(const std::string& text, const std::string& where) {
  if (text == "bfd") return PackingStrategy::Bfd;
  if (text == "bfd-requeue" || text == "bfd_split") return PackingStrategy::BfdRequeue;
  if (text == "wrapped") return PackingStrategy::Wrapped;
  fail("{}: expected bfd, bfd-requeue (or bfd_split) or wrapped, got '{}'", where, text);
}

std::vector<std::pair<size_t, size_t>> packing_batches(size_t examples, int64_t num_proc) {
  // datasets' map: num_proc above the row count becomes the row count; shard i of n (contiguous)
  // holds rows [div*i + min(i, mod), ...) with div = rows / n, mod = rows % n
  const size_t shards = std::max<size_t>(1, std::min<size_t>(examples, static_cast<size_t>(std::max<int64_t>(num_proc, 1))));
  const size_t div = examples / shards, mod = examples % shards;
  std::vector<std::pair<size_t, size_t>> batches;
  for (size_t i = 0; i < shards; ++i) {
    const size_t begin = div * i + std::min(i, mod), end = begin + div + (i < mod ? 1 : 0);
    for (size_t b = begin; b < end; b += kPackingMapBatchSize) batches.emplace_back(b, std::min(end, b + kPackingMapBatchSize));
  }
  return batches;
}

namespace {

SftExample slice(const SftExample& e, size_t begin, size_t end) {
  return {{e.tokens.begin() + static_cast<ptrdiff_t>(begin), e.tokens.begin() + static_cast<ptrdiff_t>(end)},
          {e.loss_mask.begin() + static_cast<ptrdiff_t>(begin), e.loss_mask.begin() + static_cast<ptrdiff_t>(end)}};
}

}  // namespace

PackedRows pack_dataset(const std::vector<SftExample>& examples, int64_t max_length, PackingStrategy strategy,
                        int64_t num_proc) {
  if (max_length <= 0) fail("packing needs a positive max_length, got {}", max_length);
  const size_t cut = static_cast<size_t>(max_length);
  PackedRows out;
  out.padding_free = strategy != PackingStrategy::Wrapped;
  // Each map batch's pieces, then its rows as indices into them; pointers are taken once `pieces`
  // stops growing.
  struct BatchRows {
    size_t first_piece = 0;
    std::vector<std::vector<int64_t>> rows;
  };
  std::vector<BatchRows> per_batch;
  for (const auto& [begin, end] : packing_batches(examples.size(), num_proc)) {
    BatchRows b;
    b.first_piece = out.pieces.size();
    if (strategy == PackingStrategy::Wrapped) {
      SftExample all;  // _pack_wrapped: the batch's tokens end to end, cut every max_length from its start
      for (size_t i = begin; i < end; ++i) {
        all.tokens.insert(all.tokens.end(), examples[i].tokens.begin(), examples[i].tokens.end());
        all.loss_mask.insert(all.loss_mask.end(), examples[i].loss_mask.begin(), examples[i].loss_mask.end());
      }
      for (size_t at = 0; at < all.tokens.size(); at += cut) {
        b.rows.push_back({static_cast<int64_t>(out.pieces.size() - b.first_piece)});
        out.pieces.push_back(slice(all, at, std::min(all.tokens.size(), at + cut)));
      }
    } else if (strategy == PackingStrategy::BfdRequeue) {
      std::vector<SftExample> fragments;  // every example as fragments of at most max_length, in order
      for (size_t i = begin; i < end; ++i)
        for (size_t at = 0; at < examples[i].tokens.size(); at += cut)
          fragments.push_back(slice(examples[i], at, std::min(examples[i].tokens.size(), at + cut)));
      b.rows = pack_examples(fragments, max_length);
      for (auto& f : fragments) out.pieces.push_back(std::move(f));
    } else {
      std::vector<int64_t> lengths;
      for (size_t i = begin; i < end; ++i) lengths.push_back(static_cast<int64_t>(examples[i].tokens.size()));
      b.rows = pack_lengths(lengths, max_length);
      for (auto& row : b.rows)
        for (auto& i : row) i += static_cast<int64_t>(begin);
      b.first_piece = SIZE_MAX;  // rows index `examples`
    }
    per_batch.push_back(std::move(b));
  }
  for (const auto& b : per_batch)
    for (const auto& row : b.rows) {
      auto& members = out.rows.emplace_back();
      for (int64_t i : row)
        members.push_back(b.first_piece == SIZE_MAX ? &examples[static_cast<size_t>(i)]
                                                    : &out.pieces[b.first_piece + static_cast<size_t>(i)]);
    }
  return out;
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
