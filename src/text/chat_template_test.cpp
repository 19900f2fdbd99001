// Chat templates against python3-jinja2 set up like transformers (tools/gen_template_fixtures.py):
// every template x conversation x add_generation_prompt, text byte for byte and generation spans.
#include "text/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/test_util.h"

namespace {

using Json = nlohmann::ordered_json;

std::string fixtures() { return tt::testing::fixture_dir() + "/chat_templates"; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json load_json(const std::string& path) { return Json::parse(read_file(path)); }

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

const Json kSpecialTokens = {{"bos_token", "<|begin_of_text|>"}, {"eos_token", "<|eot_id|>"}};

TEST(ChatTemplate, MatchesTransformersRenderingForEveryFixture) {
  Json conversations = load_json(fixtures() + "/conversations.json");
  Json expected = load_json(fixtures() + "/expected.json");
  size_t checked = 0;
  for (const char* name : {"tiny_think", "llama3", "smollm2", "qwen2_5", "qwen3", "chatml_generation"}) {
    std::string path = fixtures() + "/templates/" + name + ".jinja";
    auto chat = tt::ChatTemplate::with_special_tokens(read_file(path), kSpecialTokens, path);
    for (auto it = conversations.begin(); it != conversations.end(); ++it) {
      for (bool agp : {false, true}) {
        std::string key = std::string(name) + "/" + it.key() + "/" + (agp ? "gen" : "nogen");
        SCOPED_TRACE(key);
        ASSERT_TRUE(expected.contains(key));
        const Json& want = expected[key];
        Json extra = {{"date_string", "26 Jul 2024"}};
        if (it.value().contains("extra"))
          for (auto e = it.value()["extra"].begin(); e != it.value()["extra"].end(); ++e) extra[e.key()] = e.value();
        ++checked;
        if (want.contains("error")) {
          std::string message = want["error"].get<std::string>();
          message = message.substr(message.find(": ") + 2);
          try {
            chat.render(it.value()["messages"], agp, extra);
            ADD_FAILURE() << "expected an error: " << message;
          } catch (const tt::Error& e) {
            EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
          }
          continue;
        }
        tt::RenderedChat got;
        try {
          got = chat.render(it.value()["messages"], agp, extra);
        } catch (const tt::Error& e) {
          ADD_FAILURE() << e.what();
          continue;
        }
        EXPECT_EQ(got.text, want["text"].get<std::string>());
        std::vector<std::pair<size_t, size_t>> spans;
        for (const auto& s : want["spans"]) spans.emplace_back(s[0].get<size_t>(), s[1].get<size_t>());
        EXPECT_EQ(got.generation_spans, spans);
      }
    }
  }
  EXPECT_EQ(checked, expected.size());
}

TEST(ChatTemplate, StudyTemplateFixtureIsTheReferenceFile) {
  std::string reference = tt::testing::shared_dir() + "/reference/tiny-think/chat_template.jinja";
  if (!std::filesystem::exists(reference)) GTEST_SKIP() << "no " << reference;
  EXPECT_EQ(read_file(reference), read_file(fixtures() + "/templates/tiny_think.jinja"));
}

// The study's template: generation spans cover exactly each assistant message's trimmed content,
// and the default system prompt carries two backslashes before "boxed".
TEST(ChatTemplate, StudyTemplateSpansCoverTrimmedAssistantContent) {
  tt::ChatTemplate chat(read_file(fixtures() + "/templates/tiny_think.jinja"), std::string("<|begin_of_text|>"), std::string("<|eot_id|>"));
  Json messages = Json::array({{{"role", "user"}, {"content", "Solve x+1=2."}},
                               {{"role", "assistant"}, {"content", "  <think>x=1</think> \\boxed{1}\n"}},
                               {{"role", "user"}, {"content", "And 2x=4?"}},
                               {{"role", "assistant"}, {"content", "<think>é</think>\\boxed{2}"}}});
  tt::RenderedChat r = chat.render(messages, false);
  ASSERT_EQ(r.generation_spans.size(), 2u);
  auto span_text = [&](size_t i) {
    return r.text.substr(r.generation_spans[i].first, r.generation_spans[i].second - r.generation_spans[i].first);
  };
  EXPECT_EQ(span_text(0), "<think>x=1</think> \\boxed{1}");
  EXPECT_EQ(span_text(1), "<think>é</think>\\boxed{2}");
  EXPECT_EQ(r.text.substr(r.generation_spans[0].second, 10), "<|eot_id|>");
  EXPECT_NE(r.text.find("within \\\\boxed{}."), std::string::npos);
}

TEST(ChatTemplate, LlamaHeaderUsesTodayWithoutDateString) {
  auto chat = tt::ChatTemplate::with_special_tokens(read_file(fixtures() + "/templates/llama3.jinja"), kSpecialTokens);
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char today[32];
  std::strftime(today, sizeof today, "%d %b %Y", &local);
  std::string text = chat.render(Json::array({{{"role", "user"}, {"content", "hi"}}}), true).text;
  EXPECT_NE(text.find(std::string("Today Date: ") + today + "\n"), std::string::npos) << text;
}

TEST(ChatTemplate, FromTokenizerConfigStringListDirectoryAndJinjaFile) {
  std::string dir = tt::testing::make_temp_dir("chat-template");
  Json config = {{"bos_token", {{"__type", "AddedToken"}, {"content", "<s>"}}},
                 {"eos_token", "</s>"},
                 {"pad_token", nullptr},
                 {"chat_template", "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}{{ eos_token }}|{{ pad_token is defined }}"}};
  write_file(dir + "/tokenizer_config.json", config.dump());
  Json messages = Json::array({{{"role", "user"}, {"content", "a"}}});
  EXPECT_EQ(tt::ChatTemplate::from_tokenizer_config(dir).render(messages, false).text, "<s>a</s>|False");
  EXPECT_EQ(tt::ChatTemplate::from_tokenizer_config(dir + "/tokenizer_config.json").render(messages, false).text,
            "<s>a</s>|False");

  config["chat_template"] = Json::array({{{"name", "tool_use"}, {"template", "T"}}, {{"name", "default"}, {"template", "D{{ eos_token }}"}}});
  write_file(dir + "/tokenizer_config.json", config.dump());
  EXPECT_EQ(tt::ChatTemplate::from_tokenizer_config(dir).render(messages, false).text, "D</s>");

  write_file(dir + "/chat_template.jinja", "J{{ messages | length }}\n");
  EXPECT_EQ(tt::ChatTemplate::from_tokenizer_config(dir).render(messages, false).text, "J1");

  std::filesystem::remove(dir + "/chat_template.jinja");
  config.erase("chat_template");
  write_file(dir + "/tokenizer_config.json", config.dump());
  EXPECT_THROW(tt::ChatTemplate::from_tokenizer_config(dir), tt::Error);
  write_file(dir + "/tokenizer_config.json", "{ not json");
  EXPECT_THROW(tt::ChatTemplate::from_tokenizer_config(dir), tt::Error);
  std::filesystem::remove_all(dir);
}

TEST(ChatTemplate, ToolsAndDocumentsAreNoneUnlessGiven) {
  tt::ChatTemplate chat("{{ tools is none }} {{ documents is none }} {{ add_generation_prompt }} {{ flag }}", std::string(), std::string());
  EXPECT_EQ(chat.render(Json::array(), true, {{"flag", 3}}).text, "True True True 3");
}

}  // namespace
