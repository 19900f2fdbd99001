// Files: whole-file reads with errors that name the path, and atomic writes.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace tt {

std::string read_file(const std::string& path);  // throws tt::Error "<path>: cannot open (reason)"
nlohmann::json read_json_file(const std::string& path);  // "<path>: invalid JSON: parse error at line L, column C: ..."
// Write via temp file + fsync + rename, so readers never see half a file.
void write_file_atomic(const std::string& path, const std::string& content);
void write_json_file(const std::string& path, const nlohmann::json& json);  // pretty, 2-space indent
bool file_exists(const std::string& path);
bool is_directory(const std::string& path);

}  // namespace tt
