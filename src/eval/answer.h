// Answer extraction and scoring for the evaluation harness (DESIGN.md §5, issue 7).
//
// Extractors return std::nullopt where lm-eval would yield its "[invalid]" fallback (no answer found).
#pragma once
#include <optional>
#include <string>
#include <string_view>

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

}  // namespace tt::eval
