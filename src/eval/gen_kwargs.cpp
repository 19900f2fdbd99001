#include "eval/gen_kwargs.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "io/jsonl.h"
#include "text/jinja_value.h"

namespace tt::eval {

namespace {

// ---- values as lm-eval's handle_cli_value_string reads them

// A Python literal as ast.literal_eval reads the forms a generation argument takes: a quoted string
// (with escapes), a list or tuple of literals, a number, True/False/None. nullopt: not a literal.
class PythonLiteral {
 public:
  explicit PythonLiteral(const std::string& text) : s_(text) {}
  std::optional<nlohmann::json> parse() {
    skip_space();
    auto value = literal();
    skip_space();
    if (!value || i_ != s_.size()) return std::nullopt;
    return value;
  }

 private:
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  std::optional<nlohmann::json> literal() {
    if (i_ >= s_.size()) return std::nullopt;
    const char c = s_[i_];
    if (c == '\'' || c == '"') return string(false);
    // r'...' keeps its backslashes (Python's raw string)
    if ((c == 'r' || c == 'R') && i_ + 1 < s_.size() && (s_[i_ + 1] == '\'' || s_[i_ + 1] == '"')) {
      ++i_;
      return string(true);
    }
    if (c == '[' || c == '(') return sequence(c == '[' ? ']' : ')');
    for (const auto& [word, value] : {std::pair<const char*, nlohmann::json>{"True", true}, {"False", false}, {"None", nullptr}})
      if (s_.compare(i_, std::strlen(word), word) == 0) {
        i_ += std::strlen(word);
        return value;
      }
    const char* begin = s_.c_str() + i_;
    char* end = nullptr;
    const double d = std::strtod(begin, &end);
    if (end == begin) return std::nullopt;
    i_ += static_cast<size_t>(end - begin);
    return d;
  }
  std::optional<nlohmann::json> sequence(char close) {
    if (++depth_ > kMaxDepth) return std::nullopt;  // [[[[...: not a generation argument, and no stack overflow
    ++i_;
    nlohmann::json out = nlohmann::json::array();
    skip_space();
    while (i_ < s_.size() && s_[i_] != close) {
      auto item = literal();
      if (!item) return std::nullopt;
      out.push_back(*item);
      skip_space();
      if (i_ < s_.size() && s_[i_] == ',') ++i_, skip_space();
      else if (i_ >= s_.size() || s_[i_] != close) return std::nullopt;
    }
    if (i_ >= s_.size()) return std::nullopt;
    ++i_;
    --depth_;
    return out;
  }
  std::optional<nlohmann::json> string(bool raw) {
    const char quote = s_[i_++];
    std::string out;
    while (i_ < s_.size() && s_[i_] != quote) {
      char c = s_[i_++];
      if (raw && c == '\\' && i_ < s_.size()) {  // a raw string keeps \x as written (and \' does not end it)
        out += c;
        out += s_[i_++];
        continue;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return std::nullopt;
      const char e = s_[i_++];
      const auto hex = [&](int digits) -> std::optional<uint32_t> {
        if (i_ + static_cast<size_t>(digits) > s_.size()) return std::nullopt;
        uint32_t v = 0;
        for (int k = 0; k < digits; ++k) {
          const char h = s_[i_++];
          if (!std::isxdigit(static_cast<unsigned char>(h))) return std::nullopt;
          v = v * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : std::tolower(h) - 'a' + 10);
        }
        return v;
      };
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '0': out += '\0'; break;
        case '\\': case '\'': case '"': out += e; break;
        case 'x': case 'u': case 'U': {
          const auto cp = hex(e == 'x' ? 2 : e == 'u' ? 4 : 8);
          if (!cp || *cp > 0x10FFFF) return std::nullopt;
          jinja::utf8_append(out, static_cast<char32_t>(*cp));
          break;
        }
        default: out += '\\', out += e;  // Python keeps an unknown escape as written
      }
    }
    if (i_ >= s_.size()) return std::nullopt;
    ++i_;
    --depth_;
    return out;
  }
  static constexpr int kMaxDepth = 16;
  const std::string& s_;
  size_t i_ = 0;
  int depth_ = 0;
};

// A key=value item's value: true/false, a number, a Python literal, else the text itself (bare).
nlohmann::json cli_json(const std::string& v, bool& bare) {
  bare = false;
  std::string lower = v;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "true") return true;
  if (lower == "false") return false;
  if (auto literal = PythonLiteral(v).parse()) return *literal;
  bare = true;
  return v;
}

// ---- checks of each key's value

// What a message shows of a value: the first 80 bytes (a 40 KB argument was echoed whole).
std::string shown(const std::string& text) { return text.size() <= 80 ? text : text.substr(0, 80) + "..."; }

// A parsed value as JSON text; bytes that are not UTF-8 (a Python \x escape) as U+FFFD rather than
// nlohmann's type_error, which ended the process.
std::string json_text(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// A value and its text as the user wrote it (for messages: nan is not JSON).
struct Value {
  nlohmann::json json;
  std::string text;
  bool bare = false;  // not a literal: the text itself
};

bool as_bool(const std::string& key, const Value& value) {
  const nlohmann::json& v = value.json;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number() && (v.get<double>() == 0 || v.get<double>() == 1)) return v.get<double>() != 0;
  fail("--gen-kwargs: {}={} is not a boolean (true/false)", key, shown(value.text));
}

double as_number(const std::string& key, const Value& value) {
  const nlohmann::json& v = value.json;
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {  // "nan", "inf" and the like, which lm-eval's float() reads too
    const std::string s = v.get<std::string>();
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size()) return d;
  }
  fail("--gen-kwargs: {}={} is not a number", key, shown(value.text));
}

// A value the sampler can use: `temperature=-1` used to fall back to greedy decoding, nan alike,
// `top_p=2` was ignored, and `max_gen_toks=1e30` overflowed the integer it was cast to.
double in_range(const std::string& key, const Value& v, double lo, bool lo_open, double hi, const char* range) {
  const double d = as_number(key, v);
  if (!(lo_open ? d > lo : d >= lo) || !(d <= hi)) fail("--gen-kwargs: {}={} must be in {}", key, shown(v.text), range);
  return d;
}

int64_t whole_number(const std::string& key, const Value& v, int64_t lo) {
  const double d = as_number(key, v);
  if (!(d >= static_cast<double>(lo) && d <= 1e15) || d != std::floor(d))
    fail("--gen-kwargs: {}={} must be a whole number >= {}", key, shown(v.text), lo);
  return static_cast<int64_t>(d);
}

std::vector<std::string> split_bars(const std::string& value) {
  std::vector<std::string> until;
  size_t s = 0;
  while (true) {
    const size_t bar = value.find('|', s);
    until.push_back(value.substr(s, bar == std::string::npos ? std::string::npos : bar - s));
    if (bar == std::string::npos) break;
    s = bar + 1;
  }
  return until;
}

std::vector<std::string> stop_list(const Value& value) {
  const nlohmann::json& v = value.json;
  if (value.bare) {
    // Python's literal_eval reads these as a dict, a set or bytes, which lm-eval refuses as stops
    const std::string& t = value.text;
    if ((t.size() >= 2 && t.front() == '{' && t.back() == '}') ||
        (t.size() >= 3 && (t[0] == 'b' || t[0] == 'B') && (t[1] == '\'' || t[1] == '"') && t.back() == t[1]))
      fail("--gen-kwargs: until={} is a dict, set or bytes literal; until takes a string or a list of strings",
           shown(t));
    return split_bars(value.text);  // tinythink's until=a|b
  }
  if (v.is_string()) return {v.get<std::string>()};  // lm-eval: a single stop string
  if (v.is_array()) {
    std::vector<std::string> out;
    for (const auto& s : v) {
      if (!s.is_string()) fail("--gen-kwargs: until holds {}, which is not a string", shown(json_text(s)));
      out.push_back(s.get<std::string>());
    }
    return out;
  }
  fail("--gen-kwargs: until={} is not a string or a list of strings", shown(json_text(v)));
}

// The max_gen_toks aliases by lm-eval's priority (lower wins).
int alias_rank(const std::string& key) {
  if (key == "max_gen_toks") return 0;
  if (key == "max_new_tokens") return 1;
  if (key == "max_tokens") return 2;
  if (key == "max_completion_tokens") return 3;
  return -1;
}

struct Parsing {
  GenKwargs g;
  int max_tokens_rank = 99;
};

void set_gen_kwarg(Parsing& p, const std::string& key, const Value& value) {
  GenKwargs& g = p.g;
  if (key == "do_sample") g.do_sample = as_bool(key, value);
  else if (key == "temperature") g.temperature = in_range(key, value, 0, false, 1e6, "[0, 1e6]");
  else if (key == "top_p") g.top_p = in_range(key, value, 0, true, 1, "(0, 1]");
  else if (key == "min_p") g.min_p = in_range(key, value, 0, false, 1, "[0, 1]");
  else if (key == "repetition_penalty") g.repetition_penalty = in_range(key, value, 0, true, 1e6, "(0, 1e6]");
  else if (key == "presence_penalty") g.presence_penalty = in_range(key, value, -2, false, 2, "[-2, 2]");
  else if (key == "frequency_penalty") g.frequency_penalty = in_range(key, value, -2, false, 2, "[-2, 2]");
  else if (key == "min_tokens") g.min_tokens = whole_number(key, value, 0);
  else if (key == "top_k") g.top_k = as_number(key, value) == -1 ? 0 : whole_number(key, value, 0);  // -1: off (vLLM)
  else if (key == "seed") g.seed = static_cast<uint64_t>(whole_number(key, value, 0));
  else if (const int rank = alias_rank(key); rank >= 0) {
    const int64_t n = whole_number(key, value, 1);
    if (rank <= p.max_tokens_rank) g.max_gen_toks = n, p.max_tokens_rank = rank;
  } else if (key == "until") g.until = stop_list(value);
  else
    fail("--gen-kwargs: unknown key '{}' (known: do_sample, temperature, top_p, top_k, min_p, repetition_penalty, "
         "presence_penalty, frequency_penalty, min_tokens, seed, max_gen_toks, until)",
         key);
}

// key=value items split at commas outside quotes and brackets (lm-eval splits at every comma, so a
// list literal with two strings failed there; here it is one item).
std::vector<std::string> items_of(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  char quote = 0;
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      item += c;
      if (c == '\\' && i + 1 < text.size()) item += text[++i];
      else if (c == quote) quote = 0;
      continue;
    }
    if (c == ',' && depth == 0) {
      items.push_back(item);
      item.clear();
      continue;
    }
    if ((c == '\'' || c == '"') && item.find('=') != std::string::npos) quote = c;
    if (c == '[' || c == '(') ++depth;
    if ((c == ']' || c == ')') && depth > 0) --depth;
    item += c;
  }
  items.push_back(item);
  return items;
}

}  // namespace

GenKwargs parse_gen_kwargs(const std::string& text) {
  Parsing p;
  const size_t first = text.find_first_not_of(" \t");
  if (first != std::string::npos && text[first] == '{') {
    check_json_nesting(text, "--gen-kwargs");
    const auto object = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!object.is_object()) fail("--gen-kwargs: '{}' is not a JSON object", shown(text));
    for (const auto& [key, value] : object.items()) set_gen_kwarg(p, key, {value, json_text(value), false});
    return p.g;
  }
  for (const std::string& item : items_of(text)) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) fail("--gen-kwargs: '{}' is not key=value", shown(item));
    Value value;
    value.text = item.substr(eq + 1);
    value.json = cli_json(value.text, value.bare);
    set_gen_kwarg(p, item.substr(0, eq), value);
  }
  return p.g;
}

std::vector<std::string> given_keys(const GenKwargs& g) {
  std::vector<std::string> keys;
  auto add = [&](bool given, const char* key) {
    if (given) keys.push_back(key);
  };
  add(g.do_sample.has_value(), "do_sample");
  add(g.temperature.has_value(), "temperature");
  add(g.top_p.has_value(), "top_p");
  add(g.min_p.has_value(), "min_p");
  add(g.repetition_penalty.has_value(), "repetition_penalty");
  add(g.presence_penalty.has_value(), "presence_penalty");
  add(g.frequency_penalty.has_value(), "frequency_penalty");
  add(g.top_k.has_value(), "top_k");
  add(g.max_gen_toks.has_value(), "max_gen_toks");
  add(g.min_tokens.has_value(), "min_tokens");
  add(g.seed.has_value(), "seed");
  add(g.until.has_value(), "until");
  return keys;
}

GenerationDefaults effective_generation(GenerationDefaults d, const GenKwargs& g) {
  if (g.temperature) d.temperature = *g.temperature;
  if (g.do_sample) d.do_sample = *g.do_sample;  // every task states do_sample, so it is never inferred
  if (!d.do_sample) d.temperature = 0.0;
  if (g.top_p) d.top_p = *g.top_p;
  if (g.max_gen_toks) d.max_gen_toks = *g.max_gen_toks;
  if (g.until) d.until = *g.until;
  if (g.min_tokens && *g.min_tokens > d.max_gen_toks)  // vLLM refuses min_tokens > max_tokens
    fail("--gen-kwargs: min_tokens={} is more than max_gen_toks ({})", *g.min_tokens, d.max_gen_toks);
  return d;
}

std::string greedy_override_warning(const GenerationDefaults& task_defaults, const GenKwargs& g) {
  if (!g.temperature || *g.temperature == 0 || g.do_sample.value_or(task_defaults.do_sample)) return "";
  return fmt::format("--gen-kwargs temperature={} with do_sample false (the task's): decoding greedily, as lm-eval 0.4.10 "
                     "and later do (0.4.9 sampled); add do_sample=true to sample",
                     *g.temperature);
}

nlohmann::ordered_json generation_json(const GenerationDefaults& d, const GenKwargs& g) {
  nlohmann::ordered_json j = {{"until", d.until}, {"max_gen_toks", d.max_gen_toks}, {"do_sample", d.do_sample},
                              {"temperature", d.temperature}};
  if (d.do_sample) j["top_p"] = d.top_p;
  if (g.top_k) j["top_k"] = *g.top_k;
  if (g.min_p) j["min_p"] = *g.min_p;
  if (g.repetition_penalty) j["repetition_penalty"] = *g.repetition_penalty;
  if (g.presence_penalty) j["presence_penalty"] = *g.presence_penalty;
  if (g.frequency_penalty) j["frequency_penalty"] = *g.frequency_penalty;
  if (g.min_tokens) j["min_tokens"] = *g.min_tokens;
  if (g.seed) j["seed"] = *g.seed;
  return j;
}

}  // namespace tt::eval
