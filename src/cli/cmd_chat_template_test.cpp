// `tinythink chat-template` end to end: exact stdout, and one-line errors.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"
#include "text/chat_encode.h"

namespace {

using Json = nlohmann::ordered_json;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void write_file(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

class ChatTemplateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tt::testing::make_temp_dir("chat-template-cli");
    std::string fixtures = tt::testing::fixture_dir() + "/chat_templates";
    Json config = {{"bos_token", "<|begin_of_text|>"},
                   {"eos_token", "<|eot_id|>"},
                   {"chat_template", read_file(fixtures + "/templates/tiny_think.jinja")}};
    write_file(dir_ + "/tokenizer_config.json", config.dump(2));
    Json conversations = Json::parse(read_file(fixtures + "/conversations.json"));
    write_file(dir_ + "/messages.json", conversations["multi_turn"]["messages"].dump());
    expected_ = Json::parse(read_file(fixtures + "/expected.json"));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  Json expected_;
};

TEST_F(ChatTemplateCli, WritesExactlyTheRenderedText) {
  auto r = tt::testing::run_cli("chat-template --tokenizer-config " + dir_ + " --messages " + dir_ +
                                "/messages.json --add-generation-prompt");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, expected_["tiny_think/multi_turn/gen"]["text"].get<std::string>());
  r = tt::testing::run_cli("chat-template --tokenizer-config " + dir_ + "/tokenizer_config.json --messages " + dir_ +
                           "/messages.json");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, expected_["tiny_think/multi_turn/nogen"]["text"].get<std::string>());
}

TEST_F(ChatTemplateCli, MalformedMessagesIsOneLineNamingTheFile) {
  write_file(dir_ + "/bad.json", "[{\"role\": \"user\", \"content\": ");
  auto r = tt::testing::run_cli("chat-template --tokenizer-config " + dir_ + " --messages " + dir_ + "/bad.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(dir_ + "/bad.json: malformed messages JSON"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << r.output;

  write_file(dir_ + "/notlist.json", "{\"role\": \"user\"}");
  r = tt::testing::run_cli("chat-template --tokenizer-config " + dir_ + " --messages " + dir_ + "/notlist.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("notlist.json: messages must be a JSON list"), std::string::npos) << r.output;
}

TEST_F(ChatTemplateCli, TemplateErrorsAreOneLine) {
  Json config = {{"chat_template", "{% for m in messages %}\n{{ raise_exception('no ' ~ m.role) }}{% endfor %}"}};
  write_file(dir_ + "/tokenizer_config.json", config.dump());
  auto r = tt::testing::run_cli("chat-template --tokenizer-config " + dir_ + " --messages " + dir_ + "/messages.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("tokenizer_config.json:2:4: template raised an exception: no system"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << r.output;
}

std::string llama3_dir() { return tt::testing::shared_dir() + "/data/tokenizer/llama3"; }

std::string join(const auto& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ' ';
    out += std::to_string(static_cast<int64_t>(values[i]));
  }
  return out;
}

TEST_F(ChatTemplateCli, MaskPrintsIdsThenMask) {
  for (bool agp : {false, true}) {
    std::string args = "chat-template --tokenizer-config " + dir_ + " --messages " + dir_ + "/messages.json --mask --tokenizer " +
                       llama3_dir() + "/tokenizer.json" + (agp ? " --add-generation-prompt" : "");
    auto r = tt::testing::run_cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto tok = tt::Tokenizer::load(llama3_dir() + "/tokenizer.json");
    auto chat = tt::ChatTemplate::from_tokenizer_config(dir_);
    auto want = tt::encode_chat(tok, chat, Json::parse(read_file(dir_ + "/messages.json")), agp);
    EXPECT_EQ(r.output, join(want.ids) + "\n" + join(want.assistant_mask) + "\n");
    size_t ones = 0;
    for (uint8_t m : want.assistant_mask) ones += m;
    EXPECT_GT(ones, 0u);
  }
}

TEST_F(ChatTemplateCli, MaskFindsTheTokenizerBesideTheConfig) {
  std::filesystem::create_symlink(llama3_dir() + "/tokenizer.json", dir_ + "/tokenizer.json");
  std::string base = "chat-template --messages " + dir_ + "/messages.json --mask --tokenizer-config ";
  auto by_dir = tt::testing::run_cli(base + dir_);
  auto by_file = tt::testing::run_cli(base + dir_ + "/tokenizer_config.json");
  auto explicit_path = tt::testing::run_cli(base + dir_ + " --tokenizer " + llama3_dir() + "/tokenizer.model");
  EXPECT_EQ(by_dir.exit_code, 0) << by_dir.output;
  EXPECT_EQ(by_dir.output, by_file.output);
  EXPECT_EQ(by_dir.output, explicit_path.output);
  EXPECT_EQ(std::count(by_dir.output.begin(), by_dir.output.end(), '\n'), 2);
}

TEST_F(ChatTemplateCli, MaskWithoutTokenizerIsOneLineNamingIt) {
  auto r = tt::testing::run_cli("chat-template --tokenizer-config " + dir_ + " --messages " + dir_ + "/messages.json --mask");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(dir_ + ": no tokenizer.json or tokenizer.model"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << r.output;

  r = tt::testing::run_cli("chat-template --tokenizer-config " + dir_ + " --messages " + dir_ + "/messages.json --mask --tokenizer " +
                           dir_ + "/missing/tokenizer.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(dir_ + "/missing/tokenizer.json: no such file"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << r.output;
}

}  // namespace
