// `tinythink chat-template`: renders a conversation through a tokenizer's chat template exactly as
// transformers' apply_chat_template(tokenize=False) would, and writes the text to stdout as is.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "text/chat_template.h"

namespace tt::cli {

namespace {

struct ChatTemplateOptions {
  std::string tokenizer_config;
  std::string messages;
  bool add_generation_prompt = false;
};

nlohmann::ordered_json read_messages(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::ordered_json messages;
  try {
    messages = nlohmann::ordered_json::parse(buffer.str());
  } catch (const nlohmann::json::exception& e) {
    // nlohmann's message is one line ("parse error at line 1, column 3: ...").
    fail("{}: malformed messages JSON: {}", path, e.what());
  }
  if (!messages.is_array()) fail("{}: messages must be a JSON list of {{role, content}} objects", path);
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      fail("{}: message {} is not an object with a string \"role\"", path, i);
  }
  return messages;
}

void run(const ChatTemplateOptions& o) {
  ChatTemplate chat = ChatTemplate::from_tokenizer_config(o.tokenizer_config);
  RenderedChat rendered = chat.render(read_messages(o.messages), o.add_generation_prompt);
  const std::string& text = rendered.text;
  if (!text.empty() && std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) fail("cannot write to stdout");
  std::fflush(stdout);
}

}  // namespace

void register_chat_template(CLI::App& app) {
  auto options = std::make_shared<ChatTemplateOptions>();
  CLI::App* cmd = app.add_subcommand("chat-template", "render messages through a tokenizer's chat template (as transformers does)");
  cmd->add_option("--tokenizer-config", options->tokenizer_config, "tokenizer_config.json, or a model directory holding it")
      ->required();
  cmd->add_option("--messages", options->messages, "JSON file: a list of {role, content} messages")->required();
  cmd->add_flag("--add-generation-prompt", options->add_generation_prompt, "end with the assistant turn header");
  cmd->callback([options] { run(*options); });
}

}  // namespace tt::cli
