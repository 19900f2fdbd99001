#include "eval/answer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include "core/error.h"
#include "text/utf8.h"

namespace tt::eval {
namespace {

// A compiled PCRE2 pattern; matching with per-call match data is thread-safe.
class Regex {
 public:
  explicit Regex(const char* pattern) {
    int err = 0;
    PCRE2_SIZE err_off = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED, 0, &err,
                          &err_off, nullptr);
    if (!code_) throw std::runtime_error(std::string("bad regex: ") + pattern);
    pcre2_pattern_info(code_, PCRE2_INFO_CAPTURECOUNT, &groups_);
  }
  ~Regex() { pcre2_code_free(code_); }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  const pcre2_code* code() const { return code_; }
  uint32_t groups() const { return groups_; }

 private:
  pcre2_code* code_ = nullptr;
  uint32_t groups_ = 0;
};

// All matches of a pattern; each match is its capture groups 1..n (empty string for unset groups).
std::vector<std::vector<std::string>> find_all(const Regex& re, std::string_view text) {
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
      pcre2_match_data_create_from_pattern(re.code(), nullptr), &pcre2_match_data_free);
  std::vector<std::vector<std::string>> out;
  PCRE2_SIZE pos = 0;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  while (pos <= text.size()) {
    int rc = pcre2_match(re.code(), subject, text.size(), pos, 0, md.get(), nullptr);
    if (rc < 0) break;
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    const uint32_t groups = re.groups();
    std::vector<std::string> m;
    for (uint32_t g = 1; g <= groups; ++g) {
      if (static_cast<int>(g) < rc && ov[2 * g] != PCRE2_UNSET)
        m.emplace_back(text.substr(ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
      else
        m.emplace_back();
    }
    out.push_back(std::move(m));
    pos = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
  }
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

// lm-eval's RegexFilter followed by take_first: pick match `select` (0 first, -1 last), the first
// non-empty group of it, strip it.
std::optional<std::string> regex_filter(const Regex& re, std::string_view text, int select) {
  auto matches = find_all(re, text);
  if (matches.empty()) return std::nullopt;
  const auto& m = select >= 0 ? matches[static_cast<size_t>(select)] : matches.back();
  for (const auto& g : m)
    if (!g.empty()) return trim(g);
  return std::nullopt;
}

// The braced group starting at text[open] == '{'; nullopt when unbalanced.
std::optional<std::string> braced(std::string_view text, size_t open) {
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    if (text[i] == '{') ++depth;
    else if (text[i] == '}' && --depth == 0) return std::string(text.substr(open + 1, i - open - 1));
  }
  return std::nullopt;
}

bool parse_double(std::string_view s, double& out) {
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(out);
}

bool close(double a, double b) {
  if (a == b) return true;
  return std::fabs(a - b) <= 1e-4 * std::max(std::fabs(a), std::fabs(b));
}

// Strips what numbers_equal ignores: whitespace, '$' / "\$", commas, a trailing '.', '%' / "\%".
std::string clean_number(std::string_view in) {
  std::string s = trim(in);
  replace_all(s, "\\$", "");
  replace_all(s, "\\%", "%");
  std::string t;
  for (char c : s)
    if (c != '$' && c != ',' && !std::isspace(static_cast<unsigned char>(c))) t += c;
  while (!t.empty() && (t.back() == '.' || t.back() == '%')) t.pop_back();
  return t;
}

// Hendrycks' fix_fracs: \frac12 -> \frac{1}{2}, \frac1{2} -> \frac{1}{2}, \frac{1}2 -> \frac{1}{2}.
std::string fix_fracs(const std::string& s) {
  std::string out;
  size_t i = 0;
  const std::string_view key = "\\frac";
  while (i < s.size()) {
    if (s.compare(i, key.size(), key) != 0) {
      out += s[i++];
      continue;
    }
    out += key;
    i += key.size();
    for (int arg = 0; arg < 2 && i < s.size(); ++arg) {
      if (s[i] == '{') {
        auto b = braced(s, i);
        if (!b) break;
        out += '{' + *b + '}';
        i += b->size() + 2;
      } else if (std::isalnum(static_cast<unsigned char>(s[i]))) {
        out += '{';
        out += s[i++];
        out += '}';
      } else {
        break;
      }
    }
  }
  return out;
}

// \sqrt2 -> \sqrt{2}.
std::string fix_sqrt(const std::string& s) {
  std::string out;
  const std::string_view key = "\\sqrt";
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, key.size(), key) == 0) {
      out += key;
      i += key.size();
      if (i < s.size() && s[i] != '{' && s[i] != '[' && std::isalnum(static_cast<unsigned char>(s[i]))) {
        out += '{';
        out += s[i++];
        out += '}';
      }
    } else {
      out += s[i++];
    }
  }
  return out;
}

bool is_int(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A normalised MATH answer as a number: plain, a/b, \frac{a}{b}, -\frac{a}{b}.
std::optional<double> math_number(const std::string& s) {
  double v = 0;
  if (parse_double(s, v)) return v;
  std::string t = s;
  double sign = 1;
  if (starts_with(t, "-")) {
    sign = -1;
    t.erase(0, 1);
  }
  if (starts_with(t, "\\frac{")) {
    auto num = braced(t, 5);
    if (!num) return std::nullopt;
    size_t at = 5 + num->size() + 2;
    if (at >= t.size() || t[at] != '{') return std::nullopt;
    auto den = braced(t, at);
    if (!den || at + den->size() + 2 != t.size()) return std::nullopt;
    double n = 0, d = 0;
    if (!parse_double(*num, n) || !parse_double(*den, d) || d == 0) return std::nullopt;
    return sign * n / d;
  }
  if (auto slash = t.find('/'); slash != std::string::npos) {
    double n = 0, d = 0;
    if (parse_double(t.substr(0, slash), n) && parse_double(t.substr(slash + 1), d) && d != 0)
      return sign * n / d;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> extract_boxed_last(std::string_view text) {
  size_t at = text.rfind("\\boxed");
  size_t len = 6;
  if (at == std::string_view::npos) {
    at = text.rfind("\\fbox");
    len = 5;
    if (at == std::string_view::npos) return std::nullopt;
  }
  size_t i = at + len;
  if (i < text.size() && text[i] == ' ') {
    // "\boxed 5$": the token up to '$' or whitespace.
    while (i < text.size() && text[i] == ' ') ++i;
    size_t e = i;
    while (e < text.size() && text[e] != '$' && !std::isspace(static_cast<unsigned char>(text[e]))) ++e;
    if (e == i) return std::nullopt;
    return std::string(text.substr(i, e - i));
  }
  if (i < text.size() && text[i] == '{') return braced(text, i);
  return std::nullopt;
}

std::optional<std::string> extract_answer_study(std::string_view text) {
  if (auto b = extract_boxed_last(text)) return b;
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (size_t at = lower.rfind("answer is"); at != std::string::npos) {
    size_t b = at + 9;
    size_t e = text.find('\n', b);
    std::string s = trim(text.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
    if (starts_with(s, ":")) s = trim(s.substr(1));
    while (!s.empty() && (s.back() == '.' || s.back() == '$' || std::isspace(static_cast<unsigned char>(s.back()))))
      s.pop_back();
    while (!s.empty() && s.front() == '$') s.erase(0, 1);
    s = trim(s);
    if (!s.empty()) return s;
  }
  static const Regex number("(-?[0-9][0-9,]*(?:\\.[0-9]+)?)");
  auto nums = find_all(number, text);
  if (nums.empty()) return std::nullopt;
  std::string n = nums.back()[0];
  while (!n.empty() && n.back() == ',') n.pop_back();
  return n;
}

std::optional<std::string> extract_gsm8k_strict(std::string_view text) {
  static const Regex strict("#### (\\-?[0-9\\.\\,]+)");
  return regex_filter(strict, text, 0);
}

std::optional<std::string> extract_gsm8k_flexible(std::string_view text) {
  static const Regex flexible("(-?[$0-9.,]{2,})|(-?[0-9]+)");
  return regex_filter(flexible, text, -1);
}

std::optional<double> parse_number(std::string_view in) {
  std::string s = clean_number(in);
  double v = 0;
  if (parse_double(s, v)) return v;
  if (auto slash = s.find('/'); slash != std::string::npos) {
    double n = 0, d = 0;
    if (parse_double(std::string_view(s).substr(0, slash), n) &&
        parse_double(std::string_view(s).substr(slash + 1), d) && d != 0)
      return n / d;
  }
  return std::nullopt;
}

bool numbers_equal(std::string_view a, std::string_view b) {
  std::string ca = clean_number(a), cb = clean_number(b);
  if (!ca.empty() && ca == cb) return true;
  auto x = parse_number(a), y = parse_number(b);
  return x && y && close(*x, *y);
}

std::string normalize_math_answer(std::string_view in) {
  std::string s(in);
  replace_all(s, "\n", "");
  s = trim(s);
  // Surrounding $...$.
  while (s.size() >= 2 && s.front() == '$' && s.back() == '$') s = trim(s.substr(1, s.size() - 2));
  replace_all(s, "\\!", "");
  replace_all(s, "\\,", "");
  replace_all(s, "\\;", "");
  replace_all(s, "\\:", "");
  replace_all(s, "\\\\", "\\");
  replace_all(s, "tfrac", "frac");
  replace_all(s, "dfrac", "frac");
  replace_all(s, "\\left", "");
  replace_all(s, "\\right", "");
  replace_all(s, "^{\\circ}", "");
  replace_all(s, "^\\circ", "");
  replace_all(s, "\\$", "");
  replace_all(s, "\\%", "");
  replace_all(s, "%", "");
  s = trim(s);
  // Units: a trailing \text{...} / \mbox{...} after something else.
  for (std::string_view key : {"\\text{", "\\mbox{", "\\mathrm{"}) {
    size_t at = s.rfind(key);
    if (at != std::string::npos && at > 0) {
      auto b = braced(s, at + key.size() - 1);
      if (b && at + key.size() + b->size() + 1 == s.size()) {
        std::string before = trim(s.substr(0, at));
        if (!before.empty()) s = before;
      }
    }
  }
  // \text{X} anywhere -> X.
  for (std::string_view key : {"\\text{", "\\textbf{", "\\mbox{", "\\mathrm{"}) {
    size_t at;
    while ((at = s.find(key)) != std::string::npos) {
      auto b = braced(s, at + key.size() - 1);
      if (!b) break;
      s.replace(at, key.size() + b->size() + 1, *b);
    }
  }
  while (!s.empty() && s.back() == '.') s.pop_back();
  replace_all(s, " .", " 0.");
  replace_all(s, "{.", "{0.");
  if (starts_with(s, ".")) s = "0" + s;
  // "x = 5" / "k=5": keep the right side when the left is short.
  if (size_t eq = s.find('='); eq != std::string::npos && s.find('=', eq + 1) == std::string::npos) {
    if (trim(s.substr(0, eq)).size() <= 2) s = trim(s.substr(eq + 1));
  }
  s = fix_sqrt(s);
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  s = fix_fracs(s);
  if (s == "0.5") s = "\\frac{1}{2}";
  // a/b with integers -> \frac{a}{b}.
  if (size_t slash = s.find('/'); slash != std::string::npos && s.find('/', slash + 1) == std::string::npos) {
    std::string a = s.substr(0, slash), b = s.substr(slash + 1);
    if (is_int(a) && is_int(b) && b.front() != '-') s = "\\frac{" + a + "}{" + b + "}";
  }
  // Thousands separators: 1,000 / 12,345.6.
  {
    static const Regex thousands("^(-?[0-9]{1,3}(?:,[0-9]{3})+(?:\\.[0-9]+)?)$");
    auto m = find_all(thousands, s);
    if (!m.empty()) s.erase(std::remove(s.begin(), s.end(), ','), s.end());
  }
  // Trailing zeros of a decimal: 2.50 -> 2.5, 3.0 -> 3.
  {
    static const Regex decimal("^(-?[0-9]+\\.[0-9]+)$");
    auto m = find_all(decimal, s);
    if (!m.empty()) {
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
    }
  }
  return s;
}

bool math_answers_equivalent(std::string_view a, std::string_view b) {
  std::string na = normalize_math_answer(a), nb = normalize_math_answer(b);
  if (na == nb) return true;
  auto x = math_number(na), y = math_number(nb);
  return x && y && close(*x, *y);
}

}  // namespace tt::eval

// ---- lm-eval primitives with Python semantics (answer.h) ----


namespace tt::eval {
namespace {

// The text as Python would hold it: valid UTF-8, invalid subparts replaced by U+FFFD.
std::string_view as_valid(std::string_view text, std::string& storage) {
  if (utf8::is_valid(text)) return text;
  storage = utf8::to_valid_lossy(text);
  return storage;
}

// str.isspace() of one code point.
bool py_is_space(UChar32 c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Code points of valid UTF-8 with their byte ranges.
template <typename Visit>
void for_each_code_point(std::string_view s, Visit&& visit) {
  int32_t i = 0;
  const int32_t n = static_cast<int32_t>(s.size());
  while (i < n) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(s.data(), i, n, c);
    visit(c, static_cast<size_t>(start), static_cast<size_t>(i));
  }
}

}  // namespace

PyRegex::PyRegex(std::string_view pattern) : pattern_(pattern) {
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(context, PCRE2_NEWLINE_LF);
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.data()), pattern_.size(),
                                   PCRE2_UTF | PCRE2_UCP, &err, &err_off, context);
  pcre2_compile_context_free(context);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(err, message, sizeof message);
    fail("bad regular expression '{}' at offset {}: {}", pattern_, err_off, reinterpret_cast<char*>(message));
  }
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups_);
  code_ = code;
}

PyRegex::~PyRegex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

namespace {

// Every non-overlapping match of `code` in valid UTF-8 `text`, as Python 3.7+ (and Perl) find
// them: after an empty match the next one may not be empty at the same place.
template <typename Visit>
void for_each_match(const pcre2_code* code, std::string_view text, Visit&& visit) {
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
      pcre2_match_data_create_from_pattern(code, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  PCRE2_SIZE pos = 0;
  bool last_empty = false;
  while (pos <= text.size()) {
    const uint32_t options = last_empty ? (PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED) : 0;
    const int rc = pcre2_match(code, subject, text.size(), pos, options, md.get(), nullptr);
    if (rc < 0) {
      if (rc != PCRE2_ERROR_NOMATCH || !last_empty) return;  // no more matches (or a match limit)
      // Nothing non-empty here: step over one character.
      if (pos >= text.size()) return;
      ++pos;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
      last_empty = false;
      continue;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    visit(ov, rc);
    last_empty = ov[1] == ov[0];
    pos = ov[1];
  }
}

}  // namespace

std::vector<std::vector<std::string>> PyRegex::findall(std::string_view raw) const {
  std::string storage;
  const std::string_view text = as_valid(raw, storage);
  std::vector<std::vector<std::string>> out;
  for_each_match(static_cast<const pcre2_code*>(code_), text, [&](const PCRE2_SIZE* ov, int rc) {
    std::vector<std::string> m;
    if (groups_ == 0) {
      m.emplace_back(text.substr(ov[0], ov[1] - ov[0]));
    } else {
      for (uint32_t g = 1; g <= groups_; ++g) {
        if (static_cast<int>(g) < rc && ov[2 * g] != PCRE2_UNSET)
          m.emplace_back(text.substr(ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
        else
          m.emplace_back();
      }
    }
    out.push_back(std::move(m));
  });
  return out;
}

std::string PyRegex::sub(std::string_view raw, std::string_view replacement) const {
  std::string storage;
  const std::string_view text = as_valid(raw, storage);
  std::string out;
  size_t copied = 0;
  for_each_match(static_cast<const pcre2_code*>(code_), text, [&](const PCRE2_SIZE* ov, int) {
    out.append(text.substr(copied, ov[0] - copied));
    out.append(replacement);
    copied = ov[1];
  });
  out.append(text.substr(copied));
  return out;
}

std::string py_strip(std::string_view raw) {
  std::string storage;
  const std::string_view s = as_valid(raw, storage);
  size_t begin = s.size(), end = 0;
  for_each_code_point(s, [&](UChar32 c, size_t b, size_t e) {
    if (py_is_space(c)) return;
    begin = std::min(begin, b);
    end = e;
  });
  return begin < end ? std::string(s.substr(begin, end - begin)) : std::string();
}

std::vector<std::string> py_split(std::string_view raw) {
  std::string storage;
  const std::string_view s = as_valid(raw, storage);
  std::vector<std::string> words;
  size_t word_begin = std::string_view::npos;
  for_each_code_point(s, [&](UChar32 c, size_t b, size_t) {
    if (py_is_space(c)) {
      if (word_begin != std::string_view::npos) words.emplace_back(s.substr(word_begin, b - word_begin));
      word_begin = std::string_view::npos;
    } else if (word_begin == std::string_view::npos) {
      word_begin = b;
    }
  });
  if (word_begin != std::string_view::npos) words.emplace_back(s.substr(word_begin));
  return words;
}

std::string py_lower(std::string_view raw) {
  std::string storage;
  const std::string_view s = as_valid(raw, storage);
  if (std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  u.toLower(icu::Locale::getRoot());
  std::string out;
  u.toUTF8String(out);
  return out;
}

std::string py_remove_punctuation(std::string_view raw) {
  std::string storage;
  const std::string_view s = as_valid(raw, storage);
  std::string out;
  for_each_code_point(s, [&](UChar32 c, size_t b, size_t e) {
    if (!u_ispunct(c)) out.append(s.substr(b, e - b));
  });
  return out;
}

std::string py_regex_escape(std::string_view s) {
  static const std::string_view special = "()[]{}?*+-|^$\\.&~# \t\n\r\v\f";
  std::string out;
  for (char c : s) {
    if (special.find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::optional<std::string> lm_regex_filter(const PyRegex& regex, std::string_view text, int group_select) {
  const auto matches = regex.findall(text);
  if (matches.empty()) return std::nullopt;
  const int64_t n = static_cast<int64_t>(matches.size());
  const int64_t index = group_select < 0 ? n + group_select : group_select;
  if (index < 0 || index >= n) return std::nullopt;  // Python would raise IndexError
  const auto& match = matches[static_cast<size_t>(index)];
  if (match.size() == 1) return py_strip(match[0]);
  for (const auto& group : match)  // a tuple: its first non-empty group
    if (!group.empty()) return py_strip(group);
  return std::nullopt;  // every group empty: Python would raise IndexError
}

ExactMatch::ExactMatch(const std::vector<std::string>& regexes_to_ignore, bool ignore_case, bool ignore_punctuation)
    : ignore_case_(ignore_case), ignore_punctuation_(ignore_punctuation) {
  for (const auto& pattern : regexes_to_ignore) ignore_.push_back(std::make_unique<PyRegex>(pattern));
}

std::string ExactMatch::normalize(std::string_view raw) const {
  std::string storage;
  std::string s(as_valid(raw, storage));
  for (const auto& regex : ignore_) s = regex->sub(s);
  if (ignore_case_) s = py_lower(s);
  if (ignore_punctuation_) {
    static const std::string_view ascii_punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    std::erase_if(s, [](char c) { return ascii_punctuation.find(c) != std::string_view::npos; });
  }
  return s;
}

bool ExactMatch::operator()(std::string_view prediction, std::string_view reference) const {
  return normalize(prediction) == normalize(reference);
}

}  // namespace tt::eval
