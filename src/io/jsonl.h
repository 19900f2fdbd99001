// JSON Lines: read with errors naming file:line; write atomically.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt {

// Calls visit(line_number, object) for every non-empty line. A line that is not valid JSON, or not
// an object, throws tt::Error "<path>:<line>: ...". visit may throw via fail_at_line below.
// A path ending in ".parquet" is read as a parquet file instead (io/parquet.h): one object per row,
// line_number counting rows from 1.
void read_jsonl(const std::string& path, const std::function<void(int64_t, const nlohmann::json&)>& visit);

[[noreturn]] void fail_at_line(const std::string& path, int64_t line, const std::string& message);

// Writes all objects, one per line, atomically (temp file + fsync + rename).
void write_jsonl(const std::string& path, const std::vector<nlohmann::json>& rows);

}  // namespace tt
