// Byte-level BPE tokenizer that agrees with HF `tokenizers` (and Meta's tiktoken tokenizer.model)
// to the id. Loads tokenizer.json (BPE, Split/ByteLevel pre-tokenizers, TemplateProcessing) or a
// tiktoken tokenizer.model with the Llama-3 special tokens.
//
//   Tokenizer tok = Tokenizer::load("path/to/model_dir");
//   std::vector<int32_t> ids = tok.encode("Hello", /*add_bos=*/true);
//   std::string text = tok.decode(ids);
//
// A Tokenizer is immutable after loading and safe to share between threads (copies are cheap and
// share the same tables).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tt {

struct TokenizerData;  // tokenizer_data.h

struct EncodeOptions {
  bool add_bos = false;        // apply the post-processor template (Llama-3: prepend <|begin_of_text|>)
  bool add_eos = false;        // append eos_id()
  bool allow_special = true;   // special tokens written in the text become their ids; false encodes
                               // them as plain text (use for untrusted input)
};

// Token ids with, for each, the byte range [begin, end) of the encoded text it came from. Tokens
// the post-processor adds (add_bos) get {0, 0}; a token that is only a ByteLevel prefix space
// (not in the text) gets an empty range where it was inserted. Ranges are in bytes: a token that
// holds part of a UTF-8 character covers only its own bytes (HF's char offsets round those out to
// the whole character; chat_encode.h does that where it matters).
struct EncodingWithOffsets {
  std::vector<int32_t> ids;
  std::vector<std::pair<size_t, size_t>> offsets;
};

class Tokenizer {
 public:
  // `path_or_dir`: a tokenizer.json, a tiktoken tokenizer.model, or a directory holding one of
  // them (tokenizer.json preferred). Throws tt::Error naming the file on any problem.
  static Tokenizer load(const std::string& path_or_dir);
  static Tokenizer load_json(const std::string& path);
  // Special tokens come from special_tokens.json beside the file when present, else the Llama-3
  // list is built like Meta's tokenizer.py (named ones plus <|reserved_special_token_N|>).
  static Tokenizer load_tiktoken(const std::string& path);

  std::vector<int32_t> encode(std::string_view text, bool add_bos = false, bool allow_special = true) const;
  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options) const;
  // Appends to `out` (no reallocation of a fresh vector per call).
  void encode_into(std::string_view text, const EncodeOptions& options, std::vector<int32_t>& out) const;
  // Same ids as encode(text, options), plus where each token is in `text`. Slower than encode;
  // for masks and alignment, not bulk tokenization.
  EncodingWithOffsets encode_with_offsets(std::string_view text, const EncodeOptions& options = {}) const;
  // Encodes each text independently, in parallel (OpenMP over texts).
  std::vector<std::vector<int32_t>> encode_batch(std::span<const std::string> texts,
                                                 const EncodeOptions& options = {}) const;

  // Concatenates the tokens' bytes; byte sequences that are not valid UTF-8 become U+FFFD, one per
  // maximal invalid subpart (like HF decode). skip_special drops special added tokens.
  // Throws tt::Error naming the id if one is out of range or not a token.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  // The token's string as HF writes it (byte-level form such as "Ġthe", or an added token's text).
  std::string id_to_token(int32_t id) const;
  // Inverse of id_to_token; -1 if absent.
  int32_t token_to_id(std::string_view token) const;
  // The raw bytes a token decodes to (may be part of a UTF-8 character).
  std::string_view token_bytes(int32_t id) const;
  bool is_special(int32_t id) const;

  size_t vocab_size() const;          // 1 + the largest id
  int32_t bos_id() const;             // -1 if none
  int32_t eos_id() const;             // end of text (Llama-3: <|end_of_text|>), -1 if none
  std::vector<int32_t> eos_ids() const;  // every id that ends generation (Llama-3: also eot, eom)
  const std::string& source() const;  // the file it was loaded from

 private:
  explicit Tokenizer(std::shared_ptr<const TokenizerData> data) : data_(std::move(data)) {}
  void check_id(int32_t id) const;
  std::shared_ptr<const TokenizerData> data_;
};

// Streams text out of ids one at a time (e.g. during generation): returns only complete UTF-8,
// never half a character; invalid bytes become U+FFFD exactly where decode() would put them.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special = false)
      : tokenizer_(&tokenizer), skip_special_(skip_special) {}
  std::string feed(int32_t id);
  // Emits whatever is still held (an incomplete character becomes U+FFFD) and resets.
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;  // bytes of a character not yet complete
};

}  // namespace tt
