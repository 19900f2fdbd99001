// Loading a Tokenizer from tokenizer.json (HF layout); tiktoken files are in tokenizer_tiktoken.cpp.
// Every error names the file and the key (or line) that was wrong, on one line.
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/file.h"
#include "text/tokenizer.h"
#include "text/tokenizer_data.h"
#include "text/tokenizer_json_reader.h"
#include "text/utf8.h"

namespace tt {

namespace {

using json = nlohmann::json;



// tokenizer.json read in one pass with nlohmann's SAX interface: model.vocab and model.merges
// (almost all of the file) are kept as flat byte buffers instead of a DOM of ~400k nodes; every
// other part becomes the json value json::parse would give.
struct StreamedModel {
  struct VocabEntry {
    uint32_t offset, length;  // the key in `text`
    int32_t id;
  };
  struct MergeEntry {
    uint32_t offset, left_length, right_length;  // left then right, adjacent in `text`
  };
  std::string text;  // keys and merge halves, as written (byte-level characters)
  std::vector<VocabEntry> vocab;
  std::vector<MergeEntry> merges;
  bool saw_vocab = false;
  bool saw_merges = false;
};

class TokenizerJsonSax {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  TokenizerJsonSax(const std::string& path, json& root, StreamedModel& model) : path_(path), root_(root), model_(model) {}

  bool null() { return value(json(nullptr)); }
  bool boolean(bool v) { return value(json(v)); }
  bool number_integer(number_integer_t v) {
    if (mode_ == Mode::Vocab) bad_vocab_value();
    return value(json(v));
  }
  bool number_unsigned(number_unsigned_t v) {
    if (mode_ == Mode::Vocab) {
      if (v > static_cast<number_unsigned_t>(INT32_MAX)) bad_vocab_value();
      model_.vocab.back().id = static_cast<int32_t>(v);
      return true;
    }
    return value(json(v));
  }
  bool number_float(number_float_t v, const string_t&) {
    if (mode_ == Mode::Vocab) bad_vocab_value();
    return value(json(v));
  }
  bool binary(binary_t&) { return value(json(nullptr)); }  // JSON text has no binary values
  bool string(string_t& v) {
    if (mode_ == Mode::Vocab) bad_vocab_value();
    if (mode_ == Mode::Merges) {
      if (merge_depth_ == 0) {
        size_t space = v.find(' ');
        if (space == std::string::npos || v.find(' ', space + 1) != std::string::npos) {
          fail("{}: 'model.merges[{}]' should be two tokens separated by one space", path_, model_.merges.size());
        }
        auto offset = static_cast<uint32_t>(model_.text.size());
        model_.text.append(v, 0, space);
        model_.text.append(v, space + 1);
        model_.merges.push_back({offset, static_cast<uint32_t>(space), static_cast<uint32_t>(v.size() - space - 1)});
      } else {
        if (merge_parts_ == 0) {
          model_.merges.push_back({static_cast<uint32_t>(model_.text.size()), static_cast<uint32_t>(v.size()), 0});
        } else if (merge_parts_ == 1) {
          model_.merges.back().right_length = static_cast<uint32_t>(v.size());
        } else {
          bad_merge();
        }
        model_.text += v;
        ++merge_parts_;
      }
      return true;
    }
    return value(json(std::move(v)));
  }

  bool start_object(std::size_t) {
    if (mode_ == Mode::Vocab) bad_vocab_value();
    if (mode_ == Mode::Merges) bad_merge();
    if (at_model_member("vocab")) {
      mode_ = Mode::Vocab;
      model_.saw_vocab = true;
      return true;
    }
    return open(json::object());
  }
  bool key(string_t& k) {
    if (mode_ == Mode::Vocab) {
      model_.vocab.push_back({static_cast<uint32_t>(model_.text.size()), static_cast<uint32_t>(k.size()), -1});
      model_.text += k;
      return true;
    }
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    if (mode_ == Mode::Vocab) {
      if (!model_.vocab.empty() && model_.vocab.back().id < 0) bad_vocab_value();
      mode_ = Mode::None;
      return true;
    }
    return close();
  }
  bool start_array(std::size_t) {
    if (mode_ == Mode::Vocab) bad_vocab_value();
    if (mode_ == Mode::Merges) {
      if (merge_depth_ > 0) bad_merge();
      merge_depth_ = 1;
      merge_parts_ = 0;
      return true;
    }
    if (at_model_member("merges")) {
      mode_ = Mode::Merges;
      model_.saw_merges = true;
      merge_depth_ = 0;
      return true;
    }
    return open(json::array());
  }
  bool end_array() {
    if (mode_ == Mode::Merges) {
      if (merge_depth_ == 0) {
        mode_ = Mode::None;
      } else {
        if (merge_parts_ != 2) bad_merge();
        merge_depth_ = 0;
      }
      return true;
    }
    return close();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    const auto* parse = dynamic_cast<const json::parse_error*>(&e);
    fail("{}: malformed JSON at byte {}", path_, parse ? parse->byte : 0);
  }

 private:
  enum class Mode { None, Vocab, Merges };

  // The next value is model.<name>: an object member of the "model" object at the top level.
  bool at_model_member(const char* name) const {
    return stack_.size() == 2 && stack_[1].is_model && stack_[1].value->is_object() && key_ == name;
  }
  json* place(json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *stack_.back().value;
    if (parent.is_object()) {
      json& slot = parent[key_];
      slot = std::move(v);
      return &slot;
    }
    parent.push_back(std::move(v));
    return &parent.back();
  }
  bool value(json&& v) {
    if (mode_ == Mode::Merges) bad_merge();
    place(std::move(v));
    return true;
  }
  bool open(json&& v) {
    bool is_model = stack_.size() == 1 && stack_[0].value->is_object() && key_ == "model";
    json* p = place(std::move(v));
    stack_.push_back({p, is_model});
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }
  [[noreturn]] void bad_vocab_value() const {
    std::string name = model_.vocab.empty() ? std::string() : model_.text.substr(model_.vocab.back().offset, model_.vocab.back().length);
    fail("{}: 'model.vocab[\"{}\"]' should be a token id (a non-negative integer)", path_, name);
  }
  [[noreturn]] void bad_merge() const {
    size_t rank = model_.merges.size();
    if (merge_depth_ > 0 && merge_parts_ > 0) --rank;  // the entry being read was already counted
    fail("{}: 'model.merges[{}]' should be \"a b\" or [\"a\", \"b\"]", path_, rank);
  }

  struct Open {
    json* value;
    bool is_model;  // the top-level "model" object
  };
  const std::string& path_;
  json& root_;
  StreamedModel& model_;
  std::vector<Open> stack_;
  std::string key_;
  Mode mode_ = Mode::None;
  int merge_depth_ = 0;
  int merge_parts_ = 0;
};

// A JSON reader that drives a SAX handler (nlohmann's interface) several times faster than
// json::sax_parse: strings without escapes are scanned in bulk. Accepts exactly RFC 8259 JSON
// (UTF-8 checked, no control characters in strings, no trailing commas); on an error it reports
// the byte offset to handler.parse_error like nlohmann does.
template <typename Handler>
class FastJsonReader {
 public:
  FastJsonReader(std::string_view text, Handler& handler) : p_(text.data()), begin_(text.data()), end_(text.data() + text.size()), h_(handler) {}

  void parse() {
    skip_space();
    value(0);
    skip_space();
    if (p_ != end_) error();
  }

 private:
  [[noreturn]] void error() {
    auto byte = static_cast<size_t>(p_ - begin_) + 1;
    h_.parse_error(byte, std::string(), json::parse_error::create(101, byte, "syntax error", nullptr));
    fail("malformed JSON at byte {}", byte);  // not reached: the handler throws
  }
  void skip_space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  void expect(char c) {
    if (p_ >= end_ || *p_ != c) error();
    ++p_;
  }
  void literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) error();
    p_ += word.size();
  }
  unsigned hex4() {
    if (end_ - p_ < 4) error();
    unsigned v = 0;
    for (int k = 0; k < 4; ++k, ++p_) {
      char c = *p_;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else error();
    }
    return v;
  }
  // Reads a string (p_ after the opening quote) into `out`.
  void string(std::string& out) {
    out.clear();
    for (;;) {
      const char* start = p_;
      bool ascii = true;
      while (p_ < end_ && *p_ != '"' && *p_ != '\\') {
        auto c = static_cast<unsigned char>(*p_);
        if (c < 0x20) error();
        ascii &= c < 0x80;
        ++p_;
      }
      if (p_ >= end_) error();
      std::string_view run(start, static_cast<size_t>(p_ - start));
      if (!ascii && !utf8::is_valid(run)) {
        p_ = start;
        error();
      }
      out.append(run);
      if (*p_ == '"') {
        ++p_;
        return;
      }
      ++p_;  // backslash
      if (p_ >= end_) error();
      char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') error();
            p_ += 2;
            unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) error();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            error();
          }
          utf8::append(out, cp);
          break;
        }
        default:
          --p_;
          error();
      }
    }
  }
  void number() {
    const char* start = p_;
    bool negative = false, integral = true;
    if (*p_ == '-') {
      negative = true;
      ++p_;
    }
    if (p_ >= end_ || *p_ < '0' || *p_ > '9') error();
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (p_ >= end_ || *p_ < '0' || *p_ > '9') error();
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= end_ || *p_ < '0' || *p_ > '9') error();
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    std::string digits(start, p_);
    if (integral) {
      errno = 0;
      if (negative) {
        long long v = std::strtoll(digits.c_str(), nullptr, 10);
        if (errno == 0) {
          h_.number_integer(v);
          return;
        }
      } else {
        unsigned long long v = std::strtoull(digits.c_str(), nullptr, 10);
        if (errno == 0) {
          h_.number_unsigned(v);
          return;
        }
      }
    }
    h_.number_float(std::strtod(digits.c_str(), nullptr), digits);  // like nlohmann: too big -> float
  }
  void value(int depth) {
    if (depth > 512) error();
    if (p_ >= end_) error();
    switch (*p_) {
      case '{': {
        ++p_;
        h_.start_object(static_cast<std::size_t>(-1));
        skip_space();
        if (p_ < end_ && *p_ == '}') {
          ++p_;
          h_.end_object();
          return;
        }
        for (;;) {
          skip_space();
          expect('"');
          string(scratch_);
          h_.key(scratch_);
          skip_space();
          expect(':');
          skip_space();
          value(depth + 1);
          skip_space();
          if (p_ < end_ && *p_ == ',') {
            ++p_;
            continue;
          }
          expect('}');
          h_.end_object();
          return;
        }
      }
      case '[': {
        ++p_;
        h_.start_array(static_cast<std::size_t>(-1));
        skip_space();
        if (p_ < end_ && *p_ == ']') {
          ++p_;
          h_.end_array();
          return;
        }
        for (;;) {
          skip_space();
          value(depth + 1);
          skip_space();
          if (p_ < end_ && *p_ == ',') {
            ++p_;
            continue;
          }
          expect(']');
          h_.end_array();
          return;
        }
      }
      case '"':
        ++p_;
        string(scratch_);
        h_.string(scratch_);
        return;
      case 't':
        literal("true");
        h_.boolean(true);
        return;
      case 'f':
        literal("false");
        h_.boolean(false);
        return;
      case 'n':
        literal("null");
        h_.null();
        return;
      default:
        number();
    }
  }

  const char* p_;
  const char* begin_;
  const char* end_;
  Handler& h_;
  std::string scratch_;
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
void load_model(const JsonReader& r, const json& model, const StreamedModel& streamed, TokenizerData& d) {
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

  if (!streamed.saw_vocab) {
    const json& vocab = r.need(model, "vocab", "model");
    if (!vocab.is_object()) fail("{}: 'model.vocab' should be an object", r.path);
  }
  std::string_view text = streamed.text;
  int32_t max_id = -1;
  for (const auto& entry : streamed.vocab) max_id = std::max(max_id, entry.id);
  d.bpe.tokens.resize(static_cast<size_t>(max_id + 1));
  d.bpe.in_index.resize(static_cast<size_t>(max_id + 1), 0);
  for (const auto& entry : streamed.vocab) {
    std::string_view key = text.substr(entry.offset, entry.length);
    // Entries outside the byte-level alphabet can never come out of BPE; they keep their text
    // (which is also what HF's ByteLevel decoder emits for them).
    std::string& token = d.bpe.tokens[entry.id];
    bool byte_level = utf8::byte_level_decode(key, token);
    if (!byte_level) token.assign(key);
    d.bpe.in_index[entry.id] = byte_level;
  }
  d.bpe.finalize(r.path);

  if (!streamed.saw_merges) {
    const json& merges = r.need(model, "merges", "model");
    if (!merges.is_array()) fail("{}: 'model.merges' should be a list", r.path);
  }
  d.bpe.merges.reserve(streamed.merges.size());
  auto decode = [](std::string_view text, std::string& out) { return utf8::byte_level_decode_append(text, out); };
  // The tables are far bigger than the caches, so the lookups run as passes that prefetch a few
  // merges ahead: decode every merge, look the tokens up, then insert in rank order.
  const size_t count = streamed.merges.size();
  std::string bytes;  // every merge's left bytes then right bytes
  bytes.reserve(streamed.text.size() / 2);
  struct Decoded {
    uint32_t offset, split, length;  // in `bytes`; length 0: not byte-level text
  };
  std::vector<Decoded> decoded(count);
  for (size_t rank = 0; rank < count; ++rank) {
    const auto& merge = streamed.merges[rank];
    auto offset = static_cast<uint32_t>(bytes.size());
    bool ok = decode(text.substr(merge.offset, merge.left_length), bytes);
    auto split = static_cast<uint32_t>(bytes.size() - offset);
    ok = ok && decode(text.substr(merge.offset + merge.left_length, merge.right_length), bytes);
    if (!ok) bytes.resize(offset);
    decoded[rank] = {offset, split, ok ? static_cast<uint32_t>(bytes.size() - offset) : 0};
  }
  auto view = [&](size_t rank) { return std::string_view(bytes).substr(decoded[rank].offset, decoded[rank].length); };
  constexpr size_t kAhead = 8;
  struct Ids {
    int32_t left, right, merged;
  };
  std::vector<Ids> ids(count);
  size_t guess = 0;
  for (size_t rank = 0; rank < count; ++rank) {
    if (rank + kAhead < count && decoded[rank + kAhead].length) {
      std::string_view ahead = view(rank + kAhead);
      d.bpe.index.prefetch(ahead.substr(0, decoded[rank + kAhead].split));
      d.bpe.index.prefetch(ahead.substr(decoded[rank + kAhead].split));
    }
    int32_t left_id = -1, right_id = -1, merged_id = -1;
    if (decoded[rank].length) {
      std::string_view all = view(rank);
      left_id = d.bpe.find(all.substr(0, decoded[rank].split));
      right_id = d.bpe.find(all.substr(decoded[rank].split));
      // Files list merges in the order of the tokens they make (converted tiktoken files list
      // every split of a token together): try the previous merge's token and the next id, one
      // string compare each, before hashing. Only valid when no two tokens share bytes (else
      // find's lowest-id rule decides).
      for (size_t g = guess; g < guess + 2 && merged_id < 0 && d.bpe.distinct; ++g) {
        if (g < d.bpe.tokens.size() && d.bpe.in_index[g] && d.bpe.tokens[g] == all) merged_id = static_cast<int32_t>(g);
      }
      if (merged_id < 0) merged_id = d.bpe.find(all);
      if (merged_id >= 0) guess = static_cast<size_t>(merged_id);
    }
    if (left_id < 0 || right_id < 0 || merged_id < 0) {
      const auto& merge = streamed.merges[rank];
      fail("{}: 'model.merges[{}]' ({} {}) uses a token that is not in model.vocab", r.path, rank,
           text.substr(merge.offset, merge.left_length), text.substr(merge.offset + merge.left_length, merge.right_length));
    }
    ids[rank] = {left_id, right_id, merged_id};
  }
  for (size_t rank = 0; rank < count; ++rank) {
    if (rank + kAhead < count) d.bpe.merges.prefetch(ids[rank + kAhead].left, ids[rank + kAhead].right);
    d.bpe.merges.insert(ids[rank].left, ids[rank].right, {static_cast<int32_t>(rank), ids[rank].merged});
  }
}

}  // namespace

Tokenizer Tokenizer::load_json(const std::string& path) {
  json root;
  StreamedModel streamed;
  {
    std::string text = read_file(path);
    streamed.text.reserve(text.size() / 2);
    TokenizerJsonSax sax(path, root, streamed);
    FastJsonReader<TokenizerJsonSax>(text, sax).parse();
  }
  JsonReader r{path};
  if (!root.is_object()) fail("{}: the top level should be an object", path);
  auto d = std::make_shared<TokenizerData>();
  d->source = path;

  load_model(r, r.need(root, "model", ""), streamed, *d);

  if (const json* normalizer = r.maybe(root, "normalizer")) {
    // null, NFC, NFKC, or a Sequence holding at most one of them
    const json* step = normalizer;
    std::string type = r.type(*step, "normalizer");
    if (type == "Sequence") {
      const json& steps = r.need(*normalizer, "normalizers", "normalizer");
      if (steps.size() > 1) fail("{}: 'normalizer' Sequence of {} steps is not supported (at most one)", path, steps.size());
      step = steps.empty() ? nullptr : &steps[0];
      type = step ? r.type(*step, "normalizer.normalizers[0]") : "";
    }
    if (type == "NFC") d->normalization = Normalization::NFC;
    else if (type == "NFKC") d->normalization = Normalization::NFKC;
    else if (!type.empty()) fail("{}: 'normalizer.type' {} is not supported (null, NFC, NFKC)", path, type);
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
