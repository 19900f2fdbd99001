// Loading a Tokenizer from tokenizer.json (HF layout) or a tiktoken tokenizer.model.
// Every error names the file and the key (or line) that was wrong, on one line.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "text/tokenizer.h"
#include "text/tokenizer_data.h"
#include "text/utf8.h"

namespace tt {

namespace {

using json = nlohmann::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open file", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Typed access to tokenizer.json with errors that say which file and key.
struct JsonReader {
  const std::string& path;

  const json& need(const json& object, const char* key, const std::string& where) const {
    if (!object.is_object()) fail("{}: '{}' should be an object", path, where);
    auto it = object.find(key);
    if (it == object.end()) fail("{}: missing key '{}{}'", path, where.empty() ? "" : where + ".", key);
    return *it;
  }
  // Absent or null -> nullptr.
  const json* maybe(const json& object, const char* key) const {
    if (!object.is_object()) return nullptr;
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }
  std::string string(const json& value, const std::string& where) const {
    if (!value.is_string()) fail("{}: '{}' should be a string", path, where);
    return value.get<std::string>();
  }
  bool boolean(const json& object, const char* key, bool fallback, const std::string& where) const {
    const json* v = maybe(object, key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail("{}: '{}.{}' should be true or false", path, where, key);
    return v->get<bool>();
  }
  int32_t id(const json& value, const std::string& where) const {
    if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > INT32_MAX) {
      fail("{}: '{}' should be a token id (a non-negative integer)", path, where);
    }
    return static_cast<int32_t>(value.get<int64_t>());
  }
  std::string type(const json& object, const std::string& where) const {
    return string(need(object, "type", where), where + ".type");
  }
};

void load_pre_tokenizer(const JsonReader& r, const json& node, const std::string& where,
                        std::vector<PreTokenizeStep>& steps) {
  std::string type = r.type(node, where);
  if (type == "Sequence") {
    const json& list = r.need(node, "pretokenizers", where);
    if (!list.is_array()) fail("{}: '{}.pretokenizers' should be a list", r.path, where);
    for (size_t i = 0; i < list.size(); ++i) {
      load_pre_tokenizer(r, list[i], fmt::format("{}.pretokenizers[{}]", where, i), steps);
    }
  } else if (type == "Split") {
    PreTokenizeStep step;
    const json& pattern = r.need(node, "pattern", where);
    std::string pattern_where = where + ".pattern";
    if (const json* regex = r.maybe(pattern, "Regex")) {
      step.regex = Regex::compile(r.string(*regex, pattern_where + ".Regex"), r.path + ": " + pattern_where);
    } else if (const json* literal = r.maybe(pattern, "String")) {
      step.regex = Regex::compile(r.string(*literal, pattern_where + ".String"), r.path + ": " + pattern_where, true);
    } else {
      fail("{}: '{}' should hold 'Regex' or 'String'", r.path, pattern_where);
    }
    std::string behavior = r.string(r.need(node, "behavior", where), where + ".behavior");
    if (behavior == "Isolated") {
      step.behavior = SplitBehavior::Isolated;
    } else if (behavior == "Removed") {
      step.behavior = SplitBehavior::Removed;
    } else if (behavior == "MergedWithPrevious") {
      step.behavior = SplitBehavior::MergedWithPrevious;
    } else if (behavior == "MergedWithNext") {
      step.behavior = SplitBehavior::MergedWithNext;
    } else {
      fail("{}: '{}.behavior' {} is not supported", r.path, where, behavior);
    }
    if (r.boolean(node, "invert", false, where)) fail("{}: '{}.invert' true is not supported", r.path, where);
    steps.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    PreTokenizeStep step;
    step.kind = PreTokenizeStep::Kind::ByteLevel;
    step.add_prefix_space = r.boolean(node, "add_prefix_space", true, where);
    if (r.boolean(node, "use_regex", true, where)) step.regex = Regex::compile(kGpt2SplitPattern, "ByteLevel");
    steps.push_back(std::move(step));
  } else {
    fail("{}: '{}.type' {} is not a supported pre-tokenizer (Split, ByteLevel, Sequence)", r.path, where, type);
  }
}

void load_post_processor(const JsonReader& r, const json& node, const std::string& where, TokenizerData& d) {
  std::string type = r.type(node, where);
  if (type == "Sequence") {
    const json& list = r.need(node, "processors", where);
    if (!list.is_array()) fail("{}: '{}.processors' should be a list", r.path, where);
    for (size_t i = 0; i < list.size(); ++i) load_post_processor(r, list[i], fmt::format("{}.processors[{}]", where, i), d);
  } else if (type == "ByteLevel") {
    // Only trims offsets; ids are untouched.
  } else if (type == "TemplateProcessing") {
    const json& single = r.need(node, "single", where);
    const json& specials = r.need(node, "special_tokens", where);
    if (!single.is_array()) fail("{}: '{}.single' should be a list", r.path, where);
    bool seen_sequence = false;
    for (size_t i = 0; i < single.size(); ++i) {
      std::string item_where = fmt::format("{}.single[{}]", where, i);
      if (r.maybe(single[i], "Sequence")) {
        seen_sequence = true;
        continue;
      }
      const json& special = r.need(single[i], "SpecialToken", item_where);
      std::string name = r.string(r.need(special, "id", item_where + ".SpecialToken"), item_where + ".SpecialToken.id");
      const json& entry = r.need(specials, name.c_str(), where + ".special_tokens");
      const json& ids = r.need(entry, "ids", where + ".special_tokens." + name);
      if (!ids.is_array()) fail("{}: '{}.special_tokens.{}.ids' should be a list", r.path, where, name);
      for (const json& id : ids) {
        (seen_sequence ? d.template_suffix : d.template_prefix).push_back(r.id(id, where + ".special_tokens." + name + ".ids"));
      }
    }
  } else {
    fail("{}: '{}.type' {} is not a supported post-processor (TemplateProcessing, ByteLevel, Sequence)", r.path, where, type);
  }
}

// model: BPE over the byte-level alphabet.
void load_model(const JsonReader& r, const json& model, TokenizerData& d) {
  if (const json* type = r.maybe(model, "type")) {
    std::string name = r.string(*type, "model.type");
    if (name != "BPE") fail("{}: 'model.type' {} is not supported (only BPE)", r.path, name);
  }
  if (r.maybe(model, "dropout")) fail("{}: 'model.dropout' is not supported", r.path);
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const json* v = r.maybe(model, key); v && !(v->is_string() && v->get<std::string>().empty())) {
      fail("{}: 'model.{}' is not supported", r.path, key);
    }
  }
  if (r.boolean(model, "byte_fallback", false, "model")) fail("{}: 'model.byte_fallback' true is not supported", r.path);
  d.bpe.ignore_merges = r.boolean(model, "ignore_merges", false, "model");

  const json& vocab = r.need(model, "vocab", "model");
  if (!vocab.is_object()) fail("{}: 'model.vocab' should be an object", r.path);
  std::string bytes;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    int32_t id = r.id(it.value(), "model.vocab[\"" + it.key() + "\"]");
    if (static_cast<size_t>(id) >= d.bpe.tokens.size()) {
      d.bpe.tokens.resize(id + 1);
      d.bpe.in_index.resize(id + 1, 0);
    }
    // Entries outside the byte-level alphabet can never come out of BPE; they keep their text
    // (which is also what HF's ByteLevel decoder emits for them).
    bool byte_level = utf8::byte_level_decode(it.key(), bytes);
    d.bpe.tokens[id] = byte_level ? bytes : it.key();
    d.bpe.in_index[id] = byte_level;
  }
  d.bpe.finalize(r.path);

  const json& merges = r.need(model, "merges", "model");
  if (!merges.is_array()) fail("{}: 'model.merges' should be a list", r.path);
  d.bpe.merges.reserve(merges.size());
  std::string left, right, left_bytes, right_bytes;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const json& merge = merges[rank];
    // Two spellings: "a b" (older files) and ["a", "b"].
    if (merge.is_string()) {
      const std::string& text = merge.get_ref<const std::string&>();
      size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        fail("{}: 'model.merges[{}]' should be two tokens separated by one space", r.path, rank);
      }
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      fail("{}: 'model.merges[{}]' should be \"a b\" or [\"a\", \"b\"]", r.path, rank);
    }
    int32_t left_id = -1, right_id = -1, merged_id = -1;
    if (utf8::byte_level_decode(left, left_bytes) && utf8::byte_level_decode(right, right_bytes)) {
      left_id = d.bpe.find(left_bytes);
      right_id = d.bpe.find(right_bytes);
      merged_id = d.bpe.find(left_bytes + right_bytes);
    }
    if (left_id < 0 || right_id < 0 || merged_id < 0) {
      fail("{}: 'model.merges[{}]' ({} {}) uses a token that is not in model.vocab", r.path, rank, left, right);
    }
    d.bpe.merges.insert(left_id, right_id, {static_cast<int32_t>(rank), merged_id});
  }
}

}  // namespace

Tokenizer Tokenizer::load_json(const std::string& path) {
  std::string text = read_file(path);
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    fail("{}: malformed JSON at byte {}", path, e.byte);
  }
  JsonReader r{path};
  if (!root.is_object()) fail("{}: the top level should be an object", path);
  auto d = std::make_shared<TokenizerData>();
  d->source = path;

  load_model(r, r.need(root, "model", ""), *d);

  if (const json* normalizer = r.maybe(root, "normalizer")) {
    std::string type = r.type(*normalizer, "normalizer");
    bool empty_sequence = type == "Sequence" && r.maybe(*normalizer, "normalizers") &&
                          r.need(*normalizer, "normalizers", "normalizer").empty();
    if (!empty_sequence) fail("{}: 'normalizer.type' {} is not supported (only null)", path, type);
  }
  if (const json* pre = r.maybe(root, "pre_tokenizer")) load_pre_tokenizer(r, *pre, "pre_tokenizer", d->pre_tokenizer);
  bool byte_level = std::any_of(d->pre_tokenizer.begin(), d->pre_tokenizer.end(),
                                [](const PreTokenizeStep& s) { return s.kind == PreTokenizeStep::Kind::ByteLevel; });
  if (!byte_level) fail("{}: 'pre_tokenizer' has no ByteLevel step (only byte-level BPE is supported)", path);
  if (const json* post = r.maybe(root, "post_processor")) load_post_processor(r, *post, "post_processor", *d);
  const json& decoder = r.need(root, "decoder", "");
  if (decoder.is_null() || r.type(decoder, "decoder") != "ByteLevel") {
    fail("{}: 'decoder' should be ByteLevel", path);
  }

  if (const json* added = r.maybe(root, "added_tokens")) {
    if (!added->is_array()) fail("{}: 'added_tokens' should be a list", path);
    for (size_t i = 0; i < added->size(); ++i) {
      const json& entry = (*added)[i];
      std::string where = fmt::format("added_tokens[{}]", i);
      AddedToken token;
      token.id = r.id(r.need(entry, "id", where), where + ".id");
      token.content = r.string(r.need(entry, "content", where), where + ".content");
      token.special = r.boolean(entry, "special", false, where);
      token.lstrip = r.boolean(entry, "lstrip", false, where);
      token.rstrip = r.boolean(entry, "rstrip", false, where);
      if (r.boolean(entry, "single_word", false, where)) fail("{}: '{}.single_word' true is not supported", path, where);
      if (token.content.empty()) fail("{}: '{}.content' is empty", path, where);
      d->add_token(std::move(token));
    }
  }
  d->finish(path);
  auto check = [&](const std::vector<int32_t>& ids) {
    for (int32_t id : ids) {
      if (static_cast<size_t>(id) >= d->vocab_size) fail("{}: post_processor uses token id {} which is not in the vocabulary", path, id);
    }
  };
  check(d->template_prefix);
  check(d->template_suffix);
  return Tokenizer(std::move(d));
}

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
    if (static_cast<size_t>(rank) >= bpe.tokens.size()) {
      bpe.tokens.resize(rank + 1);
      bpe.in_index.resize(rank + 1, 0);
    }
    if (bpe.in_index[rank]) fail("{}:{}: rank {} appears twice", path, line_no, rank);
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
  for (size_t id = 0; id < bpe.tokens.size(); ++id) {
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

Tokenizer Tokenizer::load(const std::string& path_or_dir) {
  namespace fs = std::filesystem;
  fs::path path(path_or_dir);
  if (fs::is_directory(path)) {
    if (fs::exists(path / "tokenizer.json")) return load_json((path / "tokenizer.json").string());
    if (fs::exists(path / "tokenizer.model")) return load_tiktoken((path / "tokenizer.model").string());
    fail("{}: no tokenizer.json or tokenizer.model in this directory", path_or_dir);
  }
  if (!fs::exists(path)) fail("{}: no such file or directory", path_or_dir);
  if (path.extension() == ".json") return load_json(path_or_dir);
  std::ifstream in(path_or_dir, std::ios::binary);
  char first = 0;
  in >> first;  // skips whitespace: JSON starts with '{'
  return first == '{' ? load_json(path_or_dir) : load_tiktoken(path_or_dir);
}

}  // namespace tt
