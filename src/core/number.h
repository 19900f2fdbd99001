// Numbers written as text in configs (YAML scalars, --set values).
#pragma once
#include <optional>
#include <string>

namespace tt {

// The whole string as a decimal (or hexadecimal) floating-point number, as Python's float() reads
// it: a subnormal such as 1e-320 is that value, "inf" and "nan" are those; nullopt for an empty
// string, trailing or leading characters, or a value past double's range (1e400).
std::optional<double> parse_double(const std::string& text);

}  // namespace tt
