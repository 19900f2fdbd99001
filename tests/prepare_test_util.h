// Shared by the prepare tests: the GSM8K fixture, the Llama-3 tokenizer and the study's chat
// template, loaded once per test binary (the tokenizer takes a while to load).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/file.h"
#include "io/jsonl.h"
#include "tests/test_util.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace tt::testing {

struct PrepareEnv {
  Tokenizer tok;
  ChatTemplate chat;
  std::vector<nlohmann::ordered_json> rows;  // the fixture's "messages" lists

  static std::string tokenizer_path() { return shared_dir() + "/data/tokenizer/llama3/tokenizer.json"; }
  static std::string template_path() { return shared_dir() + "/reference/tiny-think/chat_template.jinja"; }
  static std::string fixture_path() { return shared_dir() + "/data/fixtures/gsm8k_train_sft_messages.first256.jsonl"; }

  static const PrepareEnv& get() {
    static const PrepareEnv env = [] {
      Tokenizer tok = Tokenizer::load(tokenizer_path());
      ChatTemplate chat(read_file(template_path()), tok.id_to_token(tok.bos_id()), tok.id_to_token(tok.eos_id()));
      std::vector<nlohmann::ordered_json> rows;
      read_jsonl(fixture_path(), [&](int64_t, const nlohmann::json& row) {
        rows.push_back(nlohmann::ordered_json::parse(row["messages"].dump()));
      });
      return PrepareEnv{std::move(tok), std::move(chat), std::move(rows)};
    }();
    return env;
  }
};

}  // namespace tt::testing
