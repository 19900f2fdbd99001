// The text tools under the IFEval checker (ifeval.h): Python str / re semantics over UTF-8, NLTK's
// Punkt sentence splitter and word tokenizer, and langdetect (langdetect.h, seed 0).
#include <algorithm>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <unicode/uchar.h>

#include "core/error.h"
#include "eval/ifeval.h"
#include "eval/python_compat.h"
#include "eval/langdetect.h"

namespace tt::eval::ifeval_text {

// ---------------------------------------------------------------------------------------------
// Words

int64_t count_words(std::string_view text) {
  static const py::Regex word(R"(\w+)");
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
    static const py::Regex numeric(R"(^-?[\.,]?\d[\d,\.-]*\.?$)");
    type = py::lower(tok);
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
    py::next_code_point(tok, i);
    return tok.substr(0, i);
  }
  bool first_upper() const { return !tok.empty() && py::isupper(first_char()); }
  bool first_lower() const { return !tok.empty() && py::islower(first_char()); }
  bool is_ellipsis() const {
    static const py::Regex re(R"(\.\.+$)");
    return re.match_prefix(tok).has_value();
  }
  bool is_initial() const {
    static const py::Regex re(R"([^\W\d]\.$)");
    return re.match_prefix(tok).has_value();
  }
};

// PunktLanguageVars: the word tokenizer and the period context.
const char* const kNonWord = R"re((?:[)";}\]*:@'({\[?!]))re";
const char* const kMultiChar = R"((?:\-{2,}|\.{2,}|(?:\.\s){2,}\.))";
const char* const kWordStart = R"([^\("`{\[:;&#*@\)}\]\-,])";

const py::Regex& punkt_word_re() {
  static const py::Regex re(std::string("(") + kMultiChar + "|(?=" + kWordStart + ")\\S+?(?=\\s|$|" + kNonWord +
                          "|" + kMultiChar + "|,(?=$|\\s|" + kNonWord + "|" + kMultiChar + "))|\\S)");
  return re;
}

// A sentence-end character followed by other punctuation or by whitespace and a token.
// Group 1: after_tok, group 2: next_tok.
const py::Regex& punkt_period_context_re() {
  static const py::Regex re(std::string("[.?!](?=(") + kNonWord + "|\\s+(\\S+)))");
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
    if (!py::strip(line).empty())
      punkt_word_re().for_each(line, [&](const py::Regex::Match& m) {
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
    const std::string stem = py::lower(std::string_view(t.tok).substr(0, t.tok.size() - 1));
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
  std::optional<py::Regex::Match> previous_match;
  auto context_of = [&](const py::Regex::Match& m, Span word) {
    const auto [ab, ae] = m.groups[1];
    return std::string(text.substr(word.start, word.stop > word.start ? word.stop - word.start : 0)) +
           std::string(text.substr(m.begin, m.end - m.begin)) + std::string(text.substr(ab, ae - ab));
  };
  auto add = [&](const py::Regex::Match& m, Span word) {
    candidates.push_back({m.end, m.groups[2].first, context_of(m, word)});
  };
  punkt_period_context_re().for_each(text, [&](const py::Regex::Match& m) {
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
  slices.push_back({last_break, py::rstrip(text).size()});
  return slices;
}

// _realign_boundaries: closing quotes and brackets after a break join the sentence before it.
std::vector<Span> punkt_realign(std::string_view text, const std::vector<Span>& slices) {
  static const py::Regex boundary(R"re(["')\]}]+?(?:\s+|(?=--)|$))re", py::Regex::kMultiline);
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
      out.push_back({s1.start, s2.start + py::rstrip(next.substr(0, *end)).size()});
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
  py::Regex re;
  const char* replacement;
};

std::vector<std::string> treebank_tokenize(std::string text) {
  static const Rule starting_quotes[] = {
      {py::Regex("([«“‘„]|[`]+)"), " \\1 "},
      {py::Regex("^\""), "``"},
      {py::Regex("(``)"), " \\1 "},
      {py::Regex(R"(([ \(\[{<])("|'{2}))"), "\\1 `` "},
      {py::Regex(R"((?i)(')(?!re|ve|ll|m|t|s|d|n)(\w)\b)"), "\\1 \\2"},
  };
  static const Rule punctuation[] = {
      {py::Regex("([^\\.])(\\.)([\\]\\)}>\"'»”’ ]*)\\s*$"), "\\1 \\2 \\3 "},
      {py::Regex(R"(([:,])([^\d]))"), " \\1 \\2"},
      {py::Regex(R"(([:,])$)"), " \\1 "},
      {py::Regex(R"(\.{2,})"), " \\g<0> "},
      {py::Regex(R"([;@#$%&])"), " \\g<0> "},
      {py::Regex(R"(([^\.])(\.)([\]\)}>"']*)\s*$)"), "\\1 \\2\\3 "},
      {py::Regex(R"([?!])"), " \\g<0> "},
      {py::Regex(R"(([^'])' )"), "\\1 ' "},
      {py::Regex(R"([*])"), " \\g<0> "},
  };
  static const Rule parens{py::Regex(R"([\]\[\(\)\{\}\<\>])"), " \\g<0> "};
  static const Rule double_dashes{py::Regex("--"), " -- "};
  static const Rule ending_quotes[] = {
      {py::Regex("([»”’])"), " \\1 "},
      {py::Regex("''"), " '' "},
      {py::Regex("\""), " '' "},
      {py::Regex(R"(([^' ])('[sS]|'[mM]|'[dD]|') )"), "\\1 \\2 "},
      {py::Regex(R"(([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) )"), "\\1 \\2 "},
  };
  static const Rule contractions[] = {
      {py::Regex(R"((?i)\b(can)(?#X)(not)\b)"), " \\1 \\2 "},
      {py::Regex(R"((?i)\b(d)(?#X)('ye)\b)"), " \\1 \\2 "},
      {py::Regex(R"((?i)\b(gim)(?#X)(me)\b)"), " \\1 \\2 "},
      {py::Regex(R"((?i)\b(gon)(?#X)(na)\b)"), " \\1 \\2 "},
      {py::Regex(R"((?i)\b(got)(?#X)(ta)\b)"), " \\1 \\2 "},
      {py::Regex(R"((?i)\b(lem)(?#X)(me)\b)"), " \\1 \\2 "},
      {py::Regex(R"((?i)\b(more)(?#X)('n)\b)"), " \\1 \\2 "},
      {py::Regex(R"((?i)\b(wan)(?#X)(na)(?=\s))"), " \\1 \\2 "},
      {py::Regex(R"((?i) ('t)(?#X)(is)\b)"), " \\1 \\2 "},
      {py::Regex(R"((?i) ('t)(?#X)(was)\b)"), " \\1 \\2 "},
  };
  for (const auto& r : starting_quotes) text = r.re.sub(text, r.replacement);
  for (const auto& r : punctuation) text = r.re.sub(text, r.replacement);
  text = parens.re.sub(text, parens.replacement);
  text = double_dashes.re.sub(text, double_dashes.replacement);
  text = " " + text + " ";
  for (const auto& r : ending_quotes) text = r.re.sub(text, r.replacement);
  for (const auto& r : contractions) text = r.re.sub(text, r.replacement);
  std::vector<std::string> tokens;
  for (std::string_view t : py::split(text)) tokens.emplace_back(t);
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
  // langdetect.detect with DetectorFactory.seed = 0; nullopt where it raises "No features in text"
  // (the checker then counts the instruction as followed).
  return LangDetector::installed().detect(text, /*seed=*/0);
}

}  // namespace tt::eval::ifeval_text
