#include "core/number.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace tt {

std::optional<double> parse_double(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  // ERANGE: an overflow returns +-HUGE_VAL (refused); an underflow the nearest subnormal or 0 (kept,
  // as Python keeps it)
  if (errno == ERANGE && std::isinf(v)) return std::nullopt;
  return v;
}

}  // namespace tt
