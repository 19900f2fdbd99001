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
            "in.jsonl:3: 'top_k' must be an integer, got \"many\"");
  const auto wrong_float = nlohmann::json::parse(R"({"prompt": "x", "temperature": "hot"})");
  EXPECT_EQ(error_of([&] { sampling_params_from_row("in.jsonl:4", wrong_float, {}); }),
            "in.jsonl:4: 'temperature' has the wrong type (\"hot\")");
}

// vLLM options the engine does not implement: their no-op values pass (requests written for vLLM spell
// out defaults), any other value is an error rather than being copied to the output unapplied.
TEST(Request, UnimplementedVllmOptionsPassOnlyAsNoOps) {
  const auto row = nlohmann::json::parse(R"({"prompt": "x", "presence_penalty": 0, "frequency_penalty": 0.0,
      "min_tokens": 0, "include_stop_str_in_output": false, "skip_special_tokens": false, "logprobs": null,
      "logit_bias": {}, "bad_words": [], "best_of": 1})");
  EXPECT_EQ(error_of([&] { sampling_params_from_row("in.jsonl:1", row, {}); }), "(no error)");
  for (const char* field : {R"("include_stop_str_in_output": true)", R"("logit_bias": {"7": -100})",
                            R"("best_of": 3)"}) {
    const auto bad = nlohmann::json::parse(std::string(R"({"prompt": "x", )") + field + "}");
    const std::string e = error_of([&] { sampling_params_from_row("in.jsonl:5", bad, {}); });
    EXPECT_EQ(e.rfind("in.jsonl:5: '", 0), 0u) << e;
    EXPECT_NE(e.find("is a vLLM sampling option that tinythink does not implement"), std::string::npos) << e;
  }
}

// vLLM's skip_special_tokens (default true) is read; spaces_between_special_tokens, which vLLM V1's fast
// detokenizer does not have, passes with either value.
TEST(Request, SkipSpecialTokensIsReadAndSpacesBetweenThemPass) {
  EXPECT_TRUE(sampling_params_from_row("in.jsonl:1", nlohmann::json::parse(R"({"prompt": "x"})"), {}).skip_special_tokens);
  EXPECT_FALSE(sampling_params_from_row("in.jsonl:1",
                                        nlohmann::json::parse(R"({"prompt": "x", "skip_special_tokens": false,
                                                                  "spaces_between_special_tokens": true})"),
                                        {})
                   .skip_special_tokens);
  EXPECT_EQ(error_of([&] {
              sampling_params_from_row("in.jsonl:2", nlohmann::json::parse(R"({"prompt": "x", "skip_special_tokens": 1})"),
                                       {});
            }),
            "in.jsonl:2: 'skip_special_tokens' has the wrong type (1)");
}

// vLLM's logprobs: an integer in [0, 20] (its default max_logprobs), null for none.
TEST(Request, LogprobsAreReadAndBounded) {
  EXPECT_EQ(sampling_params_from_row("in.jsonl:1", nlohmann::json::parse(R"({"prompt": "x", "logprobs": 5})"), {}).logprobs,
            std::optional<int64_t>(5));
  EXPECT_FALSE(sampling_params_from_row("in.jsonl:1", nlohmann::json::parse(R"({"prompt": "x", "logprobs": null})"), {})
                   .logprobs.has_value());
  EXPECT_EQ(error_of([&] {
              sampling_params_from_row("in.jsonl:2", nlohmann::json::parse(R"({"prompt": "x", "logprobs": 21})"), {});
            }),
            "in.jsonl:2: logprobs must be in [0, 20] (vLLM's default max_logprobs; 0 = the sampled token's only), got 21");
  EXPECT_EQ(error_of([&] {
              sampling_params_from_row("in.jsonl:3", nlohmann::json::parse(R"({"prompt": "x", "logprobs": 1.5})"), {});
            }),
            "in.jsonl:3: 'logprobs' must be an integer, got 1.5");
}

// vLLM's presence and frequency penalties and min_tokens are read (and checked) as the engine applies them.
TEST(Request, VllmPenaltiesAndMinTokensAreRead) {
  const auto row = nlohmann::json::parse(
      R"({"prompt": "x", "presence_penalty": 0.5, "frequency_penalty": -1.25, "min_tokens": 4, "max_tokens": 9})");
  const SamplingParams p = sampling_params_from_row("in.jsonl:1", row, {});
  EXPECT_EQ(p.presence_penalty, 0.5f);
  EXPECT_EQ(p.frequency_penalty, -1.25f);
  EXPECT_EQ(p.min_tokens, 4);
  const auto bad = [](const char* text) {
    return error_of([&] { sampling_params_from_row("in.jsonl:3", nlohmann::json::parse(text), {}); });
  };
  EXPECT_EQ(bad(R"({"prompt": "x", "presence_penalty": 3})"), "in.jsonl:3: presence_penalty must be in [-2, 2], got 3");
  EXPECT_EQ(bad(R"({"prompt": "x", "min_tokens": 2.5})"), "in.jsonl:3: 'min_tokens' must be an integer, got 2.5");
  EXPECT_EQ(bad(R"({"prompt": "x", "min_tokens": 10, "max_tokens": 9})"),
            "in.jsonl:3: min_tokens must be <= max_new_tokens (9), got 10");
  EXPECT_EQ(bad(R"({"prompt": "x", "frequency_penalty": "1"})"), "in.jsonl:3: 'frequency_penalty' has the wrong type (\"1\")");
  EXPECT_NE(bad(R"({"prompt": "x", "presence-penalty": 1})").find("did you mean 'presence_penalty'"), std::string::npos);
}

// vLLM's max_tokens is max_new_tokens; given both, they must agree.
TEST(Request, VllmMaxTokensIsMaxNewTokens) {
  const auto params = [](const char* row) { return sampling_params_from_row("r", nlohmann::json::parse(row), {}); };
  EXPECT_EQ(params(R"({"prompt": "x", "max_tokens": 7})").max_new_tokens, 7);
  EXPECT_EQ(params(R"({"prompt": "x", "max_tokens": 7, "max_new_tokens": 7})").max_new_tokens, 7);
  EXPECT_NE(error_of([&] { params(R"({"prompt": "x", "max_tokens": 7, "max_new_tokens": 8})"); }).find("disagree"),
            std::string::npos);
  EXPECT_NE(error_of([&] { params(R"({"prompt": "x", "maxTokens": 7})"); }).find("did you mean 'max_new_tokens'"),
            std::string::npos);
}

// Integers are taken exactly: never truncated from a float nor wrapped into the field's type.
TEST(Request, IntegerFieldsAreExactAndInRange) {
  const auto params = [](const char* row) { return sampling_params_from_row("r", nlohmann::json::parse(row), {}); };
  EXPECT_EQ(params(R"({"seed": 18446744073709551615})").seed, 18446744073709551615ull);
  EXPECT_EQ(params(R"({"top_k": 7, "n": 3, "stop_token_ids": [0, 2147483647]})").stop_token_ids.back(), 2147483647);
  EXPECT_EQ(error_of([&] { params(R"({"n": 2.0})"); }), "r: 'n' must be an integer, got 2.0");
  EXPECT_EQ(error_of([&] { params(R"({"seed": -1})"); }), "r: 'seed' is out of range (-1; expected 0 to 18446744073709551615)");
  EXPECT_EQ(error_of([&] { params(R"({"stop_token_ids": [-2147483649]})"); }),
            "r: 'stop_token_ids' is out of range (-2147483649; expected -2147483648 to 2147483647)");
  EXPECT_EQ(error_of([&] { params(R"({"max_new_tokens": 1e30})"); }), "r: 'max_new_tokens' must be an integer, got 1e+30");
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
