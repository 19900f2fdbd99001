#include "eval/task_run.h"

namespace tt::eval {

std::string context_text(const infer::Session* session, const Prompt& p, bool apply_chat, bool* chat_used) {
  const bool chat = (apply_chat || p.chat_native) && session && session->chat_template;
  if (chat_used) *chat_used = chat;
  if (!chat) return p.text;
  return session->chat_template->render(p.messages, /*add_generation_prompt=*/true).text;
}

}  // namespace tt::eval
