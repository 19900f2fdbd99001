// IFEval (Zhou et al. 2023): the official checker's 25 instruction types with their kwargs, strict
// and loose. Loose also accepts the response without its first line, without its last line, without
// both, and each of those with '*' removed (the official eight variants). Where the official checker
// calls langdetect, eval/langdetect.h decides, as langdetect does with DetectorFactory.seed = 0; the
// 2 verdicts of 834 on the GPT-4 reference responses where the two checkers differ (both the
// official checker's random letter substitution) are listed, with their reasons, in ifeval_test.cpp.
#pragma once
#include <cstdint>
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
// calls: NLTK's tokenizers and langdetect (Python's str methods and `re` module are
// python_compat.h). Exposed for tests.
namespace ifeval_text {

// instructions_util.count_words: nltk RegexpTokenizer(r"\w+") tokens.
int64_t count_words(std::string_view text);
// NLTK's Punkt sentence tokenizer (nltk 3.8 algorithm). The official checker loads the trained
// English model (english.pickle); its learned tables (abbreviations, sentence starters,
// orthographic contexts) are approximated here by short lists, see ifeval_text.cpp.
std::vector<std::string> split_sentences(std::string_view text);
// nltk.word_tokenize: Punkt sentences, each cut by NLTKWordTokenizer (nltk 3.8 rules).
std::vector<std::string> word_tokenize(std::string_view text);
// langdetect.detect(text) with DetectorFactory.seed = 0 (eval/langdetect.h): the code of the text's
// language ("en", "zh-cn", ...), "unknown" when none is probable enough; nullopt where langdetect
// raises (no n-grams: no letters), which the checker counts as followed.
std::optional<std::string> detect_language(std::string_view text);

}  // namespace ifeval_text

}  // namespace tt::eval
