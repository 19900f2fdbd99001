// A file written in pieces and published atomically: data goes to a temp file in the target's
// directory; commit() fsyncs it, renames it over the target and fsyncs the directory. Destroyed
// without commit(), it removes the temp file. Shared by write_file_atomic and the safetensors writer
// (which streams hundreds of MB and should not build one giant string).
#pragma once
#include <cstddef>
#include <string>

namespace tt {

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void commit();

 private:
  std::string path_;
  std::string dir_;
  std::string temp_path_;
  int fd_ = -1;
};

}  // namespace tt
