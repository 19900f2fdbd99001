#include "text/chat_encode.h"

#include <optional>

namespace tt {

namespace {

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Start of the UTF-8 character holding byte `pos` (at most 3 continuation bytes back).
size_t char_start(std::string_view text, size_t pos) {
  size_t back = 0;
  while (pos > 0 && back < 3 && is_continuation(text[pos])) {
    --pos;
    ++back;
  }
  return pos;
}

// One past the end of the UTF-8 character that starts at or holds byte `pos`.
size_t char_end(std::string_view text, size_t pos) {
  if (pos >= text.size()) return text.size();
  ++pos;
  size_t ahead = 0;
  while (pos < text.size() && ahead < 3 && is_continuation(text[pos])) {
    ++pos;
    ++ahead;
  }
  return pos;
}

}  // namespace

std::vector<uint8_t> assistant_tokens_mask(std::string_view text, const EncodingWithOffsets& encoding,
                                           const std::vector<std::pair<size_t, size_t>>& spans) {
  const size_t n = encoding.ids.size();
  std::vector<uint8_t> mask(n, 0);
  // Character-widened offsets, as HF's ByteLevel alignments give them: every byte of a character
  // maps to the whole character, so a token holding part of one covers all of it.
  std::vector<std::pair<size_t, size_t>> chars(n);
  for (size_t t = 0; t < n; ++t) {
    auto [begin, end] = encoding.offsets[t];
    if (begin == 0 && end == 0) {
      chars[t] = {0, 0};  // added by the post-processor: no characters
      continue;
    }
    size_t last = end > begin ? end - 1 : begin;  // an inserted prefix space takes the next character
    chars[t] = {char_start(text, begin), char_end(text, last)};
  }
  auto char_to_token = [&](size_t pos) -> std::optional<size_t> {
    for (size_t t = 0; t < n; ++t) {
      if (pos >= chars[t].first && pos < chars[t].second) return t;
    }
    return std::nullopt;
  };
  for (auto [begin, end] : spans) {
    std::optional<size_t> start_token = char_to_token(begin);
    if (end == 0) {
      if (!start_token) break;
      continue;  // transformers would call char_to_token(-1) and raise
    }
    std::optional<size_t> end_token = char_to_token(char_start(text, end - 1));
    if (!start_token) break;  // transformers: "out of bounds maybe due to truncation"
    size_t stop = end_token && *end_token != 0 ? *end_token + 1 : n;
    for (size_t t = *start_token; t < stop; ++t) mask[t] = 1;
  }
  return mask;
}

ChatEncoding encode_chat(const Tokenizer& tokenizer, const ChatTemplate& chat_template, const nlohmann::ordered_json& messages,
                         bool add_generation_prompt, const nlohmann::ordered_json& extra) {
  RenderedChat rendered = chat_template.render(messages, add_generation_prompt, extra);
  EncodingWithOffsets encoding =
      tokenizer.encode_with_offsets(rendered.text, EncodeOptions{.add_bos = false, .allow_special = true});
  ChatEncoding result;
  result.assistant_mask = assistant_tokens_mask(rendered.text, encoding, rendered.generation_spans);
  result.ids = std::move(encoding.ids);
  return result;
}

}  // namespace tt
