#include "infer/request.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "core/error.h"
#include "text/chat_encode.h"

namespace tt::infer {

const std::vector<std::string>& sampling_keys() {
  static const std::vector<std::string> keys = {
      "max_new_tokens", "min_tokens", "temperature", "top_p", "top_k",          "min_p",     "repetition_penalty",
      "presence_penalty", "frequency_penalty", "seed",  "n",     "stop", "stop_token_ids", "ignore_eos", "logprobs",
      "prompt_logprobs", "skip_special_tokens"};
  return keys;
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string normalise_key(const std::string& key) {
  std::string out;
  for (char ch : key)
    if (ch != '_' && ch != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// vLLM SamplingParams fields the engine does not implement: given with their no-op value they are
// accepted (a request written for vLLM often spells out defaults); any other value was silently
// copied to the output, unapplied, and is now an error.
bool is_no_op(const std::string& key, const nlohmann::json& value) {
  if (value.is_null()) return true;
  if (key == "include_stop_str_in_output") return value.is_boolean() && !value.get<bool>();
  // vLLM V1's fast detokenizer (tokenizers' DecodeStream) has no such option: either value decodes alike
  if (key == "spaces_between_special_tokens") return value.is_boolean();
  if (key == "logit_bias" || key == "bad_words" || key == "allowed_token_ids") return value.empty();
  if (key == "best_of") return value.is_number_integer() && value.get<int64_t>() == 1;
  if (key == "detokenize") return value.is_boolean() && value.get<bool>();  // tinythink always returns text
  if (key == "guided_decoding" || key == "structured_outputs" || key == "logits_processors" || key == "extra_args")
    return value.empty();
  return false;
}

// Whether `key` is one of them (an error unless its value is the no-op).
bool check_vllm_only_key(const std::string& where, const std::string& key, const nlohmann::json& value) {
  static const std::set<std::string> vllm_only = {
      "include_stop_str_in_output",
      "spaces_between_special_tokens", "logit_bias", "bad_words", "allowed_token_ids", "truncate_prompt_tokens",
      "best_of", "guided_decoding", "structured_outputs", "detokenize",
      "logits_processors", "output_kind", "extra_args"};
  if (!vllm_only.count(key)) return false;
  if (!is_no_op(key, value))
    fail("{}: '{}' ({}) is a vLLM sampling option that tinythink does not implement; leave it out (known: {})", where,
         key, value.dump(), fmt::join(sampling_keys(), ", "));
  return true;
}

// A key that is not ours but looks like a sampling key (a typo, "top-p", "maxNewTokens") is an
// error; anything else is the caller's own data and is passed through to the output.
void check_unknown_key(const std::string& where, const std::string& key) {
  static const std::set<std::string> known = {"prompt", "ids", "messages", "max_tokens"};  // max_tokens: vLLM's name
  if (known.count(key)) return;
  const auto& keys = sampling_keys();
  if (std::find(keys.begin(), keys.end(), key) != keys.end()) return;  // before the look-alikes: top_k is near top_p
  for (const auto& k : keys) {
    if (normalise_key(k) == normalise_key(key) || (key.size() > 3 && edit_distance(k, key) <= 2) ||
        normalise_key(key) == "maxtokens" || normalise_key(key) == "stopsequences")
      fail("{}: unknown sampling key '{}' (did you mean '{}'? known: {})", where, key,
           normalise_key(key) == "maxtokens" ? "max_new_tokens" : normalise_key(key) == "stopsequences" ? "stop" : k,
           fmt::join(sampling_keys(), ", "));
  }
}

template <typename T>
T get_field(const std::string& where, const nlohmann::json& row, const char* key) {
  try {
    return row.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("{}: '{}' has the wrong type ({})", where, key, row.at(key).dump());
  }
}

// An integer field, exactly: 2.5 or 1e30 (a JSON float), and -1 for an unsigned value or 3e9 for an
// int32, are errors, never truncated or wrapped.
template <typename T>
T get_integer(const std::string& where, const std::string& key, const nlohmann::json& value) {
  if (!value.is_number_integer()) fail("{}: '{}' must be an integer, got {}", where, key, value.dump());
  const bool unsigned_value = value.is_number_unsigned();  // nlohmann: every non-negative integer
  if (unsigned_value ? !std::in_range<T>(value.get<uint64_t>()) : !std::in_range<T>(value.get<int64_t>()))
    fail("{}: '{}' is out of range ({}; expected {} to {})", where, key, value.dump(), std::numeric_limits<T>::min(),
         std::numeric_limits<T>::max());
  return unsigned_value ? static_cast<T>(value.get<uint64_t>()) : static_cast<T>(value.get<int64_t>());
}

template <typename T>
T get_integer(const std::string& where, const nlohmann::json& row, const char* key) {
  return get_integer<T>(where, key, row.at(key));
}

}  // namespace

// A field given a value: vLLM writes null for a field left at its default, and so may a request here.
static bool given(const nlohmann::json& row, const char* key) { return row.contains(key) && !row[key].is_null(); }

SamplingParams sampling_params_from_row(const std::string& where, const nlohmann::json& row, SamplingParams p) {
  for (const auto& [key, value] : row.items()) {
    if (!check_vllm_only_key(where, key, value)) check_unknown_key(where, key);
  }
  if (given(row, "max_new_tokens")) p.max_new_tokens = get_integer<int64_t>(where, row, "max_new_tokens");
  if (given(row, "max_tokens")) {  // vLLM's SamplingParams name for it
    const int64_t n = get_integer<int64_t>(where, row, "max_tokens");
    if (given(row, "max_new_tokens") && n != p.max_new_tokens)
      fail("{}: 'max_tokens' ({}) and 'max_new_tokens' ({}) disagree", where, n, p.max_new_tokens);
    p.max_new_tokens = n;
  }
  if (given(row, "temperature")) p.temperature = get_field<float>(where, row, "temperature");
  if (given(row, "top_p")) p.top_p = get_field<float>(where, row, "top_p");
  if (given(row, "top_k")) {
    p.top_k = get_integer<int64_t>(where, row, "top_k");
    if (p.top_k == -1) p.top_k = 0;  // off, as vLLM reads it
  }
  if (given(row, "min_p")) p.min_p = get_field<float>(where, row, "min_p");
  if (given(row, "repetition_penalty")) p.repetition_penalty = get_field<float>(where, row, "repetition_penalty");
  if (given(row, "presence_penalty")) p.presence_penalty = get_field<float>(where, row, "presence_penalty");
  if (given(row, "frequency_penalty")) p.frequency_penalty = get_field<float>(where, row, "frequency_penalty");
  if (given(row, "min_tokens")) p.min_tokens = get_integer<int64_t>(where, row, "min_tokens");
  if (given(row, "seed")) p.seed = get_integer<uint64_t>(where, row, "seed");
  if (given(row, "n")) p.n = get_integer<int64_t>(where, row, "n");
  if (given(row, "ignore_eos")) p.ignore_eos = get_field<bool>(where, row, "ignore_eos");
  if (given(row, "logprobs")) p.logprobs = get_integer<int64_t>(where, row, "logprobs");
  if (given(row, "prompt_logprobs")) p.prompt_logprobs = get_integer<int64_t>(where, row, "prompt_logprobs");
  if (given(row, "skip_special_tokens")) p.skip_special_tokens = get_field<bool>(where, row, "skip_special_tokens");
  if (given(row, "stop")) {
    if (row["stop"].is_string()) p.stop = {row["stop"].get<std::string>()};
    else p.stop = get_field<std::vector<std::string>>(where, row, "stop");
  }
  if (given(row, "stop_token_ids")) {
    const auto& ids = row["stop_token_ids"];
    if (!ids.is_array()) fail("{}: 'stop_token_ids' has the wrong type ({})", where, ids.dump());
    p.stop_token_ids.clear();
    for (const auto& id : ids) p.stop_token_ids.push_back(get_integer<int32_t>(where, "stop_token_ids", id));
  }
  try {
    validate(p);
  } catch (const Error& e) {
    fail("{}: {}", where, e.what());
  }
  return p;
}

std::vector<int32_t> prompt_ids_from_row(const std::string& where, const nlohmann::json& row, bool chat,
                                         const Session& session) {
  const int64_t vocab = session.model.config.vocab_size;
  // one prompt per line: with two, one was dropped without a word
  const int given = static_cast<int>(row.contains("ids")) + static_cast<int>(row.contains("prompt")) +
                    static_cast<int>(row.contains("messages"));
  if (given > 1) fail("{}: give one of 'prompt', 'ids' or 'messages', not several", where);
  if (row.contains("ids")) {
    const auto& ids = row["ids"];
    if (!ids.is_array()) fail("{}: 'ids' is not a list", where);
    std::vector<int32_t> out;
    for (const auto& id : ids) {
      if (!id.is_number_integer()) fail("{}: 'ids' holds a value that is not an integer", where);
      const int64_t v = id.get<int64_t>();
      if (v < 0 || v >= vocab) fail("{}: token id {} out of range (vocab size {})", where, v, vocab);
      out.push_back(static_cast<int32_t>(v));
    }
    if (out.empty()) fail("{}: 'ids' is empty", where);
    return out;
  }
  if (!session.tokenizer) fail("{}: the model has no tokenizer; give token 'ids' instead", where);
  if (row.contains("messages") || chat) {
    if (!chat) fail("{}: 'messages' needs --chat", where);
    nlohmann::ordered_json messages;
    if (row.contains("messages")) {
      messages = nlohmann::ordered_json::parse(row["messages"].dump());
      if (!messages.is_array() || messages.empty()) fail("{}: 'messages' must be a non-empty list", where);
    } else if (row.contains("prompt") && row["prompt"].is_string()) {
      messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", row["prompt"].get<std::string>()}}});
    } else {
      fail("{}: expected 'messages' (or 'prompt' / 'ids')", where);
    }
    if (!session.chat_template) fail("{}: the model has no chat template (tokenizer_config.json)", where);
    std::vector<int32_t> ids = encode_chat(*session.tokenizer, *session.chat_template, messages, true).ids;
    if (ids.empty()) fail("{}: the chat renders to no tokens", where);
    return ids;
  }
  if (!row.contains("prompt")) fail("{}: expected a field 'prompt' (text) or 'ids' (token ids)", where);
  if (!row["prompt"].is_string()) fail("{}: 'prompt' is not a string", where);
  const std::string text = row["prompt"].get<std::string>();
  if (text.empty()) fail("{}: the prompt is empty", where);
  return session.tokenizer->encode(text, true);
}

}  // namespace tt::infer
