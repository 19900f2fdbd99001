// A micro llama4_text model config (tests/fixtures/parity/tiny_llama4) with the real Llama-3
// vocabulary, so the shared Llama-3 tokenizer fits it: for tests that train through the CLI.
#pragma once
#include <string>

#include "io/file.h"
#include "tests/test_util.h"

namespace tt::testing {

inline void write_micro_llama3_vocab_config(const std::string& path) {
  nlohmann::json config = read_json_file(fixture_dir() + "/parity/tiny_llama4/config.json");
  config["vocab_size"] = 128256;
  config["bos_token_id"] = 128000;
  config["eos_token_id"] = 128009;
  config["max_position_embeddings"] = 4096;
  write_json_file(path, config);
}

}  // namespace tt::testing
