// TEMPORARY stand-in for text/chat_encode.h (branch `mask`), same signature, until that branch
// lands. It encodes the text between generation-span boundaries piece by piece, which differs from
// HF when a token would straddle a boundary. Delete this file once text/chat_encode.h is merged.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace tt {

struct ChatEncoding {
  std::vector<int32_t> ids;
  std::vector<uint8_t> assistant_mask;
};

inline ChatEncoding encode_chat(const Tokenizer& tokenizer, const ChatTemplate& chat_template,
                                const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) {
  RenderedChat r = chat_template.render(messages, add_generation_prompt, extra);
  ChatEncoding enc;
  size_t pos = 0;
  auto piece = [&](size_t end, uint8_t mark) {
    if (end <= pos) return;
    size_t before = enc.ids.size();
    tokenizer.encode_into(std::string_view(r.text).substr(pos, end - pos), {}, enc.ids);
    enc.assistant_mask.resize(enc.ids.size(), 0);
    for (size_t i = before; i < enc.ids.size(); ++i) enc.assistant_mask[i] = mark;
    pos = end;
  };
  for (auto [b, e] : r.generation_spans) {
    piece(b, 0);
    piece(e, 1);
  }
  piece(r.text.size(), 0);
  return enc;
}

}  // namespace tt
