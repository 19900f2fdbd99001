#include "data/prepare.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string_view>

#include <unistd.h>

#include "core/content_hash.h"
#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "io/jsonl.h"
#include "text/chat_encode.h"
#include "data/shard.h"
#include "io/file.h"
#include "io/hub.h"
#include "io/parquet.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace tt {
namespace fs = std::filesystem;

namespace {

// Bump when anything that shapes the output changes (parsing, rendering, sampling, format), so
// stale cache entries are never reused.
constexpr const char* kPrepareRecipe = "tinythink-prepare/2";
constexpr size_t kChunkRows = 2048;  // rows parsed, then encoded in parallel, at a time
constexpr size_t kMaxBadLineMessages = 20;

// Calls take(row number, parse) for every non-blank line of a JSONL file, or every row of a parquet
// file (only the columns of the SFT formats and dataset_source are read); parse() gives the row as JSON.
void for_each_input_row(const std::string& path, const std::string& text_field,
                        const std::function<void(int64_t, const std::function<nlohmann::ordered_json()>&)>& take) {
  if (is_parquet_path(path)) {
    ParquetFile file(path);
    std::vector<std::string> columns;
    for (const auto& name : file.column_names())
      if (name == "messages" || name == "dataset_source" || name == "conversations" || name == "prompt" ||
          name == "completion" || name == text_field)
        columns.push_back(name);
    file.read_rows(columns, [&](int64_t row, const nlohmann::json& object) {
      take(row, [&] { return nlohmann::ordered_json::parse(object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)); });
    });
    return;
  }
  std::string text = read_file(path);
  size_t pos = 0;
  int64_t line = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view content(text.data() + pos, end - pos);
    pos = end + 1;
    ++line;
    if (content.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    take(line, [content] {
      if (std::string why = json_nesting_error(content); !why.empty()) throw Error(why);
      return nlohmann::ordered_json::parse(content);
    });
  }
}

std::string tokenizer_dir(const std::string& tokenizer) {
  if (fs::is_directory(tokenizer)) return tokenizer;
  fs::path parent = fs::path(tokenizer).parent_path();
  return parent.empty() ? "." : parent.string();
}

// bos/eos for a template given with --chat-template: tokenizer_config.json's when present (it may
// name a different eos, e.g. <|eot_id|>), else the tokenizer's own.
nlohmann::ordered_json special_tokens_for(const Tokenizer& tok, const std::string& dir) {
  nlohmann::ordered_json special = nlohmann::ordered_json::object();
  if (tok.bos_id() >= 0) special["bos_token"] = tok.id_to_token(tok.bos_id());
  if (tok.eos_id() >= 0) special["eos_token"] = tok.id_to_token(tok.eos_id());
  std::string config_path = dir + "/tokenizer_config.json";
  if (!file_exists(config_path)) return special;
  nlohmann::json config = read_json_file(config_path);
  for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
    if (!config.is_object() || !config.contains(key)) continue;
    const auto& v = config[key];
    if (v.is_string()) special[key] = v.get<std::string>();
    else if (v.is_object() && v.contains("content") && v["content"].is_string()) special[key] = v["content"].get<std::string>();
  }
  return special;
}

ChatTemplate load_chat_template(const PrepareOptions& o, const Tokenizer& tok) {
  std::string dir = tokenizer_dir(o.tokenizer);
  if (!o.chat_template.empty())
    return ChatTemplate::with_special_tokens(read_file(o.chat_template), special_tokens_for(tok, dir), o.chat_template);
  if (!file_exists(dir + "/tokenizer_config.json"))
    fail("{}: no tokenizer_config.json to take the chat template from; pass --chat-template FILE.jinja", dir);
  return ChatTemplate::from_tokenizer_config(dir);
}

// The template when there is one; conversational rows need it, text rows do not (`why` says what
// was missing, for the first conversational row).
std::optional<ChatTemplate> try_load_chat_template(const PrepareOptions& o, const Tokenizer& tok, std::string& why) {
  try {
    return load_chat_template(o, tok);
  } catch (const Error& e) {
    if (!o.chat_template.empty()) throw;  // a template file the user named must load
    why = e.what();
    return std::nullopt;
  }
}

// What identifies the output: the bytes of every input and of the tokenizer, the template and its
// special tokens, and each option that changes the result. Input paths are not part of it (a moved
// dataset still hits), file names within a directory are (they fix the order).
std::string compute_cache_key(const PrepareOptions& o, const std::vector<std::string>& files, const Tokenizer& tok,
                              const std::optional<ChatTemplate>& chat) {
  ContentKey key(0x243f6a8885a308d3ull, 0x13198a2e03707344ull);  // this cache's seeds: part of its keys
  key.add(kPrepareRecipe);
  key.add(std::to_string(kShardVersion));
  for (const auto& file : files) {
    key.add(fs::path(file).filename().string());
    key.add(hex64(hash_string(read_file(file))));
  }
  key.add(hex64(hash_string(read_file(tok.source()))));
  fs::path beside = fs::path(tok.source()).parent_path() / "special_tokens.json";  // read by tiktoken loading
  key.add(fs::exists(beside) ? read_file(beside.string()) : "");
  key.add(chat ? chat->source() : "(no chat template)");
  key.add(chat ? chat->special_tokens().dump() : special_tokens_for(tok, tokenizer_dir(o.tokenizer)).dump());
  std::vector<std::string> sources = o.sources;
  std::sort(sources.begin(), sources.end());
  key.add(nlohmann::json{{"max_length", o.max_length},
                         {"sources", sources},
                         {"default_source", o.default_source},
                         {"token_budget", o.token_budget},
                         {"seed", o.seed},
                         {"assistant_only_loss", o.assistant_only_loss},
                         {"completion_only_loss", o.completion_only_loss},
                         {"text_field", o.text_field},
                         {"skip_bad_lines", o.skip_bad_lines}}
              .dump());
  return key.hex();
}

// The folder of an output file, created when the file is first written there (`prepare --out
// new/x.ttshard` failed with "cannot create temporary file", and with --cache-dir blamed the cache).
void create_parent_folder(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) create_directories_or_fail(parent.string(), "prepare --out " + path + ":");
}

// Copies a finished shard to `dst` atomically: a hard link when both are on one filesystem (shards
// are never modified in place, so sharing the inode is safe), else a streamed copy.
void publish(const std::string& src, const std::string& dst) {
  if (fs::exists(dst) && fs::equivalent(src, dst)) return;
  create_parent_folder(dst);
  std::string temp = dst + ".link.tmp." + std::to_string(::getpid());
  std::error_code ec;
  fs::remove(temp, ec);
  if (::link(src.c_str(), temp.c_str()) == 0) {
    fs::rename(temp, dst, ec);
    if (!ec) return;
    fs::remove(temp, ec);
  }
  std::string content = read_file(src);
  write_file_atomic(dst, content);
}

std::string_view strip_json_tag(std::string_view what) {
  if (!what.empty() && what[0] == '[') {
    size_t close = what.find("] ");
    if (close != std::string_view::npos) return what.substr(close + 2);
  }
  return what;
}

// TRL SFTTrainer's dataset formats: conversational (messages, or ShareGPT conversations),
// prompt-completion (conversational or text), and language modelling (text).
enum class RowFormat { Messages, PromptCompletionChat, PromptCompletionText, Text };

struct PendingRow {
  uint32_t file = 0;
  int64_t line = 0;
  uint32_t source = 0;
  RowFormat format = RowFormat::Messages;
  nlohmann::ordered_json messages;    // Messages; PromptCompletionChat: the prompt
  nlohmann::ordered_json completion;  // PromptCompletionChat
  std::string prompt_text, text;      // PromptCompletionText: prompt and completion; Text: the text
  std::string error;  // set: the row is bad
};

// A message list: each an object with a known string role and string content; "" if good.
std::string validate_messages(const nlohmann::ordered_json& list, const char* name) {
  if (!list.is_array()) return fmt::format("'{}' is not a list", name);
  if (list.empty()) return fmt::format("'{}' is empty", name);
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& m = list[i];
    if (!m.is_object()) return fmt::format("{} message {} is not an object", name, i);
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return fmt::format("{} message {}: missing string 'role'", name, i);
    const auto& r = role->get_ref<const std::string&>();
    if (r != "system" && r != "user" && r != "assistant" && r != "tool")
      return fmt::format("{} message {}: unknown role '{}' (expected system, user, assistant or tool)", name, i, r);
    auto content = m.find("content");
    if (content == m.end()) return fmt::format("{} message {}: missing 'content'", name, i);
    if (!content->is_string()) return fmt::format("{} message {}: 'content' is not a string", name, i);
  }
  return "";
}

// TRL's maybe_convert_to_chatml: ShareGPT's {"from", "value"} messages become {"role", "content"}
// (human -> user, gpt -> assistant; another "from" is kept as the role).
nlohmann::ordered_json to_chatml(const nlohmann::ordered_json& list) {
  if (!list.is_array()) return list;
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& m : list) {
    if (!m.is_object()) {
      out.push_back(m);
      continue;
    }
    nlohmann::ordered_json message = nlohmann::ordered_json::object();
    for (const auto& [key, value] : m.items()) {
      if (key == "from") {
        const std::string from = value.is_string() ? value.get<std::string>() : "";
        message["role"] = from == "human" ? nlohmann::ordered_json("user")
                          : from == "gpt" ? nlohmann::ordered_json("assistant")
                                          : value;
      } else if (key == "value") {
        message["content"] = value;
      } else {
        message[key] = value;
      }
    }
    out.push_back(std::move(message));
  }
  return out;
}

// One parsed row as one of TRL SFTTrainer's dataset formats, decided by its fields in TRL's order
// (prompt-completion, then messages, then the text field); returns the reason it is bad, or "".
std::string parse_row(nlohmann::ordered_json& row, const std::string& text_field, PendingRow& out) {
  if (!row.is_object()) return "expected a JSON object";
  if (auto s = row.find("dataset_source"); s != row.end() && !s->is_string()) return "'dataset_source' is not a string";
  if (row.contains("prompt") || row.contains("completion")) {
    if (!row.contains("prompt") || !row.contains("completion"))
      return "a prompt-completion row needs both 'prompt' and 'completion'";
    auto& prompt = row["prompt"];
    auto& completion = row["completion"];
    if (prompt.is_string() && completion.is_string()) {
      out.format = RowFormat::PromptCompletionText;
      out.prompt_text = prompt.get<std::string>();
      out.text = completion.get<std::string>();
      return "";
    }
    if (prompt.is_string() || completion.is_string())
      return "'prompt' and 'completion' must both be text or both be message lists";
    if (std::string why = validate_messages(prompt, "prompt"); !why.empty()) return why;
    if (std::string why = validate_messages(completion, "completion"); !why.empty()) return why;
    out.format = RowFormat::PromptCompletionChat;
    out.messages = std::move(prompt);
    out.completion = std::move(completion);
    return "";
  }
  if (row.contains("messages") || row.contains("conversations")) {
    const bool sharegpt = !row.contains("messages");
    nlohmann::ordered_json messages = sharegpt ? to_chatml(row["conversations"]) : std::move(row["messages"]);
    if (std::string why = validate_messages(messages, sharegpt ? "conversations" : "messages"); !why.empty()) return why;
    out.format = RowFormat::Messages;
    out.messages = std::move(messages);
    return "";
  }
  if (auto t = row.find(text_field); t != row.end()) {
    if (!t->is_string()) return fmt::format("'{}' is not a string", text_field);
    out.format = RowFormat::Text;
    out.text = t->get<std::string>();
    return "";
  }
  return fmt::format("expected 'messages', 'conversations', 'prompt' and 'completion', or '{}' (TRL's SFT dataset "
                     "formats)", text_field);
}

// A row's token ids and loss mask as TRL's tokenize_fn and its collator give them:
//   messages            render(messages); loss on the assistant mask with assistant_only_loss, else all
//   prompt-completion   render(prompt + completion), or tokenizer(prompt + completion + eos) for text;
//                       the first len(render(prompt, generation prompt)) / len(tokenizer(prompt)) tokens
//                       get no loss with completion_only_loss (TRL's completion_mask), and with
//                       assistant_only_loss only the assistant mask does
//   text                tokenizer(text + eos), loss on every token
// Text gets the tokenizer's eos_token appended unless it ends with it (TRL's add_eos) and is encoded
// with the tokenizer's special tokens (add_special_tokens=True: Llama-3's <|begin_of_text|>).
struct RowEncoder {
  const Tokenizer& tok;
  const std::optional<ChatTemplate>& chat;
  const std::string& template_missing;
  const std::string& eos_token;
  bool assistant_only_loss, completion_only_loss;

  ChatEncoding render(const nlohmann::ordered_json& messages, bool add_generation_prompt) const {
    if (!chat) fail("conversational rows need a chat template: {}", template_missing);
    try {
      return encode_chat(tok, *chat, messages, add_generation_prompt);
    } catch (const std::exception& e) {
      fail("cannot render with the chat template: {}", e.what());
    }
  }

  std::vector<int32_t> text_ids(const std::string& text) const { return tok.encode(text, {.add_bos = true}); }
  std::string with_eos(std::string text) const {
    if (!eos_token.empty() && !text.ends_with(eos_token)) text += eos_token;
    return text;
  }

  ChatEncoding encode(const PendingRow& r) const {
    if (r.format == RowFormat::Messages) {
      ChatEncoding e = render(r.messages, false);
      if (!assistant_only_loss) std::fill(e.assistant_mask.begin(), e.assistant_mask.end(), 1);
      return e;
    }
    if (r.format == RowFormat::PromptCompletionChat) {
      const size_t prompt_len = render(r.messages, true).ids.size();
      nlohmann::ordered_json all = r.messages;
      for (const auto& m : r.completion) all.push_back(m);
      ChatEncoding e = render(all, false);
      for (size_t i = 0; i < e.ids.size(); ++i)
        e.assistant_mask[i] = (!completion_only_loss || i >= prompt_len) && (!assistant_only_loss || e.assistant_mask[i]);
      return e;
    }
    if (assistant_only_loss)
      fail("assistant_only_loss needs conversational rows ('messages' or a message-list 'prompt' and 'completion'), "
           "as TRL requires; set it false for text rows");
    ChatEncoding e;
    const bool prompt_completion = r.format == RowFormat::PromptCompletionText;
    e.ids = text_ids(prompt_completion ? r.prompt_text + with_eos(r.text) : with_eos(r.text));
    const size_t prompt_len = prompt_completion && completion_only_loss ? text_ids(r.prompt_text).size() : 0;
    e.assistant_mask.assign(e.ids.size(), 1);
    std::fill(e.assistant_mask.begin(), e.assistant_mask.begin() + static_cast<ptrdiff_t>(std::min(prompt_len, e.ids.size())), 0);
    return e;
  }
};

struct Candidate {
  uint32_t source = 0;
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
};

}  // namespace

std::string summary_path_for(const std::string& shard_path) { return shard_path + ".summary.json"; }

bool truncate_to_max_length(std::vector<int32_t>& ids, std::vector<uint8_t>& mask, int64_t max_length) {
  if (max_length <= 0 || static_cast<int64_t>(ids.size()) <= max_length) return false;
  ids.resize(max_length);
  if (static_cast<int64_t>(mask.size()) > max_length) mask.resize(max_length);
  return true;
}

std::vector<std::string> read_source_list(const std::string& path) {
  std::string text = read_file(path);
  std::vector<std::string> names;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    if (line[0] == '#') continue;
    if (line.rfind("- ", 0) == 0) {
      line = line.substr(2);
      line = line.substr(std::min(line.size(), line.find_first_not_of(" \t")));
    } else if (line.back() == ':') {
      continue;  // a heading such as "MATH & STEM DATA:"
    }
    if (!line.empty()) names.push_back(line);
  }
  if (names.empty()) fail("{}: no source names (expected lines like \"- name\")", path);
  return names;
}

// Token-budget sampling, per source, keeping each source's share of tokens:
//   T_s = tokens of the candidates of source s (after the source and length filters), T = sum T_s.
//   If budget <= 0 or T <= budget, everything is kept. Otherwise source s gets the target
//   t_s = floor(budget * T_s / T). Its candidates, in input order, are shuffled by Fisher-Yates
//   with Rng(seed ^ hash_string(s)) (so one source's draw does not depend on the others), and the
//   longest prefix of that order whose tokens sum to <= t_s is kept. Taking a prefix (rather than
//   skipping rows that do not fit and going on) keeps the kept rows' length distribution that of
//   the source; each source ends less than one row short of its target, never over it.
// The kept rows stay in input order.
std::vector<uint8_t> sample_to_budget(const std::vector<int64_t>& lengths, const std::vector<std::string>& sources,
                                      int64_t token_budget, uint64_t seed) {
  TT_CHECK(lengths.size() == sources.size(), "sample_to_budget: sizes differ");
  std::vector<uint8_t> keep(lengths.size(), 1);
  std::map<std::string, std::vector<size_t>> by_source;
  int64_t total = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    by_source[sources[i]].push_back(i);
    total += lengths[i];
  }
  if (token_budget <= 0 || total <= token_budget) return keep;
  std::fill(keep.begin(), keep.end(), 0);
  for (auto& [name, rows] : by_source) {
    int64_t source_tokens = 0;
    for (size_t i : rows) source_tokens += lengths[i];
    auto target = static_cast<int64_t>(static_cast<__int128>(token_budget) * source_tokens / total);
    Rng rng(seed ^ hash_string(name));
    for (size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng.below(i)]);
    int64_t sum = 0;
    for (size_t i : rows) {
      if (sum + lengths[i] > target) break;
      sum += lengths[i];
      keep[i] = 1;
    }
  }
  return keep;
}

nlohmann::json PrepareSummary::to_json() const {
  nlohmann::json sources = nlohmann::json::object();
  for (const auto& [name, c] : per_source)
    sources[name] = {{"rows_read", c.rows_read}, {"rows_kept", c.rows_kept}, {"tokens_kept", c.tokens_kept},
                     {"loss_tokens_kept", c.loss_tokens_kept}};
  return {{"rows_read", rows_read},
          {"rows_kept", rows_kept},
          {"truncated", truncated},
          {"dropped", {{"source_filter", dropped_source}, {"no_loss_tokens", dropped_no_loss},
                       {"token_budget", dropped_budget}, {"bad_lines", bad_lines}}},
          {"bad_line_messages", bad_line_messages},
          {"sources", sources},
          {"total_tokens", total_tokens},
          {"loss_tokens", loss_tokens},
          {"cache_key", cache_key},
          {"shard", shard_path},
          {"seconds", seconds}};
}

PrepareSummary PrepareSummary::from_json(const nlohmann::json& j) {
  PrepareSummary s;
  s.rows_read = j.at("rows_read");
  s.rows_kept = j.at("rows_kept");
  const auto& d = j.at("dropped");
  s.dropped_source = d.at("source_filter");
  s.truncated = j.value("truncated", int64_t{0});
  s.dropped_no_loss = d.at("no_loss_tokens");
  s.dropped_budget = d.at("token_budget");
  s.bad_lines = d.at("bad_lines");
  s.bad_line_messages = j.at("bad_line_messages").get<std::vector<std::string>>();
  for (const auto& [name, c] : j.at("sources").items())
    s.per_source[name] = {c.at("rows_read"), c.at("rows_kept"), c.at("tokens_kept"), c.at("loss_tokens_kept")};
  s.total_tokens = j.at("total_tokens");
  s.loss_tokens = j.at("loss_tokens");
  s.cache_key = j.at("cache_key");
  s.shard_path = j.at("shard");
  s.seconds = j.at("seconds");
  return s;
}

std::string PrepareSummary::to_text() const {
  std::string out = fmt::format("rows read {}, kept {} ({} truncated to max_length); dropped: source filter {}, "
                                "no loss tokens {}, token budget {}, bad lines {}\n",
                                rows_read, rows_kept, truncated, dropped_source, dropped_no_loss, dropped_budget, bad_lines);
  for (const auto& message : bad_line_messages) out += fmt::format("  skipped {}\n", message);
  if (bad_lines > static_cast<int64_t>(bad_line_messages.size()))
    out += fmt::format("  ... and {} more bad lines\n", bad_lines - static_cast<int64_t>(bad_line_messages.size()));
  out += fmt::format("  {:<48} {:>10} {:>14} {:>8}\n", "source", "rows kept", "tokens", "share");
  for (const auto& [name, c] : per_source)
    out += fmt::format("  {:<48} {:>10} {:>14} {:>7.2f}%\n", name, fmt::format("{}/{}", c.rows_kept, c.rows_read),
                       c.tokens_kept, total_tokens ? 100.0 * c.tokens_kept / total_tokens : 0.0);
  out += fmt::format("total tokens {} ({} with loss)\n", total_tokens, loss_tokens);
  return out;
}

PrepareSummary prepare_dataset(const PrepareOptions& o) {
  auto start = std::chrono::steady_clock::now();
  if (o.out.empty() && o.cache_dir.empty()) fail("prepare: give an output shard path (--out) or a cache directory");
  if (o.max_length < 0) fail("prepare: max_length must be >= 0 (0 = no limit), got {}", o.max_length);
  if (o.token_budget < 0) fail("prepare: token_budget must be >= 0 (0 = no budget), got {}", o.token_budget);
  // `--out notes.txt` used to replace the user's file with a shard, exit 0
  if (!o.out.empty() && fs::exists(o.out) && (fs::is_directory(o.out) || !starts_like_token_shard(o.out)))
    fail("{}: --out exists and is not a token shard; prepare never replaces another file (choose another name)", o.out);

  std::vector<std::string> files = dataset_files(o.input, o.dataset_config, o.dataset_split);
  Tokenizer tok = Tokenizer::load(o.tokenizer);
  std::string template_missing;
  const std::optional<ChatTemplate> chat = try_load_chat_template(o, tok, template_missing);
  std::string key = compute_cache_key(o, files, tok, chat);
  const nlohmann::ordered_json special = special_tokens_for(tok, tokenizer_dir(o.tokenizer));
  const std::string eos_token = special.contains("eos_token") ? special["eos_token"].get<std::string>() : "";
  const RowEncoder encoder{tok, chat, template_missing, eos_token, o.assistant_only_loss, o.completion_only_loss};

  std::string target = o.out;
  if (!o.cache_dir.empty()) {
    create_directories_or_fail(o.cache_dir, "prepared-data cache");
    target = (fs::path(o.cache_dir) / ("prepare-" + key + ".ttshard")).string();
    std::string summary_file = summary_path_for(target);
    if (file_exists(target) && file_exists(summary_file)) {
      try {
        TokenShard cached = TokenShard::open(target);
        if (cached.metadata().value("cache_key", "") != key) fail("{}: cache key mismatch", target);
        PrepareSummary s = PrepareSummary::from_json(read_json_file(summary_file));
        s.cache_hit = true;
        s.shard_path = target;
        if (!o.out.empty()) {
          publish(target, o.out);
          write_json_file(summary_path_for(o.out), s.to_json());
          s.shard_path = o.out;
        }
        s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return s;
      } catch (const std::exception& e) {
        log_warn("prepare: ignoring unusable cache entry ({}); rebuilding", e.what());
      }
    }
  }

  std::set<std::string> allowed(o.sources.begin(), o.sources.end());
  PrepareSummary summary;
  summary.cache_key = key;
  std::vector<std::string> source_names;
  std::map<std::string, uint32_t> source_ids;
  auto source_id = [&](const std::string& name) {
    auto [it, inserted] = source_ids.emplace(name, static_cast<uint32_t>(source_names.size()));
    if (inserted) source_names.push_back(name);
    return it->second;
  };
  std::vector<Candidate> candidates;

  // Rows are parsed a chunk at a time, then rendered + tokenized in parallel; errors are handled in
  // line order afterwards, so "the first bad line" is the same whatever the thread count.
  std::vector<PendingRow> chunk;
  auto flush = [&] {
    std::vector<ChatEncoding> encoded(chunk.size());
#pragma omp parallel for schedule(dynamic, 4)
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (!chunk[i].error.empty()) continue;
      try {
        encoded[i] = encoder.encode(chunk[i]);
      } catch (const std::exception& e) {
        chunk[i].error = e.what();
      }
    }
    for (size_t i = 0; i < chunk.size(); ++i) {
      PendingRow& row = chunk[i];
      if (!row.error.empty()) {
        std::string message = fmt::format("{}:{}: {}", files[row.file], row.line, row.error);
        if (!o.skip_bad_lines) fail("{}", message);
        ++summary.bad_lines;
        if (summary.bad_line_messages.size() < kMaxBadLineMessages) summary.bad_line_messages.push_back(message);
        continue;
      }
      ChatEncoding& enc = encoded[i];
      if (truncate_to_max_length(enc.ids, enc.assistant_mask, o.max_length)) ++summary.truncated;
      if (enc.ids.empty() || std::find(enc.assistant_mask.begin(), enc.assistant_mask.end(), 1) == enc.assistant_mask.end()) {
        ++summary.dropped_no_loss;
        continue;
      }
      candidates.push_back({row.source, std::move(enc.ids), std::move(enc.assistant_mask)});
    }
    chunk.clear();
  };

  for (uint32_t f = 0; f < files.size(); ++f) {
    for_each_input_row(files[f], o.text_field, [&](int64_t line, const std::function<nlohmann::ordered_json()>& parse) {
      ++summary.rows_read;
      PendingRow row;
      row.file = f;
      row.line = line;
      nlohmann::ordered_json parsed;
      try {
        parsed = parse();
        row.error = parse_row(parsed, o.text_field, row);
      } catch (const nlohmann::json::exception& e) {
        row.error = fmt::format("invalid JSON: {}", strip_json_tag(e.what()));
      }
      if (row.error.empty()) {
        auto s = parsed.find("dataset_source");
        std::string name = s != parsed.end() ? s->get<std::string>() : o.default_source;
        row.source = source_id(name);
        ++summary.per_source[name].rows_read;
        if (!allowed.empty() && !allowed.count(name)) {
          ++summary.dropped_source;
          return;
        }
      }
      chunk.push_back(std::move(row));
      if (chunk.size() >= kChunkRows) flush();
    });
  }
  flush();

  std::vector<int64_t> lengths;
  std::vector<std::string> names;
  for (const auto& c : candidates) {
    lengths.push_back(static_cast<int64_t>(c.ids.size()));
    names.push_back(source_names[c.source]);
  }
  std::vector<uint8_t> keep = sample_to_budget(lengths, names, o.token_budget, o.seed);

  TokenShardWriter writer(target);
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!keep[i]) {
      ++summary.dropped_budget;
      continue;
    }
    const Candidate& c = candidates[i];
    const std::string& name = source_names[c.source];
    int64_t loss = std::count(c.mask.begin(), c.mask.end(), uint8_t{1});
    SourceCounts& counts = summary.per_source[name];
    ++counts.rows_kept;
    counts.tokens_kept += static_cast<int64_t>(c.ids.size());
    counts.loss_tokens_kept += loss;
    ++summary.rows_kept;
    summary.total_tokens += static_cast<int64_t>(c.ids.size());
    summary.loss_tokens += loss;
    writer.add(c.ids, c.mask, writer.source_index(name));
  }
  if (summary.rows_kept == 0) log_warn("prepare: no rows kept; the shard is empty");
  writer.set_metadata({{"cache_key", key},
                       {"recipe", kPrepareRecipe},
                       {"input", o.input},
                       {"tokenizer", tok.source()},
                       {"chat_template", o.chat_template.empty() ? tokenizer_dir(o.tokenizer) + "/tokenizer_config.json" : o.chat_template},
                       {"max_length", o.max_length},
                       {"sources", o.sources},
                       {"token_budget", o.token_budget},
                       {"seed", o.seed},
                       {"assistant_only_loss", o.assistant_only_loss}});
  create_parent_folder(target);
  writer.finish();
  summary.shard_path = target;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_json_file(summary_path_for(target), summary.to_json());
  if (!o.cache_dir.empty() && !o.out.empty()) {
    publish(target, o.out);
    summary.shard_path = o.out;
    write_json_file(summary_path_for(o.out), summary.to_json());
  }
  return summary;
}

}  // namespace tt
