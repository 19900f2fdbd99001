// Chat templates as transformers' apply_chat_template renders them: a tokenizer's Jinja
// chat_template with messages, add_generation_prompt, tools/documents (None unless given), the
// special tokens, and extra keyword arguments. The {% generation %} spans give the assistant mask
// used by assistant_only_loss.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/jinja.h"

namespace tt {

struct RenderedChat {
  std::string text;
  // Byte ranges [begin, end) of `text` rendered inside {% generation %} blocks.
  std::vector<std::pair<size_t, size_t>> generation_spans;
};

class ChatTemplate {
 public:
  // `path_or_model_dir`: a tokenizer_config.json, or a directory holding one. The template comes
  // from chat_template.jinja beside it when present (newer transformers save it there and prefer
  // it), else from the config's "chat_template" (a string, or a list of {name, template} from
  // which "default" is used).
  static ChatTemplate from_tokenizer_config(const std::string& path_or_model_dir);
  // The special tokens of a tokenizer_config.json (or a directory holding one), as transformers'
  // special_tokens_map gives them, whether or not it has a template.
  static nlohmann::ordered_json special_tokens_of(const std::string& path_or_model_dir);

  ChatTemplate(std::string source, std::string bos_token, std::string eos_token, std::string name = "<chat_template>");
  // `special_tokens`: transformers' special_tokens_map ({"bos_token": "...", ...}).
  static ChatTemplate with_special_tokens(std::string source, nlohmann::ordered_json special_tokens,
                                          std::string name = "<chat_template>");

  // `messages`: a JSON list of {role, content, ...}. `extra`: more template variables (e.g. tools,
  // enable_thinking, date_string); they override the special tokens, as kwargs do in transformers.
  RenderedChat render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                      const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;

  const std::string& source() const { return source_; }
  const nlohmann::ordered_json& special_tokens() const { return special_tokens_; }

 private:
  ChatTemplate(std::string source, nlohmann::ordered_json special_tokens, std::string name, int /*private tag*/);

  std::string source_;
  nlohmann::ordered_json special_tokens_;
  jinja::Template template_;
};

}  // namespace tt
