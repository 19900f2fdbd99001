// Errors the user can act on. Every failure caused by input (a file, a config key, a token id)
// is thrown as tt::Error with a one-line message naming what was wrong; the CLI prints it and
// exits non-zero. Programming errors use TT_CHECK, which also throws (never aborts silently).
#pragma once
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace tt {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace tt

#define TT_CHECK(cond, ...)                                  \
  do {                                                       \
    if (!(cond)) ::tt::fail("internal check failed: " __VA_ARGS__); \
  } while (0)
