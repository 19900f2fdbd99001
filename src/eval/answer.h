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
// lm-eval runs on Python str: regexes see code points (\b, \s, \d are Unicode-aware), strip() and
// split() know Unicode whitespace, lower() is the full Unicode mapping. Text that is not valid
// UTF-8 is read as Python's decode(errors="replace") would (U+FFFD per invalid subpart), so none of
// these throw on arbitrary bytes.

// A compiled pattern with Python re semantics for the patterns lm-eval's tasks use: PCRE2 in UTF +
// UCP mode, LF as the only newline ('.' excludes "\n"; '$' matches at the end or before a final
// "\n"). Matching is thread-safe. An invalid pattern throws tt::Error naming it.
class PyRegex {
 public:
  explicit PyRegex(std::string_view pattern);
  ~PyRegex();
  PyRegex(const PyRegex&) = delete;
  PyRegex& operator=(const PyRegex&) = delete;

  const std::string& pattern() const { return pattern_; }
  // re.findall: one entry per non-overlapping match, each holding the capture groups 1..n (""
  // for a group that did not take part), or the whole match when the pattern has no groups.
  std::vector<std::vector<std::string>> findall(std::string_view text) const;
  // re.sub(pattern, replacement, text) with a literal replacement.
  std::string sub(std::string_view text, std::string_view replacement = "") const;

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code*
  uint32_t groups_ = 0;
};

// Python's str.strip() / str.split() (Unicode whitespace), str.lower() (full case mapping, ICU),
// and str.translate() dropping every character of a Unicode punctuation category (P*).
std::string py_strip(std::string_view s);
std::vector<std::string> py_split(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_remove_punctuation(std::string_view s);
// Python's re.escape.
std::string py_regex_escape(std::string_view s);

// lm-eval's RegexFilter (before take_first): match number `group_select` of findall (negative
// counts from the end), its first non-empty group when the pattern has several, stripped.
// nullopt where lm-eval writes its fallback "[invalid]".
std::optional<std::string> lm_regex_filter(const PyRegex& regex, std::string_view text, int group_select);

// lm-eval's exact_match metric (HF evaluate's): every regexes_to_ignore pattern is removed from
// both strings in order (re.sub), then optional lower-casing and removal of ASCII punctuation
// (string.punctuation), then string equality.
class ExactMatch {
 public:
  ExactMatch(const std::vector<std::string>& regexes_to_ignore, bool ignore_case, bool ignore_punctuation);
  bool operator()(std::string_view prediction, std::string_view reference) const;
  std::string normalize(std::string_view s) const;

 private:
  std::vector<std::unique_ptr<PyRegex>> ignore_;
  bool ignore_case_ = false;
  bool ignore_punctuation_ = false;
};

}  // namespace tt::eval
