#include "infer/request.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "infer/test_models.h"
#include "tests/error_of.h"
#include "tests/test_util.h"

namespace tt::infer {
namespace {

using tt::testing::error_of;

TEST(Request, SamplingFieldsOverrideDefaultsAndOtherKeysPass) {
  SamplingParams defaults;
  defaults.max_new_tokens = 9;
  const auto row = nlohmann::json::parse(R"({"prompt": "x", "temperature": 0.5, "stop": "END", "my_id": 3})");
  const SamplingParams p = sampling_params_from_row("in.jsonl:1", row, defaults);
  EXPECT_EQ(p.max_new_tokens, 9);
  EXPECT_FLOAT_EQ(p.temperature, 0.5f);
  EXPECT_EQ(p.stop, std::vector<std::string>{"END"});
}

TEST(Request, MisspeltOrBadSamplingKeysNameTheLine) {
  const auto typo = nlohmann::json::parse(R"({"prompt": "x", "top-p": 0.5})");
  EXPECT_NE(error_of([&] { sampling_params_from_row("in.jsonl:2", typo, {}); })
                .find("in.jsonl:2: unknown sampling key 'top-p' (did you mean 'top_p'?"),
            std::string::npos);
  const auto wrong_type = nlohmann::json::parse(R"({"prompt": "x", "top_k": "many"})");
  EXPECT_EQ(error_of([&] { sampling_params_from_row("in.jsonl:3", wrong_type, {}); }),
            "in.jsonl:3: 'top_k' has the wrong type (\"many\")");
}

TEST(Request, PromptIdsFromTextOrIds) {
  const std::string dir = tt::testing::make_temp_dir("request-ids");
  testing::write_tiny_tokenizer(dir);
  save_model(testing::tiny_model(), dir + "/model", {.tokenizer_source = dir + "/tokenizer.json"});
  const auto session = open_session(dir + "/model", {.chat_template = Need::No});
  EXPECT_EQ(prompt_ids_from_row("r", nlohmann::json::parse(R"({"prompt": "hello"})"), false, *session),
            session->tokenizer->encode("hello", true));
  EXPECT_EQ(prompt_ids_from_row("r", nlohmann::json::parse(R"({"ids": [1, 2]})"), false, *session),
            (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(error_of([&] { prompt_ids_from_row("r", nlohmann::json::parse(R"({"ids": [300]})"), false, *session); }),
            "r: token id 300 out of range (vocab size 260)");
  EXPECT_EQ(error_of([&] { prompt_ids_from_row("r", nlohmann::json::parse(R"({"messages": []})"), false, *session); }),
            "r: 'messages' needs --chat");
}

}  // namespace
}  // namespace tt::infer
