#include "text/ollama_modelfile.h"

#include <set>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/file.h"
#include "text/chat_template.h"

namespace tt {

std::string ollama_llama3_template(const Llama3Layout& l) {
  return "{{- range .Messages }}{{ if eq .Role \"system\" }}" + l.before_system +
         "<|start_header_id|>system<|end_header_id|>\n\n{{ .Content }}<|eot_id|>" + l.after_system +
         "{{ else }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>" + l.between_turns +
         "{{ end }}{{ end }}" + l.before_generation + "<|start_header_id|>assistant<|end_header_id|>\n\n";
}

namespace {

using nlohmann::ordered_json;

const char* kEndOfTurn = "<|eot_id|>";

std::string header_block(const std::string& role, const std::string& content) {
  return "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + content + kEndOfTurn;
}

ordered_json message(const char* role, const char* content) { return {{"role", role}, {"content", content}}; }

// What ollama_llama3_template(layout) renders for `messages`.
std::string go_template_output(const Llama3Layout& layout, const ordered_json& messages) {
  std::string out;
  for (const auto& m : messages) {
    std::string role = m["role"].get<std::string>();
    bool system = role == "system";
    out += (system ? layout.before_system : "") + header_block(role, m["content"].get<std::string>()) +
           (system ? layout.after_system : layout.between_turns);
  }
  return out + layout.before_generation + "<|start_header_id|>assistant<|end_header_id|>\n\n";
}

// The template's text for `messages` without the BOS it starts with (llama.cpp adds BOS itself).
std::string render_without_bos(const ChatTemplate& chat, const ordered_json& messages) {
  std::string text = chat.render(messages, true).text;
  std::string bos = chat.special_tokens().value("bos_token", "");
  if (!bos.empty() && text.starts_with(bos)) text.erase(0, bos.size());
  return text;
}

// The system message the template adds when the conversation has none ("" when it adds none).
std::string default_system_message(const ChatTemplate& chat, const std::string& where) {
  std::string text = render_without_bos(chat, ordered_json::array({message("user", "U")}));
  std::string head = "<|start_header_id|>system<|end_header_id|>\n\n";
  size_t begin = text.find(head);
  if (begin == std::string::npos) return "";
  begin += head.size();
  size_t end = text.find(kEndOfTurn, begin);
  if (end == std::string::npos) fail("{}: chat template's system block has no {}", where, kEndOfTurn);
  return text.substr(begin, end - begin);
}

// Splits a probe rendering at its header blocks: the texts around and between them.
std::vector<std::string> gaps_between_blocks(const std::string& text, const std::vector<std::string>& blocks) {
  std::vector<std::string> gaps;
  size_t at = 0;
  for (const auto& block : blocks) {
    size_t found = text.find(block, at);
    if (found == std::string::npos) return {};
    gaps.push_back(text.substr(at, found - at));
    at = found + block.size();
  }
  gaps.push_back(text.substr(at));
  return gaps;
}

Llama3Layout read_llama3_layout(const ChatTemplate& chat, const std::string& where) {
  ordered_json probe = ordered_json::array(
      {message("system", "S"), message("user", "U"), message("assistant", "A"), message("user", "V")});
  std::string text = render_without_bos(chat, probe);
  std::vector<std::string> blocks;
  for (const auto& m : probe) blocks.push_back(header_block(m["role"].get<std::string>(), m["content"].get<std::string>()));
  blocks.push_back("<|start_header_id|>assistant<|end_header_id|>\n\n");
  std::vector<std::string> gaps = gaps_between_blocks(text, blocks);
  Llama3Layout layout;
  // gaps: [before system, after system, U-A, A-V, V-generation, after generation]
  if (gaps.size() == 6 && gaps[2] == gaps[3] && gaps[4].starts_with(gaps[2]) && gaps[5].empty()) {
    layout = {gaps[0], gaps[1], gaps[2], gaps[4].substr(gaps[2].size())};
    ordered_json no_system = ordered_json::array({message("user", "U")});
    std::string system = default_system_message(chat, where);
    ordered_json with_default = no_system;
    if (!system.empty()) with_default.insert(with_default.begin(), message("system", system.c_str()));
    if (go_template_output(layout, probe) == text &&
        go_template_output(layout, with_default) == render_without_bos(chat, no_system))
      return layout;
  }
  fail("{}: chat template is not a Llama-3 header template (<|start_header_id|>role<|end_header_id|>); "
       "the Ollama export cannot convert it to a Go TEMPLATE", where);
}

std::string quoted(const std::string& text, const std::string& where) {
  if (text.find("\"\"\"") != std::string::npos) fail("{}: text holds \"\"\", which a Modelfile cannot quote", where);
  return "\"\"\"" + text + "\"\"\"";
}

// Token texts of generation_config's eos_token_id (an id or a list) from tokenizer.json's added tokens.
std::vector<std::string> eos_texts(const nlohmann::json& generation, const std::string& model_dir) {
  std::vector<int64_t> ids;
  if (generation.contains("eos_token_id")) {
    const auto& eos = generation["eos_token_id"];
    if (eos.is_number_integer()) ids.push_back(eos.get<int64_t>());
    if (eos.is_array())
      for (const auto& id : eos)
        if (id.is_number_integer()) ids.push_back(id.get<int64_t>());
  }
  std::vector<std::string> texts;
  if (ids.empty()) return texts;
  nlohmann::json tokenizer = read_json_file(model_dir + "/tokenizer.json");
  for (int64_t id : ids)
    for (const auto& added : tokenizer.value("added_tokens", nlohmann::json::array()))
      if (added.value("id", int64_t{-1}) == id) texts.push_back(added.value("content", ""));
  return texts;
}

}  // namespace

std::string ollama_modelfile(const std::string& model_dir, const std::string& gguf_name) {
  std::string where = model_dir + "/tokenizer_config.json";
  ChatTemplate chat = ChatTemplate::from_tokenizer_config(model_dir);
  Llama3Layout layout = read_llama3_layout(chat, where);
  std::string out =
      fmt::format("FROM ./{}\n\nTEMPLATE {}\n", gguf_name, quoted(ollama_llama3_template(layout), where));
  if (std::string system = default_system_message(chat, where); !system.empty())
    out += fmt::format("\nSYSTEM {}\n", quoted(system, where));

  std::string generation_path = model_dir + "/generation_config.json";
  nlohmann::json generation = file_exists(generation_path) ? read_json_file(generation_path) : nlohmann::json::object();
  std::vector<std::string> stops = {kEndOfTurn};
  std::string eos = chat.special_tokens().value("eos_token", "");
  if (!eos.empty()) stops.push_back(eos);
  for (const auto& text : eos_texts(generation, model_dir)) stops.push_back(text);
  out += "\n";
  std::set<std::string> written;
  for (const auto& stop : stops)
    if (written.insert(stop).second) out += fmt::format("PARAMETER stop {}\n", nlohmann::json(stop).dump());
  // generation_config.json key -> Ollama parameter (applied only when do_sample is not false).
  const std::pair<const char*, const char*> sampling[] = {
      {"temperature", "temperature"}, {"top_p", "top_p"}, {"top_k", "top_k"},
      {"min_p", "min_p"}, {"repetition_penalty", "repeat_penalty"}};
  bool greedy = generation.contains("do_sample") && generation["do_sample"].is_boolean() && !generation["do_sample"];
  if (greedy) out += "PARAMETER temperature 0\n";
  for (auto [key, parameter] : sampling) {
    if (greedy && std::string(key) == "temperature") continue;
    if (!generation.contains(key) || generation[key].is_null()) continue;
    if (!generation[key].is_number()) fail("{}: '{}' is not a number", generation_path, key);
    out += fmt::format("PARAMETER {} {}\n", parameter, generation[key].dump());
  }
  return out;
}

}  // namespace tt
