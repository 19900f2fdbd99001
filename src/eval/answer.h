// Answer extraction and scoring for the evaluation harness (DESIGN.md §5, issue 7).
//
// Extractors return std::nullopt where lm-eval would yield its "[invalid]" fallback (no answer found).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/python_compat.h"

namespace tt::eval {

// Content of the last \boxed{...} (balanced braces), or of "\boxed X" (the token up to '$' or
// whitespace); \fbox{...} when the text has no \boxed at all. nullopt when none or unbalanced.
std::optional<std::string> extract_boxed_last(std::string_view text);

// The study's rule: last \boxed{}, else the text after the last "answer is" (to the end of its line,
// trimmed, without a leading ':' and surrounding '$' / trailing '.'), else the last number.
std::optional<std::string> extract_answer_study(std::string_view text);

// lm-eval gsm8k "strict-match": regex `#### (\-?[0-9\.\,]+)`, first match, group 1, stripped.
std::optional<std::string> extract_gsm8k_strict(std::string_view text);

// lm-eval gsm8k "flexible-extract": regex `(-?[$0-9.,]{2,})|(-?[0-9]+)`, last match, first
// non-empty group, stripped.
std::optional<std::string> extract_gsm8k_flexible(std::string_view text);

// A number written with commas, '$' / "\$", a trailing '.', a trailing '%' / "\%", or a simple
// fraction a/b. nullopt when it is not one.
std::optional<double> parse_number(std::string_view s);

// Equal as strings after normalisation (trim, drop '$', commas, trailing '.', '%'), or both numbers
// within relative tolerance 1e-4.
bool numbers_equal(std::string_view a, std::string_view b);

// MATH-style normalisation (Hendrycks strip_string / PRM800K conventions).
std::string normalize_math_answer(std::string_view s);

// Normalised strings equal, or both parse as numbers (plain, a/b, \frac{a}{b}) within 1e-4 relative.
bool math_answers_equivalent(std::string_view a, std::string_view b);

// The study's system prompt for GSM8K and MATH-500 (DESIGN.md §5).
inline constexpr std::string_view kStudySystemPrompt =
    "Please reason step by step, and put your final answer within \\boxed{}.";

// ---- lm-eval's generate_until filters and exact_match, with Python's str / re semantics ----
//
// lm-eval runs on Python str: regexes see code points, strip() and lower() are Unicode-aware, and
// text that is not valid UTF-8 is read as Python's decode(errors="replace") would (python_compat.h),
// so none of these throw on arbitrary bytes.

// lm-eval's RegexFilter (before take_first): match number `group_select` of findall (negative
// counts from the end), its first non-empty group when the pattern has several, stripped.
// nullopt where lm-eval writes its fallback "[invalid]".
std::optional<std::string> lm_regex_filter(const py::Regex& regex, std::string_view text, int group_select);

// lm-eval's exact_match metric (HF evaluate's): every regexes_to_ignore pattern is removed from
// both strings in order (re.sub), then optional lower-casing and removal of ASCII punctuation
// (string.punctuation), then string equality.
class ExactMatch {
 public:
  ExactMatch(const std::vector<std::string>& regexes_to_ignore, bool ignore_case, bool ignore_punctuation);
  bool operator()(std::string_view prediction, std::string_view reference) const;
  std::string normalize(std::string_view s) const;

 private:
  std::vector<std::unique_ptr<py::Regex>> ignore_;
  bool ignore_case_ = false;
  bool ignore_punctuation_ = false;
};

}  // namespace tt::eval
