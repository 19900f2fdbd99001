// `tinythink chat-template` end to end: exact stdout, and one-line errors.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

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

}  // namespace
