// `tinythink chat-template`: renders a conversation through a tokenizer's chat template exactly as
// transformers' apply_chat_template(tokenize=False) would, and writes the text to stdout as is.
// With --mask: the token ids and the assistant-token mask (return_assistant_tokens_mask=True).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "io/jsonl.h"
#include "text/chat_encode.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace tt::cli {

namespace {

struct ChatTemplateOptions {
  std::string tokenizer_config;
  std::string messages;
  bool add_generation_prompt = false;
  bool mask = false;
  std::string tokenizer;  // empty: the tokenizer files beside the tokenizer_config.json
};

nlohmann::ordered_json read_messages(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::ordered_json messages;
  check_json_nesting(buffer.str(), path);
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
  nlohmann::ordered_json messages = read_messages(o.messages);
  if (o.mask) {
    std::string tokenizer_path = o.tokenizer;
    if (tokenizer_path.empty()) {
      namespace fs = std::filesystem;
      fs::path config(o.tokenizer_config);
      tokenizer_path = fs::is_directory(config) ? config.string() : config.parent_path().string();
      if (tokenizer_path.empty()) tokenizer_path = ".";
    }
    Tokenizer tokenizer = Tokenizer::load(tokenizer_path);
    ChatEncoding encoding = encode_chat(tokenizer, chat, messages, o.add_generation_prompt);
    std::string out;
    out.reserve(encoding.ids.size() * 9);
    for (size_t i = 0; i < encoding.ids.size(); ++i) {
      if (i) out += ' ';
      out += std::to_string(encoding.ids[i]);
    }
    out += '\n';
    for (size_t i = 0; i < encoding.assistant_mask.size(); ++i) {
      if (i) out += ' ';
      out += encoding.assistant_mask[i] ? '1' : '0';
    }
    out += '\n';
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) fail("cannot write to stdout");
    std::fflush(stdout);
    return;
  }
  RenderedChat rendered = chat.render(messages, o.add_generation_prompt);
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
  cmd->add_flag("--mask", options->mask,
                "tokenize the rendered text (no BOS added; special tokens recognised) and print two lines: "
                "the token ids, then the assistant-token mask (1 = inside {% generation %}, as transformers' "
                "return_assistant_tokens_mask), each space-separated, one value per token");
  cmd->add_option("--tokenizer", options->tokenizer,
                  "with --mask: tokenizer.json, tokenizer.model or a directory holding one "
                  "(default: the directory of the tokenizer_config.json)")
      ->needs("--mask");
  cmd->callback([options] { run(*options); });
}

}  // namespace tt::cli
