#include "eval/task_run.h"

#include "core/error.h"
#include "eval/python_compat.h"

namespace tt::eval {

namespace {

uint32_t last_code_point(std::string_view s) {
  uint32_t last = 0;
  for (size_t i = 0; i < s.size();) last = py::next_code_point(s, i);
  return last;
}

// lm-eval's maybe_delimit (lm_eval/api/utils.py).
std::string maybe_delimit(const std::string& prefix, const std::string& suffix, const std::string& delimiter) {
  if (prefix.empty()) return suffix;
  if (suffix.empty()) return prefix;
  size_t at = 0;
  const bool whitespace_at_join = py::isspace(last_code_point(prefix)) || py::isspace(py::next_code_point(suffix, at));
  return whitespace_at_join ? prefix + suffix : prefix + delimiter + suffix;
}

void check_shape(const Prompt& p) {
  if (p.delimiters.size() != p.messages.size() || p.messages.empty())
    throw Error("prompt: " + std::to_string(p.messages.size()) + " messages and " +
                std::to_string(p.delimiters.size()) + " delimiters (build it with Prompt::add)");
}

}  // namespace

PromptStyle prompt_style(const EvalOptions& options) {
  return {.apply_chat_template = options.apply_chat_template,
          .fewshot_as_multiturn = options.fewshot_as_multiturn.value_or(true),
          .system_instruction = options.system_instruction};
}

Prompt with_system_instruction(const Prompt& p, const std::string& instruction) {
  if (instruction.empty()) return p;
  check_shape(p);
  Prompt out;
  out.fewshot_delimiter = p.fewshot_delimiter;
  out.chat_native = p.chat_native;
  size_t first = 0;
  if (p.messages[0]["role"] == "system") {
    out.add("system", maybe_delimit(instruction, p.messages[0]["content"].get<std::string>(), p.fewshot_delimiter),
            p.delimiters[0]);
    first = 1;
  } else {
    out.add("system", instruction);
  }
  for (size_t i = first; i < p.messages.size(); ++i)
    out.add(p.messages[i]["role"].get<std::string>(), p.messages[i]["content"].get<std::string>(), p.delimiters[i]);
  return out;
}

nlohmann::ordered_json single_turn_messages(const Prompt& p) {
  check_shape(p);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  size_t first = 0;
  if (p.messages[0]["role"] == "system") {
    out.push_back(p.messages[0]);
    first = 1;
  }
  std::string user;
  for (size_t i = first; i < p.messages.size(); ++i) {
    user += p.messages[i]["content"].get<std::string>();
    if (i + 1 < p.messages.size()) user += p.delimiters[i];
  }
  out.push_back({{"role", "user"}, {"content", user}});
  return out;
}

std::string context_text(const infer::Session* session, const Prompt& prompt, const PromptStyle& style,
                         bool* chat_used) {
  const bool chat = (style.apply_chat_template || prompt.chat_native) && session && session->chat_template;
  if (chat_used) *chat_used = chat;
  const Prompt p = with_system_instruction(prompt, style.system_instruction);
  if (!chat) return p.text;
  return session->chat_template
      ->render(style.fewshot_as_multiturn ? p.messages : single_turn_messages(p), /*add_generation_prompt=*/true)
      .text;
}

}  // namespace tt::eval
