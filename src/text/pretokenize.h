// Pre-tokenization: cutting text into the pieces that BPE encodes one by one.
// Supports what HF byte-level BPE tokenizers use: Split (regex or literal, via PCRE2 in UTF+UCP
// mode), ByteLevel (optional prefix space, optional GPT-2 regex) and Sequence of those. Pieces are
// raw bytes: the byte-level character mapping is implicit (the BPE vocabulary is stored as bytes).
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tt {

// A compiled PCRE2 pattern (JIT when available). Thread-safe to use from many threads.
class Regex {
 public:
  // `pattern` uses Oniguruma / Rust-regex syntax as written in tokenizer.json; \s and \S are
  // rewritten to \p{White_Space} so they match exactly what Oniguruma's \s matches (PCRE2's own
  // \s also accepts U+180E). Throws tt::Error (prefixed by `where`) if it does not compile.
  static std::shared_ptr<const Regex> compile(std::string_view pattern, std::string_view where,
                                              bool literal = false);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Finds the first match in text[start..]; returns false if none. Invalid UTF-8 never matches.
  bool find(std::string_view text, size_t start, size_t* match_begin, size_t* match_end) const;

 private:
  Regex() = default;
  void* code_ = nullptr;  // pcre2_code_8*
};

// How a Split step treats the matches (HF SplitDelimiterBehavior).
enum class SplitBehavior { Isolated, Removed, MergedWithPrevious, MergedWithNext };

struct PreTokenizeStep {
  enum class Kind { Split, ByteLevel } kind = Kind::Split;
  std::shared_ptr<const Regex> regex;  // Split's pattern, or ByteLevel's GPT-2 regex (may be null)
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool add_prefix_space = false;       // ByteLevel only
};

// The GPT-2 pattern that ByteLevel applies when use_regex is true.
extern const char* const kGpt2SplitPattern;
// The Llama-3 (tiktoken cl100k-style) pattern; also used for tokenizer.model files.
extern const char* const kLlama3SplitPattern;

// Where a piece lies in the text given to pre_tokenize: piece byte k (k >= shift) is text byte
// origin + k - shift. The first `shift` bytes are prefix spaces a ByteLevel step added (shift is 0
// unless add_prefix_space inserted one); they are not in the text and sit at `origin`.
struct PiecePlace {
  size_t origin = 0;
  size_t shift = 0;
};

using PieceSink = std::function<void(std::string_view piece, PiecePlace place)>;

// Runs `steps` over `text`, calling `sink` for each final non-empty piece, left to right.
// Steps are applied in a streaming way (no intermediate lists), each to the pieces of the
// previous one, like HF's Sequence pre-tokenizer.
void pre_tokenize(const std::vector<PreTokenizeStep>& steps, std::string_view text, const PieceSink& sink);

}  // namespace tt
