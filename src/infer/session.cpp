#include "infer/session.h"

#include <algorithm>

#include "core/error.h"
#include "io/file.h"
#include "io/hub.h"

namespace tt::infer {

namespace {

std::optional<Tokenizer> load_tokenizer(const std::string& dir, const Model& model, const SessionOptions& o) {
  if (o.tokenizer == Need::No) return std::nullopt;
  if (!has_tokenizer_files(dir)) {
    if (o.tokenizer == Need::IfPresent) return std::nullopt;
    if (!o.tokenizer_missing_hint.empty())
      fail("{}: no tokenizer files (tokenizer.json or tokenizer.model); {}", dir, o.tokenizer_missing_hint);
  }
  Tokenizer tokenizer = Tokenizer::load(dir);
  if (o.tokenizer_fits_vocab && static_cast<int64_t>(tokenizer.vocab_size()) > model.config.vocab_size)
    fail("{}: the tokenizer has {} tokens but the model's vocabulary is {} ({}: vocab_size)", dir, tokenizer.vocab_size(),
         model.config.vocab_size, dir + "/config.json");
  return tokenizer;
}

// A template file given by the caller keeps the model's special tokens (bos_token, eos_token).
ChatTemplate template_from_file(const std::string& dir, const std::string& file) {
  nlohmann::ordered_json special = nlohmann::ordered_json::object();
  if (file_exists(dir + "/tokenizer_config.json")) special = ChatTemplate::from_tokenizer_config(dir).special_tokens();
  return ChatTemplate::with_special_tokens(read_file(file), special, file);
}

bool has_template_files(const std::string& dir) {
  return file_exists(dir + "/tokenizer_config.json") || file_exists(dir + "/chat_template.jinja");
}

std::optional<ChatTemplate> load_chat_template(const std::string& dir, const SessionOptions& o) {
  if (!o.chat_template_file.empty()) return template_from_file(dir, o.chat_template_file);
  if (o.chat_template == Need::Required) {
    if (!o.chat_template_missing.empty() && !has_template_files(dir)) fail("{}: {}", dir, o.chat_template_missing);
    return ChatTemplate::from_tokenizer_config(dir);
  }
  if (o.chat_template == Need::No || !has_template_files(dir)) return std::nullopt;
  try {
    return ChatTemplate::from_tokenizer_config(dir);
  } catch (const Error&) {
    return std::nullopt;  // not asked for: a broken template is as good as none
  }
}

// The tokenizer's eos_token ends a completion besides the model's EOS ids, as vLLM stops on
// tokenizer.eos_token_id and on generation_config.json's ids (and lm-eval adds it to `until`): after
// SFT with a chat template it is the end-of-turn token (the study's <|eot_id|>). It comes from the
// template's special tokens (a template file keeps the model's), else from tokenizer_config.json.
void add_tokenizer_eos(const Session& s, std::vector<int32_t>& eos) {
  if (!s.tokenizer) return;
  nlohmann::ordered_json special;
  if (s.chat_template) special = s.chat_template->special_tokens();
  else if (file_exists(s.dir + "/tokenizer_config.json")) special = ChatTemplate::special_tokens_of(s.dir);
  if (!special.is_object() || !special.contains("eos_token") || !special["eos_token"].is_string()) return;
  const int32_t id = s.tokenizer->token_to_id(special["eos_token"].get<std::string>());
  if (id >= 0 && id < s.model.config.vocab_size && std::find(eos.begin(), eos.end(), id) == eos.end()) eos.push_back(id);
}

}  // namespace

bool has_tokenizer_files(const std::string& dir) {
  for (const auto& name : tokenizer_file_names())
    if (file_exists(dir + "/" + name)) return true;
  return false;
}

std::unique_ptr<Session> open_session(const std::string& path, const SessionOptions& options) {
  auto s = std::make_unique<Session>();
  s->dir = resolve_model_dir(path);
  s->model = load_model(s->dir);
  s->tokenizer = load_tokenizer(s->dir, s->model, options);
  s->chat_template = load_chat_template(s->dir, options);
  s->eos_ids = load_eos_ids(s->dir, s->model.config);
  add_tokenizer_eos(*s, s->eos_ids);
  s->engine = std::make_unique<Engine>(s->model, EngineOptions{.precision = options.precision, .max_batch = options.max_batch, .cuda_device = options.cuda_device},
                                       s->tokenizer ? &*s->tokenizer : nullptr, s->eos_ids);
  return s;
}

}  // namespace tt::infer
