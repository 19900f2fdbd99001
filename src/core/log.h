// Minimal logging to stderr: info lines and one-line warnings. Quiet mode for tests.
#pragma once
#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace tt {

inline bool& log_quiet() {
  static bool quiet = false;
  return quiet;
}

template <typename... Args>
void log_info(fmt::format_string<Args...> format, Args&&... args) {
  if (log_quiet()) return;
  std::string line = fmt::format(format, std::forward<Args>(args)...);
  std::fprintf(stderr, "%s\n", line.c_str());
}

template <typename... Args>
void log_warn(fmt::format_string<Args...> format, Args&&... args) {
  std::string line = fmt::format(format, std::forward<Args>(args)...);
  std::fprintf(stderr, "warning: %s\n", line.c_str());
}

}  // namespace tt
