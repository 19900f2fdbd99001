// Option validators with one-line messages. CLI11's PositiveNumber / NonNegativeNumber reject 0 with
// "Value 0 not in range 0.000000 to 17976931348623157081...", the 309 digits of DBL_MAX.
#pragma once
#include <cstdlib>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "infer/generation_config.h"
#include "infer/sampler.h"

namespace tt::cli {

// lower < value (strict) or lower <= value; the option's own type conversion reports non-numbers
inline CLI::Validator number_above(double lower, bool strict, const std::string& name) {
  return CLI::Validator(
      [lower, strict](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0') return "expected a number, got '" + text + "'";
        if (strict ? value > lower : value >= lower) return "";
        return std::string(strict ? "must be positive" : "must not be negative") + ", got " + text;
      },
      name);
}

// A whole number in [0, 2^64): CLI11 read `--seed -1` as 2^64-1 and saturated 99999999999999999999,
// so different seeds gave the same samples.
inline CLI::Validator unsigned_64() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.size() <= 20 && text.find_first_not_of("0123456789") == std::string::npos;
        if (digits && (text.size() < 20 || text <= "18446744073709551615")) return "";
        return "expected a whole number from 0 to 18446744073709551615, got '" + text + "'";
      },
      "UINT64");
}

// A boolean option whose value may be left out, as lm-eval's `--fewshot_as_multiturn [BOOL]`: nothing,
// true, 1 or yes (any case) is true; false, 0 or no is false; anything else is an error naming the option.
inline bool parse_flag_value(const std::string& option, const std::string& text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower.empty() || lower == "true" || lower == "1" || lower == "yes") return true;
  if (lower == "false" || lower == "0" || lower == "no") return false;
  fail("{} '{}': expected true or false", option, text);
}

inline CLI::Validator positive() { return number_above(0, true, "POSITIVE"); }
inline CLI::Validator non_negative() { return number_above(0, false, "NONNEGATIVE"); }

// The sampling flags of a verb (--temperature, --top-p, ...) checked once, before any input is read,
// so a bad flag is blamed on the flag and not on the first input line. `flags` maps a field of
// SamplingParams (as infer::validate names it) to the verb's flag for it.
inline void check_sampling_flags(const std::string& verb, const infer::SamplingParams& params,
                                 const std::vector<std::pair<std::string, std::string>>& flags) {
  try {
    infer::validate(params);
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const auto& [field, flag] : flags)
      if (message.rfind(field + " ", 0) == 0) fail("{} {}: {}", verb, flag, message);
    fail("{}: {}", verb, message);
  }
}

// The SamplingParams fields whose flag was given (`flags`: a field and the verb's option for it): the
// model's generation_config.json does not override them.
inline std::set<std::string> given_fields(const std::vector<std::pair<std::string, CLI::Option*>>& flags) {
  std::set<std::string> given;
  for (const auto& [field, option] : flags)
    if (option->count() > 0) given.insert(field);
  return given;
}

// The verb's sampling from its flags with the model's generation_config.json defaults for the fields
// not `given`, checked together (--min-tokens 300 with a file's max_new_tokens 200).
inline infer::SamplingParams with_model_defaults(const std::string& verb, infer::SamplingParams params,
                                                 const infer::ModelSamplingDefaults& defaults,
                                                 const std::set<std::string>& given) {
  infer::apply_sampling_defaults(defaults, given, params);
  try {
    infer::validate(params);
  } catch (const Error& e) {
    fail("{}: {} (the flags with the sampling defaults of {})", verb, e.what(), defaults.path);
  }
  return params;
}

}  // namespace tt::cli
