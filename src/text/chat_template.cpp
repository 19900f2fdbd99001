#include "text/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/jsonl.h"

namespace tt {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A special token in tokenizer_config.json is a string or an AddedToken object {"content": ...}.
std::optional<std::string> token_text(const nlohmann::ordered_json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) return value["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

ChatTemplate::ChatTemplate(std::string source, std::string bos_token, std::string eos_token, std::string name)
    : ChatTemplate(std::move(source), nlohmann::ordered_json{{"bos_token", std::move(bos_token)}, {"eos_token", std::move(eos_token)}},
                   std::move(name), 0) {}

ChatTemplate ChatTemplate::with_special_tokens(std::string source, nlohmann::ordered_json special_tokens, std::string name) {
  return ChatTemplate(std::move(source), std::move(special_tokens), std::move(name), 0);
}

ChatTemplate::ChatTemplate(std::string source, nlohmann::ordered_json special_tokens, std::string name, int)
    : source_(std::move(source)), special_tokens_(std::move(special_tokens)), template_(source_, std::move(name)) {
  if (!special_tokens_.is_object()) fail("chat template: special tokens must be a JSON object");
}

namespace {

std::filesystem::path tokenizer_config_path(const std::string& path_or_model_dir) {
  std::filesystem::path config_path = path_or_model_dir;
  if (std::filesystem::is_directory(config_path)) config_path /= "tokenizer_config.json";
  return config_path;
}

nlohmann::ordered_json read_tokenizer_config(const std::filesystem::path& config_path) {
  std::string text = read_text(config_path);
  nlohmann::ordered_json config;
  try {
    if (std::string why = json_nesting_error(text); !why.empty()) fail("{}: {}", config_path.string(), why);
    config = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::ordered_json::exception& e) {
    fail("{}: invalid JSON: {}", config_path.string(), e.what());
  }
  if (!config.is_object()) fail("{}: expected a JSON object", config_path.string());
  return config;
}

// transformers passes special_tokens_map: the attributes that are set, as plain strings.
nlohmann::ordered_json special_tokens_map(const nlohmann::ordered_json& config) {
  nlohmann::ordered_json special = nlohmann::ordered_json::object();
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    if (auto it = config.find(key); it != config.end())
      if (auto token = token_text(*it)) special[key] = *token;
  }
  if (auto it = config.find("additional_special_tokens"); it != config.end() && it->is_array() && !it->empty()) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& t : *it)
      if (auto token = token_text(t)) list.push_back(*token);
    special["additional_special_tokens"] = list;
  }
  return special;
}

}  // namespace

nlohmann::ordered_json ChatTemplate::special_tokens_of(const std::string& path_or_model_dir) {
  return special_tokens_map(read_tokenizer_config(tokenizer_config_path(path_or_model_dir)));
}

ChatTemplate ChatTemplate::from_tokenizer_config(const std::string& path_or_model_dir) {
  namespace fs = std::filesystem;
  const fs::path config_path = tokenizer_config_path(path_or_model_dir);
  const nlohmann::ordered_json config = read_tokenizer_config(config_path);

  std::string source, name;
  fs::path jinja_file = config_path.parent_path() / "chat_template.jinja";
  if (fs::exists(jinja_file)) {
    source = read_text(jinja_file);
    name = jinja_file.string();
  } else {
    const auto it = config.find("chat_template");
    if (it == config.end() || it->is_null()) fail("{}: no chat_template", config_path.string());
    name = config_path.string();
    if (it->is_string()) {
      source = it->get<std::string>();
    } else if (it->is_array()) {
      for (const auto& entry : *it)
        if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") && entry["template"].is_string())
          source = entry["template"].get<std::string>();
      if (source.empty()) fail("{}: chat_template list has no \"default\" template", config_path.string());
    } else {
      fail("{}: chat_template must be a string or a list of {{name, template}}", config_path.string());
    }
  }

  return ChatTemplate(std::move(source), special_tokens_map(config), std::move(name), 0);
}

RenderedChat ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt, const nlohmann::ordered_json& extra) const {
  if (!messages.is_array()) fail("chat template: messages must be a JSON list");
  if (!extra.is_null() && !extra.is_object()) fail("chat template: extra variables must be a JSON object");
  // The kwargs of transformers' compiled_template.render(messages=..., tools=..., documents=...,
  // add_generation_prompt=..., **special_tokens_map, **kwargs): tools and documents are None.
  nlohmann::ordered_json variables = special_tokens_;
  variables["messages"] = messages;
  variables["tools"] = nullptr;
  variables["documents"] = nullptr;
  variables["add_generation_prompt"] = add_generation_prompt;
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) variables[it.key()] = it.value();
  jinja::RenderResult result = template_.render(variables);
  return RenderedChat{std::move(result.text), std::move(result.generation_spans)};
}

}  // namespace tt
