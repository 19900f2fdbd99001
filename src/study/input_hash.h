// Content hashes of a study's input files and directories, cached by (path, size, mtime) in a small
// JSON file so that a large model or dataset is read once, not at every `tinythink run`.
#pragma once
#include <map>
#include <string>

namespace tt::study {

class InputHasher {
 public:
  // cache_path "": no cache on disk.
  explicit InputHasher(std::string cache_path);
  // A file: its bytes. A directory: every regular file below it (relative path + content), sorted.
  std::string hash(const std::string& path);
  void save() const;  // writes the cache when something new was hashed (and its directory exists)

 private:
  std::string file_hash(const std::string& path);
  std::string cache_path_;
  std::map<std::string, std::string> cache_;  // "path|size|mtime" -> hash
  bool dirty_ = false;
};

}  // namespace tt::study
