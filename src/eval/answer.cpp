#include "eval/answer.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <memory>
#include <vector>

#include "core/error.h"
#include "text/utf8.h"

namespace tt::eval {
namespace {

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
  static const py::Regex number("(-?[0-9][0-9,]*(?:\\.[0-9]+)?)");
  auto nums = number.findall(text);
  if (nums.empty()) return std::nullopt;
  std::string n = nums.back()[0];
  while (!n.empty() && n.back() == ',') n.pop_back();
  return n;
}

std::optional<std::string> extract_gsm8k_strict(std::string_view text) {
  static const py::Regex strict("#### (\\-?[0-9\\.\\,]+)");
  return lm_regex_filter(strict, text, 0);
}

std::optional<std::string> extract_gsm8k_flexible(std::string_view text) {
  static const py::Regex flexible("(-?[$0-9.,]{2,})|(-?[0-9]+)");
  return lm_regex_filter(flexible, text, -1);
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
    static const py::Regex thousands("^(-?[0-9]{1,3}(?:,[0-9]{3})+(?:\\.[0-9]+)?)$");
    if (thousands.search(s)) s.erase(std::remove(s.begin(), s.end(), ','), s.end());
  }
  // Trailing zeros of a decimal: 2.50 -> 2.5, 3.0 -> 3.
  {
    static const py::Regex decimal("^(-?[0-9]+\\.[0-9]+)$");
    if (decimal.search(s)) {
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

std::optional<std::string> lm_regex_filter(const py::Regex& regex, std::string_view text, int group_select) {
  const auto matches = regex.findall(text);
  if (matches.empty()) return std::nullopt;
  const int64_t n = static_cast<int64_t>(matches.size());
  const int64_t index = group_select < 0 ? n + group_select : group_select;
  if (index < 0 || index >= n) return std::nullopt;  // Python would raise IndexError
  const auto& match = matches[static_cast<size_t>(index)];
  if (match.size() == 1) return std::string(py::strip(match[0]));
  for (const auto& group : match)  // a tuple: its first non-empty group
    if (!group.empty()) return std::string(py::strip(group));
  return std::nullopt;  // every group empty: Python would raise IndexError
}

ExactMatch::ExactMatch(const std::vector<std::string>& regexes_to_ignore, bool ignore_case, bool ignore_punctuation)
    : ignore_case_(ignore_case), ignore_punctuation_(ignore_punctuation) {
  for (const auto& pattern : regexes_to_ignore) ignore_.push_back(std::make_unique<py::Regex>(pattern));
}

std::string ExactMatch::normalize(std::string_view raw) const {
  std::string s = utf8::to_valid_lossy(raw);  // as Python would hold it
  for (const auto& regex : ignore_) s = regex->sub(s);
  if (ignore_case_) s = py::lower(s);
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
