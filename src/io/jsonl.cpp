#include "io/jsonl.h"

#include <fstream>

#include "core/error.h"
#include "io/file.h"
#include "io/parquet.h"

namespace tt {

void fail_at_line(const std::string& path, int64_t line, const std::string& message) {
  fail("{}:{}: {}", path, line, message);
}

std::string json_nesting_error(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonNesting) return fmt::format("JSON nested deeper than {} levels", kMaxJsonNesting);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return "";
}

void check_json_nesting(std::string_view text, const std::string& where) {
  if (std::string why = json_nesting_error(text); !why.empty()) fail("{}: {}", where, why);
}

void read_jsonl(const std::string& path, const std::function<void(int64_t, const nlohmann::json&)>& visit) {
  if (is_parquet_path(path)) return ParquetFile(path).read_rows({}, visit);
  std::ifstream in(path);
  if (!in) fail("{}: cannot open", path);
  std::string text;
  int64_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (std::string why = json_nesting_error(text); !why.empty()) fail_at_line(path, line, why);
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number that overflows
      fail_at_line(path, line, std::string("invalid JSON: ") + e.what());
    }
    if (!object.is_object()) fail_at_line(path, line, "expected a JSON object");
    visit(line, object);
  }
}

void write_jsonl(const std::string& path, const std::vector<nlohmann::json>& rows) {
  std::string content;
  for (const auto& row : rows) {
    content += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    content += '\n';
  }
  write_file_atomic(path, content);
}

}  // namespace tt
