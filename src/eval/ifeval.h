// IFEval (Zhou et al. 2023): the official checker's 25 instruction types with their kwargs, strict
// and loose. Loose also accepts the response without its first line, without its last line, without
// both, and each of those with '*' removed (the official eight variants). Where the official checker
// calls langdetect, CLD2 decides (Debian's libcld2); the 3 verdicts of 834 on the GPT-4 reference
// responses where the two checkers differ are listed, with their reasons, in ifeval_test.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt::eval {

struct IfevalVerdict {
  std::vector<bool> strict;  // one per instruction of instruction_id_list
  std::vector<bool> loose;
};

// `kwargs`: the doc's list of kwargs objects (one per instruction; null-valued keys ignored as the
// official checker does). An empty or non-UTF-8 response fails every instruction. An unknown
// instruction id is an error naming it.
IfevalVerdict check_ifeval(const std::vector<std::string>& instruction_ids, const nlohmann::json& kwargs,
                           const std::string& prompt, std::string_view response);

// The 25 instruction ids the checker knows ("punctuation:no_comma", ...).
std::vector<std::string> ifeval_instruction_ids();

// The checker's building blocks (ifeval_text.cpp), with the semantics of what the official checker
// calls: Python's str methods and `re` module, NLTK's tokenizers, langdetect. Exposed for tests.
namespace ifeval_text {

// A regular expression read with Python `re` semantics for the constructs the checker uses: PCRE2
// in UTF + UCP mode (\w, \d, \s, \b over Unicode), '\n' as the only newline, '$' also before a
// final newline, and in multiline mode '^' also after a final newline. Matching invalid UTF-8
// finds nothing. A pattern that does not compile is an error naming `what`.
class PyRegex {
 public:
  enum Flags : uint32_t { kIgnoreCase = 1, kMultiline = 2 };
  struct Match {
    size_t begin = 0, end = 0;
    std::vector<std::pair<size_t, size_t>> groups;  // [1..]: byte spans; {npos, npos} if unset
  };
  explicit PyRegex(std::string_view pattern, uint32_t flags = 0, std::string_view what = "regex");
  ~PyRegex();
  PyRegex(const PyRegex&) = delete;
  PyRegex& operator=(const PyRegex&) = delete;

  // re.finditer: non-overlapping matches left to right (an empty match never follows another
  // empty match at the same place). `fn` returns false to stop.
  void for_each(std::string_view text, const std::function<bool(const Match&)>& fn) const;
  bool search(std::string_view text) const;
  // re.match: anchored at the start of `text`; the end of the match, or nullopt.
  std::optional<size_t> match_prefix(std::string_view text) const;
  size_t count(std::string_view text) const;                          // len(re.findall(...))
  std::vector<std::string> findall(std::string_view text) const;      // whole matches
  std::vector<std::string> split(std::string_view text) const;        // re.split (groups kept)
  // re.sub with a template using \1 .. \9 and \g<N>.
  std::string sub(std::string_view text, std::string_view replacement) const;
  int group_count() const { return groups_; }

 private:
  void* code_ = nullptr;  // pcre2_code_8*
  int groups_ = 0;
};

// Python str methods over UTF-8 text.
bool is_space(uint32_t cp);                          // str.isspace() of one character
std::string_view strip(std::string_view s);          // str.strip()
std::string_view lstrip(std::string_view s);
std::string_view rstrip(std::string_view s);
std::string_view strip_chars(std::string_view s, std::string_view chars);  // str.strip(chars), ASCII chars
std::vector<std::string_view> split_whitespace(std::string_view s);        // str.split()
std::string lower(std::string_view s);               // str.lower() (full case mapping)
bool is_upper(std::string_view s);                   // str.isupper()
bool is_lower(std::string_view s);                   // str.islower()

// instructions_util.count_words: nltk RegexpTokenizer(r"\w+") tokens.
int64_t count_words(std::string_view text);
// NLTK's Punkt sentence tokenizer (nltk 3.8 algorithm). The official checker loads the trained
// English model (english.pickle); its learned tables (abbreviations, sentence starters,
// orthographic contexts) are approximated here by short lists, see ifeval_text.cpp.
std::vector<std::string> split_sentences(std::string_view text);
// nltk.word_tokenize: Punkt sentences, each cut by NLTKWordTokenizer (nltk 3.8 rules).
std::vector<std::string> word_tokenize(std::string_view text);
// langdetect.detect(text) stood in for by CLD2: the ISO 639-1 code of the text's language
// (langdetect's spelling: "he", "zh-cn", "zh-tw"), "un" for text too short to tell; nullopt where
// langdetect raises (no letters), which the checker counts as followed.
std::optional<std::string> detect_language(std::string_view text);

}  // namespace ifeval_text

}  // namespace tt::eval
