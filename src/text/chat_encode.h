// Tokenizing a rendered chat with the assistant-token mask, as transformers'
// apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
// computes it: the rendered text is encoded with add_special_tokens=False (special tokens written in
// the template, such as <|start_header_id|>, are recognised), and for each {% generation %} span
// [start, end) every token from char_to_token(start) to char_to_token(end - 1) is marked 1.
//
//   ChatEncoding enc = encode_chat(tokenizer, chat_template, messages, /*add_generation_prompt=*/false);
//   // enc.ids[i] is an assistant token (trained on with assistant_only_loss) iff enc.assistant_mask[i]
#pragma once
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace tt {

struct ChatEncoding {
  std::vector<int32_t> ids;
  std::vector<uint8_t> assistant_mask;  // same length as ids; 1 = inside a generation block
};

// Renders `messages` (see ChatTemplate::render) and encodes the text without adding BOS (the
// template writes it) as transformers does.
ChatEncoding encode_chat(const Tokenizer& tokenizer, const ChatTemplate& chat_template, const nlohmann::ordered_json& messages,
                         bool add_generation_prompt,
                         const nlohmann::ordered_json& extra = nlohmann::ordered_json::object());

// HF's mask rule on an encoding of `text`, for byte spans [begin, end) of `text` (the generation
// spans). Token offsets are taken as HF's byte-level offsets are: widened to whole UTF-8
// characters, and char_to_token(c) is the first token whose range holds character c. Quirks kept
// from transformers: a span whose first character is in no token stops the scan (later spans are
// ignored); when the last character's token is index 0 or none, the span runs to the end of the
// ids. One case is not copied: an empty span at position 0 (transformers raises there) marks
// nothing.
std::vector<uint8_t> assistant_tokens_mask(std::string_view text, const EncodingWithOffsets& encoding,
                                           const std::vector<std::pair<size_t, size_t>>& spans);

}  // namespace tt
