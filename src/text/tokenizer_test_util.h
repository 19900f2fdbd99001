// Test helpers: the Llama-3 tokenizer loaded once per test binary, both file formats.
#pragma once
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace tt::testing {

inline std::string llama3_dir() { return shared_dir() + "/data/tokenizer/llama3"; }

inline const Tokenizer& llama3_json() {
  static const Tokenizer tok = Tokenizer::load(llama3_dir() + "/tokenizer.json");
  return tok;
}

inline const Tokenizer& llama3_tiktoken() {
  static const Tokenizer tok = Tokenizer::load(llama3_dir() + "/tokenizer.model");
  return tok;
}

inline const Tokenizer& llama3(const std::string& format) {
  return format == "json" ? llama3_json() : llama3_tiktoken();
}

inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A small valid tokenizer.json (256 byte tokens, three merges, <eos> = 259).
inline nlohmann::json tiny_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[utf8::byte_level_encode(std::string(1, static_cast<char>(b)))] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  vocab["Ġab"] = 258;
  return {
      {"version", "1.0"},
      {"added_tokens", {{{"id", 259}, {"content", "<eos>"}, {"special", true}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b", "ab c", "Ġ ab"}}}},
  };
}

}  // namespace tt::testing
