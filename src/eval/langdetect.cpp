// langdetect 1.0.9 (detector.py, detector_factory.py, utils/ngram.py, utils/messages.py,
// utils/unicode_block.py) in C++; see langdetect.h. Compiled with -ffp-contract=off (CMakeLists):
// a fused multiply-add would round differently from Python's float arithmetic.
#include "eval/langdetect.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unicode/uchar.h>

#include "core/error.h"
#include "eval/python_compat.h"
#include "io/file.h"

namespace tt::eval {
namespace {

// ---------------------------------------------------------------------------------------------
// Text helpers

// The text as Python's str holds it: code points, invalid UTF-8 as U+FFFD.
std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) out.push_back(static_cast<char32_t>(py::next_code_point(s, i)));
  return out;
}

bool contains(const std::u32string& set, char32_t ch) { return set.find(ch) != std::u32string::npos; }

// Python's str.isupper() on one character: the Unicode Uppercase property (Lu + Other_Uppercase).
bool is_upper(char32_t ch) { return u_isUUppercase(static_cast<UChar32>(ch)); }

// The unicode_block values NGram.normalize and cleaning_text look at; every other block is Other.
enum class Block {
  kBasicLatin, kLatin1Supplement, kLatinExtendedB, kArabic, kLatinExtendedAdditional,
  kGeneralPunctuation, kHiragana, kKatakana, kBopomofo, kCjkUnifiedIdeographs, kHangulSyllables,
  kOther
};

Block unicode_block(char32_t ch) {
  struct Range { char32_t first, last; Block block; };
  static constexpr Range kRanges[] = {
      {0x0000, 0x007F, Block::kBasicLatin},        {0x0080, 0x00FF, Block::kLatin1Supplement},
      {0x0180, 0x024F, Block::kLatinExtendedB},    {0x0600, 0x06FF, Block::kArabic},
      {0x1E00, 0x1EFF, Block::kLatinExtendedAdditional},
      {0x2000, 0x206F, Block::kGeneralPunctuation}, {0x3040, 0x309F, Block::kHiragana},
      {0x30A0, 0x30FF, Block::kKatakana},           {0x3100, 0x312F, Block::kBopomofo},
      {0x31A0, 0x31BF, Block::kBopomofo},  // Bopomofo Extended, folded the same way
      {0x4E00, 0x9FFF, Block::kCjkUnifiedIdeographs}, {0xAC00, 0xD7AF, Block::kHangulSyllables},
  };
  for (const Range& r : kRanges)
    if (ch >= r.first && ch <= r.last) return r.block;
  return Block::kOther;
}

// Detector.URL_RE = https?://[-_.?&~;+=/#0-9A-Za-z]{1,2076}
bool url_char(char32_t c) {
  return (c >= U'0' && c <= U'9') || (c >= U'A' && c <= U'Z') || (c >= U'a' && c <= U'z') ||
         c == U'-' || c == U'_' || c == U'.' || c == U'?' || c == U'&' || c == U'~' || c == U';' ||
         c == U'+' || c == U'=' || c == U'/' || c == U'#';
}
bool mail_word_char(char32_t c) {  // [-_0-9A-Za-z]
  return (c >= U'0' && c <= U'9') || (c >= U'A' && c <= U'Z') || (c >= U'a' && c <= U'z') ||
         c == U'-' || c == U'_';
}
bool mail_dot_char(char32_t c) { return mail_word_char(c) || c == U'.'; }  // [-_.0-9A-Za-z]

size_t run_length(const std::u32string& t, size_t from, size_t cap, bool (*in_class)(char32_t)) {
  size_t n = 0;
  while (from + n < t.size() && n < cap && in_class(t[from + n])) ++n;
  return n;
}

// End of a URL_RE match starting at i, or 0 if none starts there.
size_t url_match_end(const std::u32string& t, size_t i) {
  static const std::u32string kHttp = U"http";
  if (t.compare(i, 4, kHttp) != 0) return 0;
  size_t j = i + 4;
  if (j < t.size() && t[j] == U's') ++j;
  if (t.compare(j, 3, U"://") != 0) return 0;
  j += 3;
  const size_t n = run_length(t, j, 2076, url_char);
  return n == 0 ? 0 : j + n;
}

// End of a MAIL_RE match ([-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}) starting
// at i, or 0. The local part cannot contain '@', so it must be the whole run up to the '@'; after
// it the greedy first class backs off by one character when the second would otherwise be empty.
size_t mail_match_end(const std::u32string& t, size_t i) {
  const size_t local = run_length(t, i, 64, mail_dot_char);
  if (local == 0 || i + local >= t.size() || t[i + local] != U'@') return 0;
  const size_t host = i + local + 1;
  const size_t first = run_length(t, host, 255, mail_word_char);
  if (first == 0) return 0;
  const size_t second = run_length(t, host + first, 255, mail_dot_char);
  if (second > 0) return host + first + second;
  return first >= 2 ? host + first : 0;
}

// re.sub(pattern, ' ', text) for a pattern given by its match-end function.
std::u32string replace_matches(const std::u32string& t, size_t (*match_end)(const std::u32string&, size_t)) {
  std::u32string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size();) {
    if (const size_t end = match_end(t, i); end > i) {
      out.push_back(U' ');
      i = end;
    } else {
      out.push_back(t[i++]);
    }
  }
  return out;
}

// messages.properties: key=value lines, values decoded as Python's 'unicode_escape' does for the
// \uXXXX escapes the file uses.
std::u32string decode_property_value(std::string_view v, const std::string& path, const std::string& key) {
  std::u32string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\\') {
      out.push_back(static_cast<unsigned char>(v[i]));
      continue;
    }
    uint32_t code = 0;
    const auto hex_digits = [&] {  // \uXXXX: exactly four hex digits
      const char* hex = v.data() + i + 2;
      return std::from_chars(hex, hex + 4, code, 16).ptr == hex + 4;
    };
    if (i + 5 < v.size() && v[i + 1] == 'u' && hex_digits()) {
      out.push_back(static_cast<char32_t>(code));
      i += 5;
      continue;
    }
    fail("{}: key {}: unsupported escape in value", path, key);
  }
  return out;
}

// NGram: the rolling buffer of the last three normalised characters.
struct NGramBuffer {
  std::u32string grams = U" ";
  bool capital_word = false;

  void add_char(char32_t ch) {
    const char32_t last = grams.back();
    if (last == U' ') {
      grams = U" ";
      capital_word = false;
      if (ch == U' ') return;
    } else if (grams.size() >= 3) {
      grams.erase(0, 1);
    }
    grams.push_back(ch);
    if (!is_upper(ch)) capital_word = false;
    else if (is_upper(last)) capital_word = true;
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Loading (DetectorFactory.load_profile, Messages)

namespace {

// The profile files of a langdetect package in os.listdir order (readdir), as langdetect numbers
// its languages: every regular file not starting with '.'.
std::vector<std::string> profile_files(const std::string& profiles) {
  std::error_code error;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(profiles, error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_regular_file()) continue;
    files.push_back(entry.path().string());
  }
  if (error || files.empty())
    fail("{}: no langdetect profiles (install Debian's python3-langdetect, or set TINYTHINK_LANGDETECT to a "
         "langdetect package directory)", profiles);
  return files;
}

}  // namespace

LangDetector::LangDetector(const std::string& package_dir, const std::vector<std::string>& profile_order) {
  const std::string profiles = package_dir + "/profiles";
  std::vector<std::string> files = profile_files(profiles);
  load_messages(package_dir + "/utils/messages.properties");
  if (!profile_order.empty()) {
    if (profile_order.size() != files.size())
      fail("{}: {} profiles, but the order given names {}", profiles, files.size(), profile_order.size());
    files.clear();
    for (const std::string& name : profile_order) files.push_back(profiles + "/" + name);
  }
  for (size_t i = 0; i < files.size(); ++i) load_profile(files[i], i, files.size());
}

void LangDetector::load_messages(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    fail("{}: cannot open (install Debian's python3-langdetect, or set TINYTHINK_LANGDETECT to a langdetect "
         "package directory)", path);
  std::unordered_map<std::string, std::u32string> values;
  std::vector<std::u32string> kanji_classes;
  std::string line;
  while (std::getline(in, line)) {
    const size_t first = line.find_first_not_of(" \t\r\n");
    const size_t last = line.find_last_not_of(" \t\r\n");
    if (first == std::string::npos) continue;
    line = line.substr(first, last - first + 1);
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    std::u32string value = decode_property_value(std::string_view(line).substr(eq + 1), path, key);
    if (key.rfind("NGram.KANJI_", 0) == 0) kanji_classes.push_back(value);
    values[key] = std::move(value);
  }
  auto get = [&](const std::string& key) {
    const auto it = values.find(key);
    if (it == values.end()) fail("{}: missing key {}", path, key);
    return it->second;
  };
  latin1_excluded_ = get("NGram.LATIN1_EXCLUDE");
  to_normalize_vi_ = get("TO_NORMALIZE_VI_CHARS");
  dmark_class_ = get("DMARK_CLASS");
  for (const char* mark : {"0300", "0301", "0303", "0309", "0323"})
    normalized_vi_.push_back(get(std::string("NORMALIZED_VI_CHARS_") + mark));
  // NGram.CJK_CLASS lists the KANJI keys in the file's order; each character maps to the first
  // character of its class.
  for (const std::u32string& cls : kanji_classes)
    for (char32_t ch : cls) cjk_map_[ch] = cls[0];
}

void LangDetector::load_profile(const std::string& path, size_t index, size_t language_count) {
  const nlohmann::json profile = read_json_file(path);
  try {
    const std::string name = profile.at("name").get<std::string>();
    if (std::find(languages_.begin(), languages_.end(), name) != languages_.end())
      fail("{}: duplicate language {}", path, name);
    languages_.push_back(name);
    const auto n_words = profile.at("n_words").get<std::vector<int64_t>>();
    if (n_words.size() < 3) fail("{}: n_words has fewer than 3 counts", path);
    for (const auto& [word, count] : profile.at("freq").items()) {
      const std::u32string w = decode_utf8(word);
      if (w.empty() || w.size() > 3) continue;  // never looked up: n-grams have 1 to 3 characters
      const double prob = 1.0 * count.get<int64_t>() / static_cast<double>(n_words[w.size() - 1]);
      std::vector<double>& probs = words_[w];
      if (probs.empty()) probs.assign(language_count, 0.0);
      probs[index] = prob;
    }
  } catch (const nlohmann::json::exception& e) {
    fail("{}: langdetect profile format error: {}", path, e.what());
  }
}

std::string LangDetector::installed_dir() {
  if (const char* env = std::getenv("TINYTHINK_LANGDETECT"); env && *env) return env;
  return "/usr/lib/python3/dist-packages/langdetect";
}

const LangDetector& LangDetector::installed() {
  static std::once_flag once;
  static std::unique_ptr<LangDetector> detector;
  std::call_once(once, [] { detector = std::make_unique<LangDetector>(installed_dir()); });
  return *detector;
}

// ---------------------------------------------------------------------------------------------
// Normalisation (NGram.normalize, NGram.normalize_vi, Detector.append, Detector.cleaning_text)

char32_t LangDetector::normalize(char32_t ch) const {
  switch (unicode_block(ch)) {
    case Block::kBasicLatin:
      return (ch < U'A' || (ch > U'Z' && ch < U'a') || ch > U'z') ? U' ' : ch;
    case Block::kLatin1Supplement:
      return contains(latin1_excluded_, ch) ? U' ' : ch;
    case Block::kLatinExtendedB:  // Romanian: comma below -> cedilla
      return ch == 0x0219 ? 0x015f : ch == 0x021b ? 0x0163 : ch;
    case Block::kGeneralPunctuation:
      return U' ';
    case Block::kArabic:
      return ch == 0x06cc ? 0x064a : ch;  // Farsi yeh -> Arabic yeh
    case Block::kLatinExtendedAdditional:
      return ch >= 0x1ea0 ? 0x1ec3 : ch;
    case Block::kHiragana:
      return 0x3042;
    case Block::kKatakana:
      return 0x30a2;
    case Block::kBopomofo:
      return 0x3105;
    case Block::kCjkUnifiedIdeographs: {
      const auto it = cjk_map_.find(ch);
      return it == cjk_map_.end() ? ch : it->second;
    }
    case Block::kHangulSyllables:
      return 0xac00;
    case Block::kOther:
      return ch;
  }
  return ch;
}

std::u32string LangDetector::normalize_vi(const std::u32string& text) const {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const size_t alphabet = to_normalize_vi_.find(text[i]);
    if (alphabet != std::u32string::npos && i + 1 < text.size()) {
      const size_t mark = dmark_class_.find(text[i + 1]);
      if (mark != std::u32string::npos && mark < normalized_vi_.size() &&
          alphabet < normalized_vi_[mark].size()) {
        out.push_back(normalized_vi_[mark][alphabet]);
        ++i;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::u32string LangDetector::prepared_text(std::string_view utf8_text) const {
  constexpr size_t kMaxTextLength = 10000;
  std::u32string text = decode_utf8(utf8_text);
  text = replace_matches(text, url_match_end);
  text = replace_matches(text, mail_match_end);
  text = normalize_vi(text);
  // append: at most 10000 characters, runs of spaces collapsed.
  std::u32string appended;
  char32_t previous = 0;
  for (size_t i = 0; i < std::min(text.size(), kMaxTextLength); ++i) {
    if (text[i] != U' ' || previous != U' ') appended.push_back(text[i]);
    previous = text[i];
  }
  // cleaning_text: drop a-z/A-Z (and [\]^_`) when most of the text is non-Latin. langdetect
  // compares unicode_block(ch) (a number) with the string 'Latin Extended Additional', which never
  // matches, so every character from U+0300 counts as non-Latin.
  size_t latin = 0, non_latin = 0;
  for (char32_t ch : appended) {
    if (ch >= U'A' && ch <= U'z') ++latin;
    else if (ch >= 0x0300) ++non_latin;
  }
  if (latin * 2 < non_latin) {
    std::u32string without_latin;
    for (char32_t ch : appended)
      if (ch < U'A' || ch > U'z') without_latin.push_back(ch);
    appended = std::move(without_latin);
  }
  return appended;
}

std::vector<std::u32string> LangDetector::ngrams(const std::u32string& prepared) const {
  std::vector<std::u32string> result;
  NGramBuffer buffer;
  for (char32_t ch : prepared) {
    buffer.add_char(normalize(ch));
    if (buffer.capital_word) continue;
    for (size_t n = 1; n <= 3; ++n) {
      if (buffer.grams.size() < n) break;
      std::u32string w = buffer.grams.substr(buffer.grams.size() - n);
      if (w != U" " && words_.count(w)) result.push_back(std::move(w));
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Detection (Detector._detect_block)

std::vector<double> LangDetector::detect_block(const std::vector<std::u32string>& ngrams,
                                               uint32_t seed) const {
  constexpr int kTrials = 7, kIterationLimit = 1000, kBaseFreq = 10000;
  constexpr double kAlpha = 0.5, kAlphaWidth = 0.05, kConvThreshold = 0.99999;
  const size_t n = languages_.size();
  std::vector<double> langprob(n, 0.0);
  py::Random random(seed);  // Detector._detect_block: self.random.seed(self.seed)
  for (int t = 0; t < kTrials; ++t) {
    std::vector<double> prob(n, 1.0 / static_cast<double>(n));
    const double alpha = kAlpha + random.gauss(0.0, 1.0) * kAlphaWidth;
    const double weight = alpha / kBaseFreq;
    for (int i = 0;; ++i) {
      const std::vector<double>& word = words_.at(ngrams[random.randbelow(ngrams.size())]);
      for (size_t j = 0; j < n; ++j) prob[j] *= weight + word[j];
      if (i % 5 == 0) {
        double sum = 0.0, max_p = 0.0;
        for (double p : prob) sum += p;  // Python 3.11's sum(): left to right, uncompensated
        for (double& p : prob) {
          p /= sum;
          if (max_p < p) max_p = p;
        }
        if (max_p > kConvThreshold || i >= kIterationLimit) break;
      }
    }
    for (size_t j = 0; j < n; ++j) langprob[j] += prob[j] / kTrials;
  }
  return langprob;
}

std::optional<std::vector<std::pair<std::string, double>>> LangDetector::ranked(
    std::string_view utf8_text, uint32_t seed) const {
  const std::vector<std::u32string> grams = ngrams(prepared_text(utf8_text));
  if (grams.empty()) return std::nullopt;  // LangDetectException: No features in text.
  const std::vector<double> langprob = detect_block(grams, seed);
  std::vector<std::pair<std::string, double>> result;
  for (size_t j = 0; j < langprob.size(); ++j)
    if (langprob[j] > 0.1) result.emplace_back(languages_[j], langprob[j]);
  // list.sort(reverse=True) is stable: equal probabilities keep the profile order.
  std::stable_sort(result.begin(), result.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return result;
}

std::vector<std::pair<std::string, double>> LangDetector::probabilities(std::string_view utf8_text,
                                                                        uint32_t seed) const {
  return ranked(utf8_text, seed).value_or(std::vector<std::pair<std::string, double>>{});
}

std::optional<std::string> LangDetector::detect(std::string_view utf8_text, uint32_t seed) const {
  const auto result = ranked(utf8_text, seed);
  if (!result) return std::nullopt;
  return result->empty() ? std::string("unknown") : result->front().first;
}

}  // namespace tt::eval
