// The text tools under the IFEval checker (ifeval.h): Python str / re semantics over UTF-8, NLTK's
// Punkt sentence splitter and word tokenizer, and CLD2 standing in for langdetect.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/locid.h>
#include <unicode/utf8.h>

#include "core/error.h"
#include "eval/ifeval.h"
#include "text/utf8.h"

namespace tt::eval::ifeval_text {

// ---------------------------------------------------------------------------------------------
// PyRegex

PyRegex::PyRegex(std::string_view pattern, uint32_t flags, std::string_view what) {
  uint32_t options = PCRE2_UTF | PCRE2_UCP;
  if (flags & kIgnoreCase) options |= PCRE2_CASELESS;
  // Python's multiline '^' also matches after a newline that ends the text.
  if (flags & kMultiline) options |= PCRE2_MULTILINE | PCRE2_ALT_CIRCUMFLEX;
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(context, PCRE2_NEWLINE_LF);  // Python: only '\n' ends a line
  int error = 0;
  PCRE2_SIZE offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error,
                        &offset, context);
  pcre2_compile_context_free(context);
  if (!code_) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    fail("{}: bad regular expression '{}' at offset {}: {}", what, pattern, offset,
         reinterpret_cast<const char*>(message));
  }
  uint32_t captures = 0;
  pcre2_pattern_info(static_cast<pcre2_code*>(code_), PCRE2_INFO_CAPTURECOUNT, &captures);
  groups_ = static_cast<int>(captures);
}

PyRegex::~PyRegex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void PyRegex::for_each(std::string_view text, const std::function<bool(const Match&)>& fn) const {
  auto* code = static_cast<pcre2_code*>(code_);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(code, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  bool after_empty = false;
  Match match;
  while (pos <= text.size()) {
    // After an empty match, the next one may not be empty at the same place (Python 3.7+).
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

bool PyRegex::search(std::string_view text) const {
  bool found = false;
  for_each(text, [&](const Match&) { return !(found = true); });
  return found;
}

std::optional<size_t> PyRegex::match_prefix(std::string_view text) const {
  auto* code = static_cast<pcre2_code*>(code_);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(code, nullptr), &pcre2_match_data_free);
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                             PCRE2_ANCHORED, data.get(), nullptr);
  if (rc < 0) return std::nullopt;
  return pcre2_get_ovector_pointer(data.get())[1];
}

size_t PyRegex::count(std::string_view text) const {
  size_t n = 0;
  for_each(text, [&](const Match&) { return ++n, true; });
  return n;
}

std::vector<std::string> PyRegex::findall(std::string_view text) const {
  std::vector<std::string> out;
  for_each(text, [&](const Match& m) {
    out.emplace_back(text.substr(m.begin, m.end - m.begin));
    return true;
  });
  return out;
}

std::vector<std::string> PyRegex::split(std::string_view text) const {
  std::vector<std::string> out;
  size_t last = 0;
  for_each(text, [&](const Match& m) {
    out.emplace_back(text.substr(last, m.begin - last));
    for (int g = 1; g <= groups_; ++g) {
      const auto [b, e] = m.groups[g];
      out.emplace_back(b == std::string::npos ? "" : text.substr(b, e - b));
    }
    last = m.end;
    return true;
  });
  out.emplace_back(text.substr(last));
  return out;
}

std::string PyRegex::sub(std::string_view text, std::string_view replacement) const {
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
      const auto [b, e] = group == 0 ? std::pair{m.begin, m.end} : m.groups[group];
      if (b != std::string::npos) out.append(text.substr(b, e - b));  // unset group -> ""
    }
    last = m.end;
    return true;
  });
  out.append(text.substr(last));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Python str methods

namespace {

// Decodes the code point at s[i] (valid UTF-8 assumed; a bad byte reads as U+FFFD) and advances i.
uint32_t next_cp(std::string_view s, size_t& i) {
  UChar32 c;
  int32_t pos = static_cast<int32_t>(i);
  U8_NEXT(reinterpret_cast<const uint8_t*>(s.data()), pos, static_cast<int32_t>(s.size()), c);
  i = static_cast<size_t>(pos);
  return c < 0 ? 0xFFFD : static_cast<uint32_t>(c);
}

// Start of the code point that ends at byte `end` (exclusive).
size_t prev_cp_start(std::string_view s, size_t end) {
  size_t i = end - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

bool cp_is_upper(uint32_t c) { return u_hasBinaryProperty(c, UCHAR_UPPERCASE); }
bool cp_is_lower(uint32_t c) { return u_hasBinaryProperty(c, UCHAR_LOWERCASE); }
bool cp_is_title(uint32_t c) { return u_charType(c) == U_TITLECASE_LETTER; }

}  // namespace

// Python's whitespace: bidi classes WS, B, S or category Zs = White_Space plus U+001C..U+001F.
bool is_space(uint32_t cp) { return u_isUWhiteSpace(cp) || (cp >= 0x1C && cp <= 0x1F); }

std::string_view lstrip(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    if (!is_space(next_cp(s, j))) break;
    i = j;
  }
  return s.substr(i);
}

std::string_view rstrip(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = prev_cp_start(s, end), j = start;
    if (!is_space(next_cp(s, j))) break;
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

std::vector<std::string_view> split_whitespace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0, word = std::string_view::npos;
  while (i < s.size()) {
    const size_t at = i;
    const bool space = is_space(next_cp(s, i));
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

std::string lower(std::string_view s) {
  std::string out;
  icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())))
      .toLower(icu::Locale::getRoot())
      .toUTF8String(out);
  return out;
}

bool is_upper(std::string_view s) {
  bool cased = false;
  for (size_t i = 0; i < s.size();) {
    const uint32_t c = next_cp(s, i);
    if (cp_is_lower(c) || cp_is_title(c)) return false;
    cased = cased || cp_is_upper(c);
  }
  return cased;
}

bool is_lower(std::string_view s) {
  bool cased = false;
  for (size_t i = 0; i < s.size();) {
    const uint32_t c = next_cp(s, i);
    if (cp_is_upper(c) || cp_is_title(c)) return false;
    cased = cased || cp_is_lower(c);
  }
  return cased;
}

// ---------------------------------------------------------------------------------------------
// Words

int64_t count_words(std::string_view text) {
  static const PyRegex word(R"(\w+)");
  return static_cast<int64_t>(word.count(text));
}

// ---------------------------------------------------------------------------------------------
// Punkt (nltk/tokenize/punkt.py, PunktSentenceTokenizer.span_tokenize with realign_boundaries)

namespace {

// The English model's learned parameters are not available here (nltk_data's english.pickle is
// trained on the WSJ corpus). They matter only for a period after an abbreviation, an initial, a
// number or an ellipsis; these lists cover the common cases.
const std::unordered_set<std::string>& punkt_abbreviations() {
  static const std::unordered_set<std::string> set = {
      "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "messrs", "mt", "ft", "rev", "gen", "gov",
      "sen", "rep", "lt", "col", "maj", "capt", "sgt", "adm", "cmdr", "inc", "ltd", "co", "corp",
      "bros", "cie", "vs", "v", "etc", "e.g", "i.e", "a.m", "p.m", "u.s", "u.k", "u.n", "u.s.a",
      "n.y", "d.c", "l.a", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
      "nov", "dec", "ala", "ariz", "ark", "calif", "colo", "conn", "del", "fla", "ga", "ill", "ind",
      "kan", "ky", "la", "md", "mass", "mich", "minn", "miss", "mo", "mont", "neb", "nev", "n.j",
      "n.m", "n.c", "n.h", "okla", "ore", "pa", "tenn", "tex", "va", "vt", "wash", "wis", "wyo",
      "no", "nos", "approx", "dept", "est", "fig", "vol", "ave", "blvd"};
  return set;
}

// Words the model knows as frequent sentence starters (after an abbreviation, a capitalised one of
// these starts a new sentence).
const std::unordered_set<std::string>& punkt_sentence_starters() {
  static const std::unordered_set<std::string> set = {
      "the", "but", "and", "in", "it", "he", "she", "they", "we", "this", "that", "there", "these",
      "those", "a", "an", "as", "at", "for", "if", "so", "when", "while", "after", "also", "however",
      "meanwhile", "yet", "still", "then", "now", "today", "since", "although", "though", "some",
      "many", "most", "its", "his", "her", "their", "our", "my", "you", "your", "what", "why",
      "how", "where", "each", "one", "on", "by", "with", "to", "of", "from", "or", "not", "all",
      "both", "other", "such", "here", "thus", "finally", "first", "second", "third", "next",
      "lastly", "additionally", "furthermore", "moreover", "instead", "because", "do", "is", "are",
      "was", "were", "can", "will", "let", "please", "remember", "overall", "ultimately"};
  return set;
}

constexpr int kOrthoBegUc = 1 << 1, kOrthoMidUc = 1 << 2, kOrthoUnkUc = 1 << 3;
constexpr int kOrthoBegLc = 1 << 4, kOrthoMidLc = 1 << 5, kOrthoUnkLc = 1 << 6;
constexpr int kOrthoUc = kOrthoBegUc | kOrthoMidUc | kOrthoUnkUc;
constexpr int kOrthoLc = kOrthoBegLc | kOrthoMidLc | kOrthoUnkLc;

// Orthographic contexts: the model saw the common function words capitalised at sentence starts
// and lower case inside sentences; other words are unknown (0).
int ortho_context(const std::string& type) {
  return punkt_sentence_starters().count(type) ? (kOrthoBegUc | kOrthoMidLc) : 0;
}

struct PunktToken {
  std::string tok, type;
  bool period_final = false, sentbreak = false, abbr = false, ellipsis = false;

  explicit PunktToken(std::string_view text) : tok(text) {
    static const PyRegex numeric(R"(^-?[\.,]?\d[\d,\.-]*\.?$)");
    type = lower(tok);
    if (numeric.match_prefix(type)) type = "##number##";
    period_final = !tok.empty() && tok.back() == '.';
  }
  std::string type_no_period() const {
    if (type.size() > 1 && type.back() == '.') return type.substr(0, type.size() - 1);
    return type;
  }
  std::string type_no_sentperiod() const { return sentbreak ? type_no_period() : type; }
  std::string first_char() const {
    size_t i = 0;
    next_cp(tok, i);
    return tok.substr(0, i);
  }
  bool first_upper() const { return !tok.empty() && is_upper(first_char()); }
  bool first_lower() const { return !tok.empty() && is_lower(first_char()); }
  bool is_ellipsis() const {
    static const PyRegex re(R"(\.\.+$)");
    return re.match_prefix(tok).has_value();
  }
  bool is_initial() const {
    static const PyRegex re(R"([^\W\d]\.$)");
    return re.match_prefix(tok).has_value();
  }
};

// PunktLanguageVars: the word tokenizer and the period context.
const char* const kNonWord = R"re((?:[)";}\]*:@'({\[?!]))re";
const char* const kMultiChar = R"((?:\-{2,}|\.{2,}|(?:\.\s){2,}\.))";
const char* const kWordStart = R"([^\("`{\[:;&#*@\)}\]\-,])";

const PyRegex& punkt_word_re() {
  static const PyRegex re(std::string("(") + kMultiChar + "|(?=" + kWordStart + ")\\S+?(?=\\s|$|" + kNonWord +
                          "|" + kMultiChar + "|,(?=$|\\s|" + kNonWord + "|" + kMultiChar + "))|\\S)");
  return re;
}

// A sentence-end character followed by other punctuation or by whitespace and a token.
// Group 1: after_tok, group 2: next_tok.
const PyRegex& punkt_period_context_re() {
  static const PyRegex re(std::string("[.?!](?=(") + kNonWord + "|\\s+(\\S+)))");
  return re;
}

// PunktBaseClass._tokenize_words: the word tokens of each non-blank line.
std::vector<PunktToken> punkt_tokenize_words(std::string_view text) {
  std::vector<PunktToken> tokens;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(start, nl - start);
    if (!strip(line).empty())
      punkt_word_re().for_each(line, [&](const PyRegex::Match& m) {
        tokens.emplace_back(line.substr(m.begin, m.end - m.begin));
        return true;
      });
    start = nl + 1;
  }
  return tokens;
}

void punkt_first_pass(PunktToken& t) {
  const auto& abbreviations = punkt_abbreviations();
  if (t.tok == "." || t.tok == "?" || t.tok == "!") {
    t.sentbreak = true;
  } else if (t.is_ellipsis()) {
    t.ellipsis = true;
  } else if (t.period_final && !t.tok.ends_with("..")) {
    const std::string stem = lower(std::string_view(t.tok).substr(0, t.tok.size() - 1));
    const size_t dash = stem.rfind('-');
    const std::string last = dash == std::string::npos ? stem : stem.substr(dash + 1);
    if (abbreviations.count(stem) || abbreviations.count(last))
      t.abbr = true;
    else
      t.sentbreak = true;
  }
}

// _ortho_heuristic: 1 = starts a sentence, 0 = does not, -1 = unknown.
int punkt_ortho_heuristic(const PunktToken& t) {
  static const std::set<std::string> punctuation = {";", ":", ",", ".", "!", "?"};
  if (punctuation.count(t.tok)) return 0;
  const int context = ortho_context(t.type_no_sentperiod());
  if (t.first_upper() && (context & kOrthoLc) && !(context & kOrthoMidUc)) return 1;
  if (t.first_lower() && ((context & kOrthoUc) || !(context & kOrthoBegLc))) return 0;
  return -1;
}

// _second_pass_annotation (no collocations in the approximated model).
void punkt_second_pass(PunktToken& t1, const PunktToken& t2) {
  if (!t1.period_final) return;
  const std::string typ = t1.type_no_period();
  const std::string next_typ = t2.type_no_sentperiod();
  const bool initial = t1.is_initial();
  if ((t1.abbr || t1.ellipsis) && !initial) {
    if (punkt_ortho_heuristic(t2) == 1) {
      t1.sentbreak = true;
      return;
    }
    if (t2.first_upper() && punkt_sentence_starters().count(next_typ)) {
      t1.sentbreak = true;
      return;
    }
  }
  if (initial || typ == "##number##") {
    const int starter = punkt_ortho_heuristic(t2);
    if (starter == 0) {
      t1.sentbreak = false;
      t1.abbr = true;
      return;
    }
    if (starter == -1 && initial && t2.first_upper() && !(ortho_context(next_typ) & kOrthoLc)) {
      t1.sentbreak = false;
      t1.abbr = true;
    }
  }
}

// text_contains_sentbreak: a token other than the last one ends a sentence.
bool punkt_contains_sentbreak(std::string_view context) {
  std::vector<PunktToken> tokens = punkt_tokenize_words(context);
  for (auto& t : tokens) punkt_first_pass(t);
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    punkt_second_pass(tokens[i], tokens[i + 1]);
    if (tokens[i].sentbreak) return true;
  }
  return false;
}

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

struct Span {
  size_t start, stop;
};

// _match_potential_end_contexts + _slices_from_text.
std::vector<Span> punkt_slices(std::string_view text) {
  struct Candidate {
    size_t end;        // match.end()
    size_t next_tok;   // start of next_tok, or npos
    std::string context;
  };
  std::vector<Candidate> candidates;
  Span previous_slice{0, 0};
  std::optional<PyRegex::Match> previous_match;
  auto context_of = [&](const PyRegex::Match& m, Span word) {
    const auto [ab, ae] = m.groups[1];
    return std::string(text.substr(word.start, word.stop > word.start ? word.stop - word.start : 0)) +
           std::string(text.substr(m.begin, m.end - m.begin)) + std::string(text.substr(ab, ae - ab));
  };
  auto add = [&](const PyRegex::Match& m, Span word) {
    candidates.push_back({m.end, m.groups[2].first, context_of(m, word)});
  };
  punkt_period_context_re().for_each(text, [&](const PyRegex::Match& m) {
    // The word before the match: from after the last ASCII whitespace since the previous word.
    const size_t from = previous_slice.stop;
    size_t index = 0;  // 0: none found (as punkt, a space at offset 0 counts as none)
    for (size_t i = m.begin; i > from; --i)
      if (is_ascii_space(text[i - 1])) {
        index = i - 1 - from;
        break;
      }
    const size_t word_start = index ? from + index + 1 : previous_slice.start;
    const Span word{word_start, m.begin};
    if (previous_match && previous_slice.stop <= word.start) add(*previous_match, previous_slice);
    previous_match = m;
    previous_slice = word;
    return true;
  });
  if (previous_match) add(*previous_match, previous_slice);

  std::vector<Span> slices;
  size_t last_break = 0;
  for (const auto& c : candidates) {
    if (!punkt_contains_sentbreak(c.context)) continue;
    slices.push_back({last_break, c.end});
    last_break = c.next_tok != std::string::npos ? c.next_tok : c.end;
  }
  slices.push_back({last_break, rstrip(text).size()});
  return slices;
}

// _realign_boundaries: closing quotes and brackets after a break join the sentence before it.
std::vector<Span> punkt_realign(std::string_view text, const std::vector<Span>& slices) {
  static const PyRegex boundary(R"re(["')\]}]+?(?:\s+|(?=--)|$))re", PyRegex::kMultiline);
  auto piece = [&](Span s) { return s.stop > s.start ? text.substr(s.start, s.stop - s.start) : std::string_view(); };
  std::vector<Span> out;
  size_t realign = 0;
  for (size_t i = 0; i < slices.size(); ++i) {
    const Span s1{slices[i].start + realign, slices[i].stop};
    if (i + 1 == slices.size()) {
      if (!piece(s1).empty()) out.push_back(s1);
      continue;
    }
    const Span s2 = slices[i + 1];
    const std::string_view next = piece(s2);
    if (auto end = boundary.match_prefix(next)) {
      out.push_back({s1.start, s2.start + rstrip(next.substr(0, *end)).size()});
      realign = *end;
    } else {
      realign = 0;
      if (!piece(s1).empty()) out.push_back(s1);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> split_sentences(std::string_view text) {
  std::vector<std::string> out;
  for (const Span& s : punkt_realign(text, punkt_slices(text)))
    out.emplace_back(s.stop > s.start ? text.substr(s.start, s.stop - s.start) : std::string_view());
  return out;
}

// ---------------------------------------------------------------------------------------------
// NLTKWordTokenizer (nltk/tokenize/destructive.py, nltk 3.8)

namespace {

struct Rule {
  PyRegex re;
  const char* replacement;
};

std::vector<std::string> treebank_tokenize(std::string text) {
  static const Rule starting_quotes[] = {
      {PyRegex("([«“‘„]|[`]+)"), " \\1 "},
      {PyRegex("^\""), "``"},
      {PyRegex("(``)"), " \\1 "},
      {PyRegex(R"(([ \(\[{<])("|'{2}))"), "\\1 `` "},
      {PyRegex(R"((?i)(')(?!re|ve|ll|m|t|s|d|n)(\w)\b)"), "\\1 \\2"},
  };
  static const Rule punctuation[] = {
      {PyRegex("([^\\.])(\\.)([\\]\\)}>\"'»”’ ]*)\\s*$"), "\\1 \\2 \\3 "},
      {PyRegex(R"(([:,])([^\d]))"), " \\1 \\2"},
      {PyRegex(R"(([:,])$)"), " \\1 "},
      {PyRegex(R"(\.{2,})"), " \\g<0> "},
      {PyRegex(R"([;@#$%&])"), " \\g<0> "},
      {PyRegex(R"(([^\.])(\.)([\]\)}>"']*)\s*$)"), "\\1 \\2\\3 "},
      {PyRegex(R"([?!])"), " \\g<0> "},
      {PyRegex(R"(([^'])' )"), "\\1 ' "},
      {PyRegex(R"([*])"), " \\g<0> "},
  };
  static const Rule parens{PyRegex(R"([\]\[\(\)\{\}\<\>])"), " \\g<0> "};
  static const Rule double_dashes{PyRegex("--"), " -- "};
  static const Rule ending_quotes[] = {
      {PyRegex("([»”’])"), " \\1 "},
      {PyRegex("''"), " '' "},
      {PyRegex("\""), " '' "},
      {PyRegex(R"(([^' ])('[sS]|'[mM]|'[dD]|') )"), "\\1 \\2 "},
      {PyRegex(R"(([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) )"), "\\1 \\2 "},
  };
  static const Rule contractions[] = {
      {PyRegex(R"((?i)\b(can)(?#X)(not)\b)"), " \\1 \\2 "},
      {PyRegex(R"((?i)\b(d)(?#X)('ye)\b)"), " \\1 \\2 "},
      {PyRegex(R"((?i)\b(gim)(?#X)(me)\b)"), " \\1 \\2 "},
      {PyRegex(R"((?i)\b(gon)(?#X)(na)\b)"), " \\1 \\2 "},
      {PyRegex(R"((?i)\b(got)(?#X)(ta)\b)"), " \\1 \\2 "},
      {PyRegex(R"((?i)\b(lem)(?#X)(me)\b)"), " \\1 \\2 "},
      {PyRegex(R"((?i)\b(more)(?#X)('n)\b)"), " \\1 \\2 "},
      {PyRegex(R"((?i)\b(wan)(?#X)(na)(?=\s))"), " \\1 \\2 "},
      {PyRegex(R"((?i) ('t)(?#X)(is)\b)"), " \\1 \\2 "},
      {PyRegex(R"((?i) ('t)(?#X)(was)\b)"), " \\1 \\2 "},
  };
  for (const auto& r : starting_quotes) text = r.re.sub(text, r.replacement);
  for (const auto& r : punctuation) text = r.re.sub(text, r.replacement);
  text = parens.re.sub(text, parens.replacement);
  text = double_dashes.re.sub(text, double_dashes.replacement);
  text = " " + text + " ";
  for (const auto& r : ending_quotes) text = r.re.sub(text, r.replacement);
  for (const auto& r : contractions) text = r.re.sub(text, r.replacement);
  std::vector<std::string> tokens;
  for (std::string_view t : split_whitespace(text)) tokens.emplace_back(t);
  return tokens;
}

}  // namespace

std::vector<std::string> word_tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  for (const std::string& sentence : split_sentences(text))
    for (std::string& t : treebank_tokenize(sentence)) tokens.push_back(std::move(t));
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Language

std::optional<std::string> detect_language(std::string_view text) {
  // langdetect raises "No features in text" when nothing letter-like is left; the checker then
  // counts the instruction as followed.
  bool has_letter = false;
  for (size_t i = 0; i < text.size() && !has_letter;) has_letter = u_isalpha(next_cp(text, i));
  if (!has_letter) return std::nullopt;

  CLD2::CLDHints hints = {nullptr, nullptr, CLD2::UNKNOWN_ENCODING, CLD2::UNKNOWN_LANGUAGE};
  CLD2::Language language3[3];
  int percent3[3];
  double score3[3];
  int text_bytes = 0, valid_prefix = 0;
  bool reliable = false;
  // Without kCLDFlagBestEffort, CLD2 names no language ("un", matching no code) for text too short
  // to tell, such as one word. langdetect always names one, unseeded and so at random on such text;
  // the official verdicts fail GPT-4's answers "YES", "A", "etchings" and a bare list of names on
  // the English checks, and so does "un".
  const CLD2::Language language = CLD2::ExtDetectLanguageSummaryCheckUTF8(
      text.data(), static_cast<int>(text.size()), /*is_plain_text=*/true, &hints, 0,
      language3, percent3, score3, nullptr, &text_bytes, &reliable, &valid_prefix);
  std::string code = CLD2::LanguageCode(language);
  // CLD2's codes where langdetect spells them otherwise.
  if (code == "iw") return "he";
  if (code == "zh") return "zh-cn";
  if (code == "zh-Hant") return "zh-tw";
  if (code == "jw") return "jv";
  return code;
}

}  // namespace tt::eval::ifeval_text
