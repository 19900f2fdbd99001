// The tables behind a Tokenizer, shared by the loaders (tokenizer_load.cpp) and the encoder /
// decoder (tokenizer.cpp). Internal to src/text.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/normalize.h"

#include "text/bpe.h"
#include "text/pretokenize.h"

namespace tt {

// The largest token id a tokenizer may use (2^24 - 1; real vocabularies are below 2^20): tables
// indexed by id are allocated up front, so a stray id of 2^31 - 1 would need gigabytes.
inline constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool lstrip = false;  // swallow whitespace before the token
  bool rstrip = false;  // swallow whitespace after the token
  std::string decoded;  // the bytes decode() produces for it
};

// Byte trie over added tokens' contents, for leftmost-longest matching in the input text.
class AddedTokenTrie {
 public:
  void insert(std::string_view content, int32_t added_index);
  // Longest added token starting at text[pos] that is allowed (special ones only when
  // allow_special); returns its index in TokenizerData::added or -1, and its length.
  int32_t match(std::string_view text, size_t pos, bool allow_special, const std::vector<AddedToken>& added,
                size_t* length) const;
  bool may_start(unsigned char c) const { return first_byte_[c]; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
    int32_t token = -1;
  };
  std::vector<Node> nodes_{1};
  bool first_byte_[256] = {};
};

struct TokenizerData {
  std::string source;
  BpeModel bpe;
  Normalization normalization = Normalization::None;  // applied to the text between added tokens
  std::vector<PreTokenizeStep> pre_tokenizer;
  std::vector<AddedToken> added;
  std::vector<int32_t> added_slot;  // id -> index in `added`, or -1
  std::unordered_map<std::string, int32_t> added_by_content;
  AddedTokenTrie trie;
  std::vector<int32_t> template_prefix;  // post-processor ids before the text
  std::vector<int32_t> template_suffix;  // and after it
  size_t vocab_size = 0;
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  std::vector<int32_t> eos_ids;

  // Adds an added token (after bpe.tokens is filled); computes `decoded` with the ByteLevel
  // decoder's rule: characters of the byte-level alphabet become their bytes, else raw UTF-8.
  void add_token(AddedToken token);
  // Sizes the per-id tables, builds the trie and picks bos / eos. Call once, last.
  void finish(std::string_view where);
};

}  // namespace tt
