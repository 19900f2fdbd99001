// Loading a Tokenizer from a tiktoken tokenizer.model (Meta's Llama 3 release: "base64 rank" lines),
// with the special tokens from special_tokens.json beside it or Meta's layout.
#include <filesystem>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/file.h"
#include "text/tokenizer.h"
#include "text/tokenizer_data.h"
#include "text/tokenizer_json_reader.h"
#include "text/utf8.h"

namespace tt {

using json = nlohmann::json;

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  uint32_t buffer = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] != '='; ++i) {
    int v = base64_value(text[i]);
    if (v < 0) return false;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  for (; i < text.size(); ++i) {
    if (text[i] != '=') return false;
  }
  return !out.empty();
}

// Llama-3(.1) special tokens as Meta's tokenizer.py lays them out after the base ranks.
std::vector<std::string> llama3_special_names() {
  std::vector<std::string> names = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                                    "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>",
                                    "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
                                    "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"};
  constexpr size_t kSpecialCount = 256;
  for (int n = 3; names.size() < kSpecialCount; ++n) names.push_back(fmt::format("<|reserved_special_token_{}|>", n));
  return names;
}

AddedToken special_token(const std::string& name, int32_t id) {
  AddedToken token;
  token.content = name;
  token.id = id;
  token.special = true;
  return token;
}

}  // namespace

Tokenizer Tokenizer::load_tiktoken(const std::string& path) {
  std::string text = read_file(path);
  auto d = std::make_shared<TokenizerData>();
  d->source = path;
  BpeModel& bpe = d->bpe;
  std::string bytes;
  std::unordered_map<std::string, int64_t> rank_of;
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    size_t space = line.find(' ');
    if (space == std::string_view::npos) fail("{}:{}: expected 'base64 rank'", path, line_no);
    if (!base64_decode(line.substr(0, space), bytes)) fail("{}:{}: invalid base64 token", path, line_no);
    int64_t rank = 0;
    std::string_view digits = line.substr(space + 1);
    if (digits.empty() || digits.size() > 9) fail("{}:{}: invalid rank", path, line_no);
    for (char c : digits) {
      if (c < '0' || c > '9') fail("{}:{}: invalid rank", path, line_no);
      rank = rank * 10 + (c - '0');
    }
    if (rank > kMaxTokenId)
      fail("{}:{}: rank {} is beyond tinythink's limit of {} (tables indexed by id are held in memory)", path, line_no,
           rank, kMaxTokenId);
    if (static_cast<size_t>(rank) >= bpe.tokens.size()) {
      bpe.tokens.resize(rank + 1);
      bpe.in_index.resize(rank + 1, 0);
    }
    if (bpe.in_index[rank]) fail("{}:{}: rank {} appears twice", path, line_no, rank);
    // tiktoken refuses a file giving one token two ranks ("duplicate token indices"): encoding would
    // give one of them and decoding both
    if (const auto [it, fresh] = rank_of.emplace(bytes, rank); !fresh)
      fail("{}:{}: token {} already has rank {} (a token has one rank)", path, line_no, line.substr(0, space), it->second);
    bpe.tokens[rank] = bytes;
    bpe.in_index[rank] = 1;
  }
  if (bpe.tokens.empty()) fail("{}: no tokens", path);
  bpe.ignore_merges = true;  // tiktoken emits a piece that is itself a token directly
  bpe.finalize(path);

  // tiktoken merges any adjacent pair whose concatenation is a token, lowest rank first. As a
  // pair table: for every token, each split into two tokens merges into it with its rank.
  size_t pairs = 0;
  for (const std::string& t : bpe.tokens) pairs += t.size() > 1 ? t.size() - 1 : 0;
  bpe.merges.reserve(pairs);
  constexpr size_t kAhead = 4;  // tokens: the table lookups miss the caches, so start them early
  for (size_t id = 0; id < bpe.tokens.size(); ++id) {
    if (id + kAhead < bpe.tokens.size() && bpe.in_index[id + kAhead]) {
      std::string_view ahead(bpe.tokens[id + kAhead]);
      for (size_t k = 1; k < ahead.size(); ++k) {
        bpe.index.prefetch(ahead.substr(0, k));
        bpe.index.prefetch(ahead.substr(k));
      }
    }
    const std::string& t = bpe.tokens[id];
    if (!bpe.in_index[id] || t.size() < 2) continue;
    std::string_view view(t);
    for (size_t k = 1; k < t.size(); ++k) {
      int32_t left = bpe.find(view.substr(0, k));
      if (left < 0) continue;
      int32_t right = bpe.find(view.substr(k));
      if (right < 0) continue;
      bpe.merges.insert(left, right, {static_cast<int32_t>(id), static_cast<int32_t>(id)});
    }
  }

  PreTokenizeStep split;
  split.regex = Regex::compile(kLlama3SplitPattern, path);
  d->pre_tokenizer.push_back(std::move(split));

  // Special tokens: special_tokens.json beside the file (name -> id), else Meta's layout.
  auto specials_path = std::filesystem::path(path).parent_path() / "special_tokens.json";
  auto base = static_cast<int32_t>(bpe.tokens.size());
  if (std::filesystem::exists(specials_path)) {
    std::string specials_file = specials_path.string();
    json specials;
    try {
      specials = json::parse(read_file(specials_file));
    } catch (const json::parse_error& e) {
      fail("{}: malformed JSON at byte {}", specials_file, e.byte);
    } catch (const json::exception& e) {  // e.g. a number that overflows
      fail("{}: malformed JSON: {}", specials_file, e.what());
    }
    if (!specials.is_object()) fail("{}: should be an object of name -> id", specials_file);
    JsonReader r{specials_file};
    for (auto it = specials.begin(); it != specials.end(); ++it) {
      int32_t id = r.id(it.value(), it.key());
      if (id < base) fail("{}: '{}' has id {} which collides with the base vocabulary", specials_file, it.key(), id);
      d->add_token(special_token(it.key(), id));
    }
  } else {
    std::vector<std::string> names = llama3_special_names();
    for (size_t i = 0; i < names.size(); ++i) {
      d->add_token(special_token(names[i], base + static_cast<int32_t>(i)));
    }
  }
  d->finish(path);
  if (d->bos_id >= 0) d->template_prefix = {d->bos_id};
  return Tokenizer(std::move(d));
}

}  // namespace tt
