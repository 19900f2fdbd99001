// Python str / re / random behaviour over UTF-8 (python_compat.h).
#include "eval/python_compat.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <memory>
#include <unordered_set>

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include "core/error.h"
#include "text/utf8.h"

namespace tt::eval::py {
namespace {

// The text as Python would hold it: valid UTF-8, invalid subparts replaced by U+FFFD.
std::string_view as_valid(std::string_view text, std::string& storage) {
  if (utf8::is_valid(text)) return text;
  storage = utf8::to_valid_lossy(text);
  return storage;
}

// Start of the code point that ends at byte `end` (exclusive).
size_t prev_code_point_start(std::string_view s, size_t end) {
  size_t i = end - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

bool cp_is_upper(uint32_t c) { return u_hasBinaryProperty(c, UCHAR_UPPERCASE); }
bool cp_is_lower(uint32_t c) { return u_hasBinaryProperty(c, UCHAR_LOWERCASE); }
bool cp_is_title(uint32_t c) { return u_charType(c) == U_TITLECASE_LETTER; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// str

uint32_t next_code_point(std::string_view s, size_t& i) {
  UChar32 c;
  int32_t pos = static_cast<int32_t>(i);
  U8_NEXT(reinterpret_cast<const uint8_t*>(s.data()), pos, static_cast<int32_t>(s.size()), c);
  i = static_cast<size_t>(pos);
  return c < 0 ? 0xFFFD : static_cast<uint32_t>(c);
}

int64_t len(std::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// Python's whitespace (bidi classes WS, B, S or category Zs): Unicode White_Space plus U+001C..U+001F.
bool isspace(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

std::string_view lstrip(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    if (!isspace(next_code_point(s, j))) break;
    i = j;
  }
  return s.substr(i);
}

std::string_view rstrip(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = prev_code_point_start(s, end), j = start;
    if (!isspace(next_code_point(s, j)) || j != end) break;
    end = start;
  }
  return s.substr(0, end);
}

std::string_view strip(std::string_view s) { return rstrip(lstrip(s)); }

std::string_view strip_chars(std::string_view s, std::string_view chars) {
  size_t b = 0, e = s.size();
  while (b < e && chars.find(s[b]) != std::string_view::npos) ++b;
  while (e > b && chars.find(s[e - 1]) != std::string_view::npos) --e;
  return s.substr(b, e - b);
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0, word = std::string_view::npos;
  while (i < s.size()) {
    const size_t at = i;
    const bool space = isspace(next_code_point(s, i));
    if (space && word != std::string_view::npos) {
      out.push_back(s.substr(word, at - word));
      word = std::string_view::npos;
    } else if (!space && word == std::string_view::npos) {
      word = at;
    }
  }
  if (word != std::string_view::npos) out.push_back(s.substr(word));
  return out;
}

std::string lower(std::string_view raw) {
  std::string storage;
  const std::string_view s = as_valid(raw, storage);
  if (std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }
  std::string out;
  icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())))
      .toLower(icu::Locale::getRoot())
      .toUTF8String(out);
  return out;
}

namespace {

// str.isupper() (upper = true) / str.islower(): some character of that case, none of the other case
// and no title-case letter.
bool cased_as(std::string_view s, bool upper) {
  bool cased = false;
  for (size_t i = 0; i < s.size();) {
    const uint32_t c = next_code_point(s, i);
    if ((upper ? cp_is_lower(c) : cp_is_upper(c)) || cp_is_title(c)) return false;
    cased = cased || (upper ? cp_is_upper(c) : cp_is_lower(c));
  }
  return cased;
}

}  // namespace

bool isupper(std::string_view s) { return cased_as(s, true); }
bool islower(std::string_view s) { return cased_as(s, false); }

std::string remove_punctuation(std::string_view raw) {
  std::string storage;
  const std::string_view s = as_valid(raw, storage);
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    if (!u_ispunct(static_cast<UChar32>(next_code_point(s, i)))) out.append(s.substr(start, i - start));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// re

std::string regex_escape(std::string_view s) {
  static const std::string_view special = "()[]{}?*+-|^$\\.&~# \t\n\r\v\f";
  std::string out;
  for (char c : s) {
    if (special.find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

Regex::Regex(std::string_view pattern, uint32_t flags, std::string_view what) : pattern_(pattern) {
  uint32_t options = PCRE2_UTF | PCRE2_UCP;
  if (flags & kIgnoreCase) options |= PCRE2_CASELESS;
  // Python's multiline '^' also matches after a newline that ends the text.
  if (flags & kMultiline) options |= PCRE2_MULTILINE | PCRE2_ALT_CIRCUMFLEX;
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(context, PCRE2_NEWLINE_LF);  // Python: only '\n' ends a line
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.data()), pattern_.size(), options,
                                   &error, &offset, context);
  pcre2_compile_context_free(context);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    fail("{}{}bad regular expression '{}' at offset {}: {}", what, what.empty() ? "" : ": ", pattern_, offset,
         reinterpret_cast<const char*>(message));
  }
  uint32_t captures = 0;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &captures);
  groups_ = static_cast<int>(captures);
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::for_each(std::string_view text, const std::function<bool(const Match&)>& fn) const {
  auto* code = static_cast<pcre2_code*>(code_);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(code, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  bool after_empty = false;
  Match match;
  while (pos <= text.size()) {
    // After an empty match, the next one may not be empty at the same place (Python 3.7+); it may
    // be empty one character further on.
    const uint32_t options = after_empty ? PCRE2_NOTEMPTY_ATSTART : 0;
    const int rc = pcre2_match(code, subject, text.size(), pos, options, data.get(), nullptr);
    if (rc < 0) return;  // no match, or invalid UTF-8
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.get());
    match.begin = ov[0];
    match.end = ov[1];
    match.groups.assign(groups_ + 1, {std::string::npos, std::string::npos});
    for (int g = 0; g <= groups_ && g < rc; ++g)
      if (ov[2 * g] != PCRE2_UNSET) match.groups[g] = {ov[2 * g], ov[2 * g + 1]};
    if (!fn(match)) return;
    after_empty = match.begin == match.end;
    pos = match.end;
  }
}

std::optional<size_t> Regex::match_prefix(std::string_view text) const {
  auto* code = static_cast<pcre2_code*>(code_);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(code, nullptr), &pcre2_match_data_free);
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, PCRE2_ANCHORED,
                             data.get(), nullptr);
  if (rc < 0) return std::nullopt;
  return pcre2_get_ovector_pointer(data.get())[1];
}

bool Regex::search(std::string_view raw) const {
  std::string storage;
  bool found = false;
  for_each(as_valid(raw, storage), [&](const Match&) { return !(found = true); });
  return found;
}

size_t Regex::count(std::string_view raw) const {
  std::string storage;
  size_t n = 0;
  for_each(as_valid(raw, storage), [&](const Match&) { return ++n, true; });
  return n;
}

std::vector<std::vector<std::string>> Regex::findall(std::string_view raw) const {
  std::string storage;
  const std::string_view text = as_valid(raw, storage);
  std::vector<std::vector<std::string>> out;
  for_each(text, [&](const Match& m) {
    std::vector<std::string>& groups = out.emplace_back();
    for (int g = groups_ == 0 ? 0 : 1; g <= groups_; ++g) {
      const auto [b, e] = m.groups[g];
      groups.emplace_back(b == std::string::npos ? std::string_view() : text.substr(b, e - b));
    }
    return true;
  });
  return out;
}

std::vector<std::string> Regex::split(std::string_view raw) const {
  std::string storage;
  const std::string_view text = as_valid(raw, storage);
  std::vector<std::string> out;
  size_t last = 0;
  for_each(text, [&](const Match& m) {
    out.emplace_back(text.substr(last, m.begin - last));
    for (int g = 1; g <= groups_; ++g) {
      const auto [b, e] = m.groups[g];
      out.emplace_back(b == std::string::npos ? std::string_view() : text.substr(b, e - b));
    }
    last = m.end;
    return true;
  });
  out.emplace_back(text.substr(last));
  return out;
}

std::string Regex::sub(std::string_view raw, std::string_view replacement) const {
  std::string storage;
  const std::string_view text = as_valid(raw, storage);
  std::string out;
  size_t last = 0;
  for_each(text, [&](const Match& m) {
    out.append(text.substr(last, m.begin - last));
    for (size_t i = 0; i < replacement.size(); ++i) {
      const char c = replacement[i];
      if (c != '\\' || i + 1 == replacement.size()) {
        out += c;
        continue;
      }
      int group = -1;
      const char next = replacement[i + 1];
      if (next >= '0' && next <= '9') {
        group = next - '0';
        i += 1;
      } else if (next == 'g' && i + 2 < replacement.size() && replacement[i + 2] == '<') {
        const size_t close = replacement.find('>', i + 3);
        TT_CHECK(close != std::string_view::npos, "bad \\g<> in a replacement");
        group = std::stoi(std::string(replacement.substr(i + 3, close - i - 3)));
        i = close;
      } else {
        out += next;  // "\\\\" -> "\\"
        i += 1;
        continue;
      }
      TT_CHECK(group >= 0 && group <= groups_, "replacement names a missing group");
      const auto [b, e] = m.groups[group];
      if (b != std::string::npos) out.append(text.substr(b, e - b));  // unset group -> ""
    }
    last = m.end;
    return true;
  });
  out.append(text.substr(last));
  return out;
}

// ---------------------------------------------------------------------------------------------
// random

// CPython's random_seed for a non-negative int: the key is its 32-bit words, least significant
// first (one word for 0), fed to MT19937's init_by_array.
Random::Random(uint64_t seed) {
  std::vector<uint32_t> key = {static_cast<uint32_t>(seed)};
  if (seed >> 32) key.push_back(static_cast<uint32_t>(seed >> 32));

  state_[0] = 19650218u;  // init_genrand(19650218)
  for (int i = 1; i < kN; ++i)
    state_[i] = 1812433253u * (state_[i - 1] ^ (state_[i - 1] >> 30)) + static_cast<uint32_t>(i);
  int i = 1;
  size_t j = 0;
  for (int k = std::max<int>(kN, static_cast<int>(key.size())); k > 0; --k) {
    state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1664525u)) + key[j] +
                static_cast<uint32_t>(j);
    ++i;
    ++j;
    if (i >= kN) {
      state_[0] = state_[kN - 1];
      i = 1;
    }
    if (j >= key.size()) j = 0;
  }
  for (int k = kN - 1; k > 0; --k) {
    state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1566083941u)) - static_cast<uint32_t>(i);
    ++i;
    if (i >= kN) {
      state_[0] = state_[kN - 1];
      i = 1;
    }
  }
  state_[0] = 0x80000000u;
  index_ = kN;
}

uint32_t Random::getrandbits32() {
  constexpr int kM = 397;
  constexpr uint32_t kMatrixA = 0x9908b0dfu, kUpper = 0x80000000u, kLower = 0x7fffffffu;
  if (index_ >= kN) {
    for (int k = 0; k < kN; ++k) {
      const uint32_t y = (state_[k] & kUpper) | (state_[(k + 1) % kN] & kLower);
      state_[k] = state_[(k + kM) % kN] ^ (y >> 1) ^ ((y & 1u) ? kMatrixA : 0u);
    }
    index_ = 0;
  }
  uint32_t y = state_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

// random(): 27 + 26 bits of two outputs, as a double in [0, 1).
double Random::random() {
  const uint32_t a = getrandbits32() >> 5, b = getrandbits32() >> 6;
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

// gauss(): Box-Muller on two random() draws; the second value is kept for the next call.
double Random::gauss(double mu, double sigma) {
  double z;
  if (gauss_next_) {
    z = *gauss_next_;
    gauss_next_.reset();
  } else {
    const double x2pi = random() * (2.0 * M_PI);
    const double g2rad = std::sqrt(-2.0 * std::log(1.0 - random()));
    z = std::cos(x2pi) * g2rad;
    gauss_next_ = std::sin(x2pi) * g2rad;
  }
  return mu + z * sigma;
}

// _randbelow_with_getrandbits: k = n.bit_length(); draw getrandbits(k) until below n.
// getrandbits(k) for k <= 32 is the top k bits of one 32-bit output.
uint64_t Random::randbelow(uint64_t n) {
  TT_CHECK(n >= 1 && n <= 0xffffffffu, "randbelow range");
  const int bits = std::bit_width(n);
  auto draw = [&] { return uint64_t{getrandbits32() >> (32 - bits)}; };
  uint64_t r = draw();
  while (r >= n) r = draw();
  return r;
}

// random.sample(range(n), k): a partial Fisher-Yates on a pool for small n, otherwise rejection
// of repeated indices (CPython chooses by the size of the set it would need).
std::vector<int64_t> Random::sample(int64_t n, int64_t k) {
  if (k < 0 || k > n) fail("sample of {} from a population of {}", k, n);
  std::vector<int64_t> result(static_cast<size_t>(k));
  int64_t setsize = 21;
  if (k > 5) setsize += static_cast<int64_t>(std::pow(4.0, std::ceil(std::log(static_cast<double>(k * 3)) / std::log(4.0))));
  if (n <= setsize) {
    std::vector<int64_t> pool(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) pool[i] = i;
    for (int64_t i = 0; i < k; ++i) {
      const auto j = static_cast<int64_t>(randbelow(static_cast<uint64_t>(n - i)));
      result[i] = pool[j];
      pool[j] = pool[n - i - 1];
    }
  } else {
    std::unordered_set<int64_t> selected;
    for (int64_t i = 0; i < k; ++i) {
      auto j = static_cast<int64_t>(randbelow(static_cast<uint64_t>(n)));
      while (selected.count(j)) j = static_cast<int64_t>(randbelow(static_cast<uint64_t>(n)));
      selected.insert(j);
      result[i] = j;
    }
  }
  return result;
}

}  // namespace tt::eval::py
