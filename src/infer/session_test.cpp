#include "infer/session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "infer/test_models.h"
#include "io/file.h"
#include "tests/error_of.h"
#include "tests/test_util.h"

namespace tt::infer {
namespace {

// A saved tiny model; with the tiny byte-level tokenizer unless `with_tokenizer` is false.
std::string saved_model(const std::string& tag, bool with_tokenizer) {
  const std::string dir = tt::testing::make_temp_dir(tag);
  Model model = testing::tiny_model(3, 0.3);
  if (with_tokenizer) testing::write_tiny_tokenizer(dir);
  save_model(model, dir + "/model", {.tokenizer_source = with_tokenizer ? dir + "/tokenizer.json" : ""});
  return dir + "/model";
}

std::string error_of(const std::string& dir, const SessionOptions& o) {
  return tt::testing::error_of([&] { open_session(dir, o); });
}

TEST(Session, LoadsModelTokenizerEosAndEngine) {
  const std::string dir = saved_model("session-full", true);
  const auto s = open_session(dir, {.chat_template = Need::IfPresent});
  ASSERT_TRUE(s->tokenizer);
  EXPECT_FALSE(s->chat_template);
  EXPECT_EQ(s->dir, dir);
  EXPECT_EQ(s->model.config.vocab_size, 260);
  EXPECT_EQ(s->eos_ids, std::vector<int32_t>{259});
  const auto ids = s->tokenizer->encode("hello", false);
  const auto results = s->engine->generate({{ids, {.temperature = 0.0f, .max_new_tokens = 3, .ignore_eos = true}}});
  EXPECT_EQ(results[0].samples[0].ids.size(), 3u);
}

TEST(Session, MissingPartsAreOptionalOrClearErrors) {
  const std::string dir = saved_model("session-bare", false);
  const auto s = open_session(dir, {.tokenizer = Need::IfPresent, .chat_template = Need::No});
  EXPECT_FALSE(s->tokenizer);
  EXPECT_EQ(error_of(dir, {.tokenizer_missing_hint = "evaluation needs one"}),
            dir + ": no tokenizer files (tokenizer.json or tokenizer.model); evaluation needs one");
  const std::string with_tokenizer = saved_model("session-notemplate", true);
  EXPECT_EQ(error_of(with_tokenizer, {.chat_template_missing = "no template here"}), with_tokenizer + ": no template here");
}

TEST(Session, TokenizerLargerThanTheVocabularyFailsWhenAsked) {
  const std::string dir = tt::testing::make_temp_dir("session-vocab");
  testing::write_tiny_tokenizer(dir);
  ModelConfig config = testing::tiny_model().config;
  config.vocab_size = 200;
  config.eos_token_ids = {};
  save_model(init_model(config, 1), dir + "/model", {.tokenizer_source = dir + "/tokenizer.json"});
  EXPECT_NE(error_of(dir + "/model", {.chat_template = Need::No, .tokenizer_fits_vocab = true}).find("vocab_size"),
            std::string::npos);
  EXPECT_EQ(error_of(dir + "/model", {.chat_template = Need::No}), "(no error)");
}

// The tokenizer's eos_token (tokenizer_config.json) ends completions besides the model's EOS ids, as
// vLLM stops on tokenizer.eos_token_id too: with a template file, with the model's template, and with
// no template at all.
TEST(Session, TemplateFileKeepsSpecialTokensAndTheTokenizersEosEndsCompletions) {
  const std::string dir = saved_model("session-template", true);
  write_file_atomic(dir + "/tokenizer_config.json",
             nlohmann::json{{"chat_template", "{{ messages[0]['content'] }}"}, {"eos_token", "a"}}.dump());
  const std::string file = dir + "/other.jinja";
  write_file_atomic(file, "[{{ eos_token }}]{% for m in messages %}{{ m['content'] }}{% endfor %}");
  const auto s = open_session(dir, {.chat_template_file = file});
  ASSERT_TRUE(s->chat_template);
  nlohmann::ordered_json messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", "hi"}}});
  EXPECT_EQ(s->chat_template->render(messages, true).text, "[a]hi");
  const int32_t a = s->tokenizer->token_to_id("a");
  ASSERT_GE(a, 0);
  EXPECT_NE(std::find(s->eos_ids.begin(), s->eos_ids.end(), a), s->eos_ids.end());
  for (const Need need : {Need::Required, Need::No}) {
    const auto plain = open_session(dir, {.chat_template = need});
    EXPECT_NE(std::find(plain->eos_ids.begin(), plain->eos_ids.end(), a), plain->eos_ids.end());
  }
  std::filesystem::remove(dir + "/tokenizer_config.json");
  const auto bare = open_session(dir, {.chat_template = Need::No});
  EXPECT_EQ(std::find(bare->eos_ids.begin(), bare->eos_ids.end(), a), bare->eos_ids.end());
}

}  // namespace
}  // namespace tt::infer
