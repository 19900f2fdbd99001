// Token-id inputs of score and bench generate: JSONL with {"ids": [...]} per line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt::cli {

// One line's ids: each in [0, vocab), at least one; errors name the file and line.
std::vector<int32_t> read_ids(const std::string& path, int64_t line, const nlohmann::json& row, int64_t vocab);
// Every line of the file; with max_tokens > 0, a line of more ids is an error naming it and `limit_name`.
std::vector<std::vector<int32_t>> read_id_sequences(const std::string& path, int64_t vocab, int64_t max_tokens = 0,
                                                    const std::string& limit_name = "");

}  // namespace tt::cli
