#include "cli/token_ids.h"

#include <fmt/format.h>

#include "core/error.h"
#include "io/jsonl.h"

namespace tt::cli {

std::vector<int32_t> read_ids(const std::string& path, int64_t line, const nlohmann::json& row, int64_t vocab) {
  if (!row.contains("ids")) {
    if (row.contains("text")) fail_at_line(path, line, "'text' needs a tokenizer; give token 'ids' instead");
    fail_at_line(path, line, "expected a field 'ids' (a list of token ids)");
  }
  const auto& ids = row["ids"];
  if (!ids.is_array()) fail_at_line(path, line, "'ids' is not a list");
  std::vector<int32_t> out;
  for (const auto& id : ids) {
    if (!id.is_number_integer()) fail_at_line(path, line, "'ids' holds a value that is not an integer");
    int64_t value = id.get<int64_t>();
    if (value < 0 || value >= vocab)
      fail_at_line(path, line, fmt::format("token id {} out of range (vocab size {})", value, vocab));
    out.push_back(static_cast<int32_t>(value));
  }
  if (out.empty()) fail_at_line(path, line, "'ids' is empty");
  return out;
}

std::vector<std::vector<int32_t>> read_id_sequences(const std::string& path, int64_t vocab, int64_t max_tokens,
                                                    const std::string& limit_name) {
  std::vector<std::vector<int32_t>> sequences;
  read_jsonl(path, [&](int64_t line, const nlohmann::json& row) {
    sequences.push_back(read_ids(path, line, row, vocab));
    if (max_tokens > 0 && static_cast<int64_t>(sequences.back().size()) > max_tokens)
      fail_at_line(path, line, fmt::format("{} ids, more than {} ({})", sequences.back().size(), max_tokens, limit_name));
  });
  return sequences;
}

}  // namespace tt::cli
