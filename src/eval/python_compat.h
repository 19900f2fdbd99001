// Python behaviour that lm-eval's tasks and the IFEval checker rely on, over UTF-8 text: str methods,
// the `re` module (on PCRE2), len(), and random.Random's few-shot sampling. One home for what the
// evaluation code needs to agree with CPython 3 bit for bit.
//
// Text that is not valid UTF-8 is read as Python's bytes.decode(errors="replace") would read it
// (U+FFFD per invalid subpart) wherever a function returns new text, so none of these throw on
// arbitrary bytes. Functions that return views or byte offsets into their argument say what they do
// with such bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tt::eval::py {

// ---- str ----

// The code point at s[i], advancing i past it; a byte that does not start a valid sequence reads as
// U+FFFD and advances by one.
uint32_t next_code_point(std::string_view s, size_t& i);
// len(): code points (bytes that do not continue a sequence).
int64_t len(std::string_view s);
// str.isspace() of one character: Unicode White_Space plus U+001C..U+001F.
bool isspace(uint32_t cp);
// str.strip() / lstrip() / rstrip(): a view of `s`; an invalid byte is not whitespace.
std::string_view strip(std::string_view s);
std::string_view lstrip(std::string_view s);
std::string_view rstrip(std::string_view s);
// str.strip(chars) for ASCII `chars`.
std::string_view strip_chars(std::string_view s, std::string_view chars);
// str.split() with no argument: views of `s` between runs of whitespace.
std::vector<std::string_view> split(std::string_view s);
// str.lower(): the full Unicode case mapping (ICU's root locale: final sigma, U+0130 -> "i\u0307").
std::string lower(std::string_view s);
// str.isupper() / str.islower(): some cased character, none of the other case (nor title case).
bool isupper(std::string_view s);
bool islower(std::string_view s);
// s.translate(...) dropping every character of a Unicode punctuation category (P*).
std::string remove_punctuation(std::string_view s);

// ---- re ----

// re.escape.
std::string regex_escape(std::string_view s);

// A compiled pattern with Python `re` semantics for str patterns: PCRE2 in UTF + UCP mode (\w, \d,
// \s, \b over Unicode), '\n' as the only newline ('.' excludes it; '$' matches at the end or before
// a final "\n"), in multiline mode '^' also after a final newline, and empty matches found as
// Python 3.7+ finds them. Matching is thread-safe. A pattern that does not compile is a tt::Error
// naming it (and `what`, when given).
class Regex {
 public:
  enum Flags : uint32_t { kIgnoreCase = 1, kMultiline = 2 };
  struct Match {
    size_t begin = 0, end = 0;
    std::vector<std::pair<size_t, size_t>> groups;  // [0] the match, [1..] groups; {npos, npos} if unset
  };

  explicit Regex(std::string_view pattern, uint32_t flags = 0, std::string_view what = {});
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  const std::string& pattern() const { return pattern_; }
  int group_count() const { return groups_; }

  // re.finditer over valid UTF-8 (byte offsets into `text`; text that is not valid UTF-8 has no
  // matches). `fn` returns false to stop.
  void for_each(std::string_view text, const std::function<bool(const Match&)>& fn) const;
  // re.match: anchored at the start of valid UTF-8 `text`; the end of the match, or nullopt.
  std::optional<size_t> match_prefix(std::string_view text) const;

  // These read invalid UTF-8 as U+FFFD.
  bool search(std::string_view text) const;   // re.search(...) is not None
  size_t count(std::string_view text) const;  // len(re.findall(...))
  // re.findall: one entry per match holding its groups 1..n ("" for a group that did not take
  // part), or the whole match when the pattern has no groups.
  std::vector<std::vector<std::string>> findall(std::string_view text) const;
  std::vector<std::string> split(std::string_view text) const;  // re.split (groups kept)
  // re.sub with a template: \1 .. \9 and \g<N> name groups (an unset one gives ""), "\\" is '\'.
  std::string sub(std::string_view text, std::string_view replacement = {}) const;

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
  int groups_ = 0;
};

// ---- random ----

// random.Random(seed) (MT19937 seeded by init_by_array) as far as lm-eval's default few-shot
// sampler (sample(range(n), k), drawn with _randbelow on getrandbits) and langdetect (choice =
// _randbelow, gauss) use it. The same seed gives the same draws, in the same order, as CPython 3.11.
class Random {
 public:
  explicit Random(uint64_t seed);
  uint32_t getrandbits32();                           // getrandbits(32)
  uint64_t randbelow(uint64_t n);                     // _randbelow(n), n in [1, 2^32)
  std::vector<int64_t> sample(int64_t n, int64_t k);  // sample(range(n), k); k > n is an error
  double random();                                    // random(): [0, 1), 53 bits
  double gauss(double mu, double sigma);              // gauss(), with its cached second value

 private:
  static constexpr int kN = 624;
  uint32_t state_[kN];
  int index_ = kN;
  std::optional<double> gauss_next_;
};

}  // namespace tt::eval::py
