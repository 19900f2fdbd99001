// JSON Lines: read with errors naming file:line; write atomically.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt {

// Calls visit(line_number, object) for every non-empty line. A line that is not valid JSON, or not
// an object, throws tt::Error "<path>:<line>: ...". visit may throw via fail_at_line below.
// A path ending in ".parquet" is read as a parquet file instead (io/parquet.h): one object per row,
// line_number counting rows from 1.
void read_jsonl(const std::string& path, const std::function<void(int64_t, const nlohmann::json&)>& visit);

[[noreturn]] void fail_at_line(const std::string& path, int64_t line, const std::string& message);

// JSON arrays and objects nested deeper than this are refused before parsing: copying or printing
// such a value recurses once per level (100,000 levels overflowed the stack). Real inputs nest a few
// levels (a message list of objects).
inline constexpr int kMaxJsonNesting = 512;
// "" when `text` nests at most kMaxJsonNesting arrays/objects deep (strings are skipped), else why.
std::string json_nesting_error(std::string_view text);
// Throws tt::Error "<where>: <why>" when json_nesting_error has something to say.
void check_json_nesting(std::string_view text, const std::string& where);

// Writes all objects, one per line, atomically (temp file + fsync + rename).
void write_jsonl(const std::string& path, const std::vector<nlohmann::json>& rows);

}  // namespace tt
