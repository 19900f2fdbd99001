#include "train/preference.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/prepare.h"
#include "io/file.h"
#include "io/hub.h"
#include "io/jsonl.h"
#include "io/parquet.h"

namespace tt {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxBadLineMessages = 20;

bool is_message_list(const nlohmann::ordered_json& v) {
  if (!v.is_array()) return false;
  for (const auto& m : v)
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content")) return false;
  return true;
}

std::string common_prefix(const std::string& a, const std::string& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return a.substr(0, n);
}

std::string tokenizer_dir(const std::string& tokenizer) {
  if (fs::is_directory(tokenizer)) return tokenizer;
  fs::path parent = fs::path(tokenizer).parent_path();
  return parent.empty() ? "." : parent.string();
}

// bos/eos for a template given as a file: tokenizer_config.json's when present, else the tokenizer's.
ChatTemplate load_template(const PreferenceOptions& o, const Tokenizer& tok) {
  std::string dir = tokenizer_dir(o.tokenizer);
  const std::string config_path = dir + "/tokenizer_config.json";
  if (o.chat_template.empty()) {
    if (!file_exists(config_path))
      fail("{}: no tokenizer_config.json to take the chat template from; set dataset.chat_template", dir);
    return ChatTemplate::from_tokenizer_config(dir);
  }
  nlohmann::ordered_json special = nlohmann::ordered_json::object();
  if (tok.bos_id() >= 0) special["bos_token"] = tok.id_to_token(tok.bos_id());
  if (tok.eos_id() >= 0) special["eos_token"] = tok.id_to_token(tok.eos_id());
  if (file_exists(config_path)) {
    nlohmann::json config = read_json_file(config_path);
    for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
      if (!config.is_object() || !config.contains(key)) continue;
      const auto& v = config[key];
      if (v.is_string()) special[key] = v.get<std::string>();
      else if (v.is_object() && v.contains("content") && v["content"].is_string())
        special[key] = v["content"].get<std::string>();
    }
  }
  return ChatTemplate::with_special_tokens(read_file(o.chat_template), special, o.chat_template);
}

std::vector<int32_t> read_ids(const nlohmann::json& row, const char* key) {
  if (!row.contains(key) || !row[key].is_array()) fail("expected a list '{}'", key);
  std::vector<int32_t> ids;
  for (const auto& t : row[key]) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX)
      fail("'{}' holds a non-token value", key);
    ids.push_back(t.get<int32_t>());
  }
  return ids;
}

}  // namespace

std::string PreferenceSummary::to_text() const {
  std::string s = fmt::format("preference data: {} rows read, {} pairs kept ({} tokens)", rows_read, pairs_kept, tokens);
  auto reason = [&](int64_t n, const char* what) {
    if (n > 0) s += fmt::format("\n  dropped {:>7}  {}", n, what);
  };
  reason(dropped_prompt_too_long, "prompt longer than its budget");
  reason(dropped_budget, "not sampled into the token budget");
  reason(bad_lines, "malformed lines");
  if (identical_pairs > 0) s += fmt::format("\n  kept    {:>7}  with chosen == rejected (as TRL)", identical_pairs);
  if (empty_completions > 0) s += fmt::format("\n  kept    {:>7}  with an empty completion (as TRL)", empty_completions);
  if (prompts_truncated > 0) s += fmt::format("\n  kept    {:>7}  with the prompt truncated from the left", prompts_truncated);
  if (completions_truncated > 0) s += fmt::format("\n  kept    {:>7}  with a completion truncated", completions_truncated);
  for (const auto& m : bad_line_messages) s += "\n  " + m;
  return s;
}

// (tokenizer_ is declared, hence initialised, before template_.)
PreferenceTokenizer::PreferenceTokenizer(const PreferenceOptions& options)
    : tokenizer_(Tokenizer::load(options.tokenizer)), template_(load_template(options, tokenizer_)), options_(options) {
  init_eos();
}

PreferenceTokenizer::PreferenceTokenizer(Tokenizer tokenizer, ChatTemplate chat_template, const PreferenceOptions& options)
    : tokenizer_(std::move(tokenizer)), template_(std::move(chat_template)), options_(options) {
  init_eos();
}

void PreferenceTokenizer::init_eos() {
  // The EOS TRL appends to text completions is tokenizer.eos_token_id: the eos_token of
  // tokenizer_config.json (the template's eos_token) when there is one, else the tokenizer's own
  // (<|end_of_text|> for the bare Llama-3 tokenizer.json).
  const auto& special = template_.special_tokens();
  if (special.contains("eos_token") && special["eos_token"].is_string())
    eos_id_ = tokenizer_.token_to_id(special["eos_token"].get<std::string>());
  if (eos_id_ < 0) eos_id_ = tokenizer_.eos_id();
  if (eos_id_ < 0) fail("{}: the tokenizer has no EOS token to end completions with", tokenizer_.source());
}

namespace {

// The first code point of s at or after byte i starts at or before this byte (i itself when it is not a
// continuation byte).
size_t code_point_start(const std::string& s, size_t i) {
  while (i > 0 && i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

// TRL's extract_prompt for text: the prefix up to the first character where chosen and rejected
// differ (moving a space before it into the completions); when neither differs before the shorter
// ends, up to its last character. Python indexes characters: the cut is at a code point boundary.
PairTexts extract_text_prompt(const std::string& chosen, const std::string& rejected) {
  size_t idx = 0;
  const size_t n = std::min(chosen.size(), rejected.size());
  while (idx < n && chosen[idx] == rejected[idx]) ++idx;
  if (idx < n) {
    idx = code_point_start(chosen, idx);
    if (idx > 0 && chosen[idx - 1] == ' ') --idx;
  } else {
    // no character differs: Python's loop ends at the shorter string's last character
    const std::string& shorter = chosen.size() <= rejected.size() ? chosen : rejected;
    idx = shorter.empty() ? 0 : code_point_start(shorter, shorter.size() - 1);
  }
  return {chosen.substr(0, idx), chosen.substr(idx), rejected.substr(idx), false};
}

}  // namespace

PairTexts PreferenceTokenizer::texts(const nlohmann::ordered_json& row) const {
  if (!row.is_object()) fail("expected a JSON object");
  if (!row.contains("chosen") || !row.contains("rejected")) fail("expected 'chosen' and 'rejected'");
  const auto& chosen = row["chosen"];
  const auto& rejected = row["rejected"];
  // TRL's maybe_extract_prompt: a prompt of the other kind than the completions (text next to
  // messages) is ignored and the shared prompt extracted from them.
  const bool has_prompt = row.contains("prompt");
  if (chosen.is_string() && rejected.is_string()) {
    if (has_prompt && row["prompt"].is_string())
      return {row["prompt"].get<std::string>(), chosen.get<std::string>(), rejected.get<std::string>(), false};
    return extract_text_prompt(chosen.get<std::string>(), rejected.get<std::string>());
  }
  if (!is_message_list(chosen) || !is_message_list(rejected))
    fail("'chosen' and 'rejected' must both be text or both lists of {{role, content}} messages");
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  if (row.contains("chat_template_kwargs")) {  // TRL passes them to every render of the row
    if (!row["chat_template_kwargs"].is_object()) fail("'chat_template_kwargs' must be an object");
    extra = row["chat_template_kwargs"];
  }
  nlohmann::ordered_json prompt, chosen_tail, rejected_tail;
  if (has_prompt && is_message_list(row["prompt"])) {
    if (row["prompt"].empty()) fail("'prompt' must be a non-empty list of messages");
    prompt = row["prompt"];
    chosen_tail = chosen;
    rejected_tail = rejected;
  } else {
    if (has_prompt && !row["prompt"].is_string()) fail("'prompt' must be text or a list of messages");
    // TRL's extract_prompt: the index of the first differing message; if none differs before the
    // shorter list ends, the last index of the shorter list (so the final message stays a completion).
    size_t n = std::min(chosen.size(), rejected.size());
    if (n == 0) fail("'chosen' and 'rejected' must not be empty");
    size_t idx = n - 1;
    for (size_t i = 0; i < n; ++i)
      if (chosen[i] != rejected[i]) {
        idx = i;
        break;
      }
    prompt = nlohmann::ordered_json::array();
    chosen_tail = nlohmann::ordered_json::array();
    rejected_tail = nlohmann::ordered_json::array();
    for (size_t i = 0; i < chosen.size(); ++i) (i < idx ? prompt : chosen_tail).push_back(chosen[i]);
    for (size_t i = idx; i < rejected.size(); ++i) rejected_tail.push_back(rejected[i]);
    if (prompt.empty()) fail("'chosen' and 'rejected' share no prompt messages");
  }
  // TRL's apply_chat_template: a prompt ending with a user or tool message gets the generation
  // prompt; one ending with an assistant message is continued (continue_final_message: the render
  // cut after that message's content, as transformers cuts it); any other role is an error.
  const std::string last_role = prompt.back().value("role", "");
  std::string prompt_text;
  if (last_role == "user" || last_role == "tool") {
    prompt_text = template_.render(prompt, /*add_generation_prompt=*/true, extra).text;
  } else if (last_role == "assistant") {
    prompt_text = template_.render(prompt, /*add_generation_prompt=*/false, extra).text;
    const auto& content = prompt.back()["content"];
    if (!content.is_string()) fail("the prompt's final assistant message must have text content to be continued");
    std::string final_message = content.get<std::string>();
    size_t at = prompt_text.rfind(final_message);
    if (at == std::string::npos) {  // templates that trim messages: transformers retries stripped
      const size_t first = final_message.find_first_not_of(" \t\n\r\f\v");
      final_message = first == std::string::npos
                          ? std::string()
                          : final_message.substr(first, final_message.find_last_not_of(" \t\n\r\f\v") - first + 1);
      at = prompt_text.rfind(final_message);
    }
    if (at == std::string::npos)
      fail("the chat template does not render the prompt's final assistant message, so it cannot be continued");
    prompt_text.resize(at + final_message.size());
  } else {
    fail("invalid role in the prompt's last message: '{}' (TRL takes user, tool or assistant)", last_role);
  }
  auto with = [&](const nlohmann::ordered_json& tail) {
    nlohmann::ordered_json all = prompt;
    for (const auto& m : tail) all.push_back(m);
    return template_.render(all, /*add_generation_prompt=*/false, extra).text;
  };
  std::string full_chosen = with(chosen_tail), full_rejected = with(rejected_tail);
  // TRL takes the common prefix of the prompt with each rendered conversation in turn, cutting the
  // chosen one at the first and the rejected one at the second (the chosen is not cut again).
  PairTexts out;
  out.prompt = common_prefix(prompt_text, full_chosen);
  out.chosen = full_chosen.substr(out.prompt.size());
  out.prompt = common_prefix(out.prompt, full_rejected);
  out.rejected = full_rejected.substr(out.prompt.size());
  return out;
}

TokenizedPair PreferenceTokenizer::tokenize(const nlohmann::ordered_json& row) const {
  PairTexts t = texts(row);
  PreferencePair pair;
  pair.prompt = tokenizer_.encode(t.prompt, /*add_bos=*/false);
  pair.chosen = tokenizer_.encode(t.chosen, false);
  pair.rejected = tokenizer_.encode(t.rejected, false);
  // TRL's tokenize_row (0.27.2 and later): a text completion gets EOS appended, an empty one too; a
  // conversational one ends as the chat template closes the assistant turn (TRL 0.27.1 and earlier
  // appended EOS there too, which TRL fixed as a bug: "<|eot_id|>\n<|end_of_text|>" for the study).
  if (!t.conversational) {
    pair.chosen.push_back(eos_id_);
    pair.rejected.push_back(eos_id_);
  }
  return finish_pair(std::move(pair), options_, eos_id_);
}

TruncationMode parse_truncation_mode(const std::string& text, const std::string& where) {
  if (text == "keep_end") return TruncationMode::KeepEnd;
  if (text == "keep_start") return TruncationMode::KeepStart;
  fail("{}: expected keep_end or keep_start, got '{}'", where, text);
}

namespace {

// One sequence, prompt (after its first *prompt_skip tokens) + completion, cut to max_length tokens
// as TRL's concatenated_forward does. Returns {prompt cut, completion cut}.
std::pair<bool, bool> fit_sequence(std::vector<int32_t>& prompt, int64_t& prompt_skip, std::vector<int32_t>& completion,
                                   int64_t max_length, TruncationMode mode) {
  const int64_t prompt_len = static_cast<int64_t>(prompt.size()) - prompt_skip;
  const int64_t completion_len = static_cast<int64_t>(completion.size());
  const int64_t excess = prompt_len + completion_len - max_length;
  if (excess <= 0) return {false, false};
  if (mode == TruncationMode::KeepStart) {  // the first max_length tokens (the prompt is shared: cut once)
    if (prompt_len > max_length) prompt.resize(static_cast<size_t>(prompt_skip + max_length));
    completion.resize(static_cast<size_t>(std::max<int64_t>(0, max_length - std::min(prompt_len, max_length))));
    return {prompt_len > max_length, true};
  }
  // keep_end: the last max_length tokens - the prompt's start goes first, then the completion's
  const int64_t from_prompt = std::min(excess, prompt_len);
  prompt_skip += from_prompt;
  const int64_t from_completion = excess - from_prompt;
  if (from_completion > 0) completion.erase(completion.begin(), completion.begin() + from_completion);
  return {from_prompt > 0, from_completion > 0};
}

}  // namespace

TokenizedPair finish_pair(PreferencePair pair, const PreferenceOptions& o, int32_t eos_id) {
  TokenizedPair out;
  auto empty = [&](const std::vector<int32_t>& c) { return c.empty() || (c.size() == 1 && c[0] == eos_id); };
  out.identical = pair.chosen == pair.rejected;
  out.empty_completion = empty(pair.chosen) || empty(pair.rejected);
  const int64_t prompt_len = static_cast<int64_t>(pair.prompt.size());
  if (o.max_prompt_length > 0 && prompt_len > o.max_prompt_length) {
    if (o.drop_long_prompts) {
      out.issue = PairIssue::PromptTooLong;
      out.pair = std::move(pair);
      return out;
    }
    pair.prompt.erase(pair.prompt.begin(), pair.prompt.end() - o.max_prompt_length);
    out.prompt_truncated = true;
  }
  if (o.max_completion_length > 0)
    for (auto* c : {&pair.chosen, &pair.rejected})
      if (static_cast<int64_t>(c->size()) > o.max_completion_length) {
        c->resize(static_cast<size_t>(o.max_completion_length));
        out.completion_truncated = true;
      }
  if (o.max_length > 0)
    for (bool chosen_side : {true, false}) {
      auto [prompt_cut, completion_cut] =
          fit_sequence(pair.prompt, chosen_side ? pair.chosen_prompt_skip : pair.rejected_prompt_skip,
                       chosen_side ? pair.chosen : pair.rejected, o.max_length, o.truncation_mode);
      out.prompt_truncated |= prompt_cut;
      out.completion_truncated |= completion_cut;
    }
  out.pair = std::move(pair);
  return out;
}

PreferenceData load_preference_data(const std::string& path, const PreferenceOptions& options) {
  std::vector<std::pair<int64_t, std::string>> lines;
  for (const std::string& file : dataset_files(path, options.dataset_config, options.dataset_split)) {
    if (is_parquet_path(file)) {  // rows as JSON text, like JSONL lines
      ParquetFile(file).read_rows({}, [&](int64_t n, const nlohmann::json& row) {
        lines.emplace_back(n, row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      });
      continue;
    }
    std::ifstream in(file);
    if (!in) fail("{}: cannot open", file);
    std::string line;
    for (int64_t n = 1; std::getline(in, line); ++n)
      if (line.find_first_not_of(" \t\r") != std::string::npos) lines.emplace_back(n, line);
  }
  if (lines.empty()) fail("{}: no preference pairs", path);
  const bool pretokenized = [&] {
    if (!json_nesting_error(lines[0].second).empty()) return false;
    auto first = nlohmann::json::parse(lines[0].second, nullptr, false);
    return first.is_object() && first.contains("prompt_ids");
  }();
  std::unique_ptr<PreferenceTokenizer> tokenizer;
  if (!pretokenized) tokenizer = std::make_unique<PreferenceTokenizer>(options);
  const int32_t eos = tokenizer ? tokenizer->eos_id() : -1;

  PreferenceData data;
  PreferenceSummary& s = data.summary;
  std::vector<std::string> sources;
  for (const auto& [number, text] : lines) {
    ++s.rows_read;
    TokenizedPair t;
    std::string source = "unknown";
    try {
      check_json_nesting(text, "the line");
      auto row = nlohmann::ordered_json::parse(text);
      if (pretokenized) {
        if (!row.is_object()) fail("expected a JSON object");
        PreferencePair pair{read_ids(row, "prompt_ids"), read_ids(row, "chosen_ids"), read_ids(row, "rejected_ids")};
        t = finish_pair(std::move(pair), options, eos);
      } else {
        t = tokenizer->tokenize(row);
      }
      if (row.is_object() && row.contains("dataset_source") && row["dataset_source"].is_string())
        source = row["dataset_source"].get<std::string>();
    } catch (const std::exception& e) {  // tt::Error and JSON parse errors alike
      if (!options.skip_bad_lines) fail("{}:{}: {} (dataset.on_error: skip drops such lines)", path, number, e.what());
      ++s.bad_lines;
      if (s.bad_line_messages.size() < kMaxBadLineMessages)
        s.bad_line_messages.push_back(fmt::format("{}:{}: {}", path, number, e.what()));
      continue;
    }
    switch (t.issue) {
      case PairIssue::PromptTooLong: ++s.dropped_prompt_too_long; continue;
      case PairIssue::None: break;
    }
    s.identical_pairs += t.identical;
    s.empty_completions += t.empty_completion;
    s.prompts_truncated += t.prompt_truncated;
    s.completions_truncated += t.completion_truncated;
    data.pairs.push_back(std::move(t.pair));
    sources.push_back(source);
  }
  if (s.bad_lines == s.rows_read) fail("{}: every line is malformed; the first: {}", path, s.bad_line_messages.at(0));
  auto tokens_of = [](const PreferencePair& p) {
    return static_cast<int64_t>(p.prompt_of(true).size() + p.chosen.size() + p.prompt_of(false).size() + p.rejected.size());
  };
  if (options.token_budget > 0) {
    std::vector<int64_t> lengths;
    for (const auto& p : data.pairs) lengths.push_back(tokens_of(p));
    std::vector<uint8_t> keep = sample_to_budget(lengths, sources, options.token_budget, options.seed);
    std::vector<PreferencePair> kept;
    for (size_t i = 0; i < data.pairs.size(); ++i)
      if (keep[i]) kept.push_back(std::move(data.pairs[i]));
      else ++s.dropped_budget;
    data.pairs = std::move(kept);
  }
  s.pairs_kept = static_cast<int64_t>(data.pairs.size());
  for (const auto& p : data.pairs) s.tokens += tokens_of(p);
  return data;
}

}  // namespace tt
