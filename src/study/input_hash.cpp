#include "study/input_hash.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/content_hash.h"
#include "core/error.h"
#include "io/file.h"

namespace tt::study {

namespace fs = std::filesystem;

InputHasher::InputHasher(std::string cache_path) : cache_path_(std::move(cache_path)) {
  if (cache_path_.empty() || !file_exists(cache_path_)) return;
  try {
    nlohmann::json j = read_json_file(cache_path_);
    for (const auto& [k, v] : j.items())
      if (v.is_string()) cache_[k] = v.get<std::string>();
  } catch (const Error&) {
    cache_.clear();  // a damaged cache is only a cache
  }
}

std::string InputHasher::file_hash(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  const std::string key = fmt::format("{}|{}|{}", fs::absolute(path).lexically_normal().string(), size, mtime);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  std::string out = hex64(hash_file(path));
  cache_[key] = out;
  dirty_ = true;
  return out;
}

std::string InputHasher::hash(const std::string& path) {
  if (!fs::is_directory(path)) return file_hash(path);
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(path))
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), path).string());
  std::sort(files.begin(), files.end());
  uint64_t h = hash_string("dir");
  for (const auto& f : files) h = hash_string(file_hash((fs::path(path) / f).string()), hash_string(f, h));
  return hex64(h);
}

void InputHasher::save() const {
  if (!dirty_ || cache_path_.empty() || !fs::is_directory(fs::path(cache_path_).parent_path())) return;
  write_file_atomic(cache_path_, nlohmann::json(cache_).dump(1) + "\n");
}

}  // namespace tt::study
