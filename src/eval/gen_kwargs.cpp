#include "eval/gen_kwargs.h"

#include "core/error.h"

namespace tt::eval {

namespace {

bool parse_bool(const std::string& key, const std::string& v) {
  if (v == "true" || v == "True" || v == "1") return true;
  if (v == "false" || v == "False" || v == "0") return false;
  fail("--gen-kwargs: {}={} is not a boolean (true/false)", key, v);
}

double parse_double(const std::string& key, const std::string& v) {
  try {
    size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  fail("--gen-kwargs: {}={} is not a number", key, v);
}

// A value the sampler can use: `temperature=-1` used to fall back to greedy decoding, nan alike,
// `top_p=2` was ignored, and `max_gen_toks=1e30` overflowed the integer it was cast to.
double in_range(const std::string& key, const std::string& v, double lo, bool lo_open, double hi, const char* range) {
  const double d = parse_double(key, v);
  if (!(lo_open ? d > lo : d >= lo) || !(d <= hi)) fail("--gen-kwargs: {}={} must be in {}", key, v, range);
  return d;
}

int64_t whole_number(const std::string& key, const std::string& v, int64_t lo) {
  const double d = parse_double(key, v);
  if (!(d >= static_cast<double>(lo) && d <= 1e15) || d != static_cast<double>(static_cast<int64_t>(d)))
    fail("--gen-kwargs: {}={} must be a whole number >= {}", key, v, lo);
  return static_cast<int64_t>(d);
}

std::vector<std::string> split_until(const std::string& value) {
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

void set_gen_kwarg(GenKwargs& g, const std::string& key, const std::string& value) {
  if (key == "do_sample") g.do_sample = parse_bool(key, value);
  else if (key == "temperature") g.temperature = in_range(key, value, 0, false, 1e6, "[0, 1e6]");
  else if (key == "top_p") g.top_p = in_range(key, value, 0, true, 1, "(0, 1]");
  else if (key == "top_k") g.top_k = whole_number(key, value, 0);
  else if (key == "max_gen_toks" || key == "max_new_tokens" || key == "max_tokens")
    g.max_gen_toks = whole_number(key, value, 1);
  else if (key == "until") g.until = split_until(value);
  else fail("--gen-kwargs: unknown key '{}' (known: do_sample, temperature, top_p, top_k, max_gen_toks, until)", key);
}

}  // namespace

GenKwargs parse_gen_kwargs(const std::string& text) {
  GenKwargs g;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) fail("--gen-kwargs: '{}' is not key=value", item);
    set_gen_kwarg(g, item.substr(0, eq), item.substr(eq + 1));
  }
  return g;
}

GenerationDefaults effective_generation(GenerationDefaults d, const GenKwargs& g) {
  if (g.temperature) {
    d.temperature = *g.temperature;
    if (!g.do_sample) d.do_sample = *g.temperature > 0;
  }
  if (g.do_sample) d.do_sample = *g.do_sample;
  if (g.top_p) d.top_p = *g.top_p;
  if (g.max_gen_toks) d.max_gen_toks = *g.max_gen_toks;
  if (g.until) d.until = *g.until;
  return d;
}

nlohmann::ordered_json generation_json(const GenerationDefaults& d, const GenKwargs& g) {
  nlohmann::ordered_json j = {{"until", d.until}, {"max_gen_toks", d.max_gen_toks}, {"do_sample", d.do_sample},
            {"temperature", d.do_sample ? d.temperature : 0.0}};
  if (d.do_sample) j["top_p"] = d.top_p;
  if (g.top_k) j["top_k"] = *g.top_k;
  return j;
}

}  // namespace tt::eval
