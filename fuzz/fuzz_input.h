// Shared by the libFuzzer targets: the readers under test take paths, so each input is written to
// a per-process file first. Every target treats tt::Error as the expected outcome of bad input;
// anything else (a crash, a hang, a sanitizer report, another exception) is a finding.
#pragma once
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

namespace tt::fuzz {

inline std::string write_input(const uint8_t* data, size_t size, const std::string& file_name) {
  const std::string dir = "/tmp/tinythink-fuzz-" + std::to_string(::getpid());
  static const bool made = [&] { return ::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST; }();
  (void)made;
  const std::string path = dir + "/" + file_name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                 static_cast<std::streamsize>(size));
  return path;
}

}  // namespace tt::fuzz
