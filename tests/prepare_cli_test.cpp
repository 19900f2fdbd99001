// `tinythink prepare` end to end: the printed summary, the cache message, and bad input lines in
// fail mode (one line naming file:line, non-zero exit, nothing written) and skip mode.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "data/shard.h"
#include "io/file.h"
#include "tests/prepare_test_util.h"
#include "tests/test_util.h"

namespace tt {
namespace {

using testing::PrepareEnv;
using testing::run_cli;

std::string prepare_args(const std::string& input, const std::string& out) {
  return "prepare --input " + input + " --tokenizer " + PrepareEnv::tokenizer_path() + " --chat-template " +
         PrepareEnv::template_path() + " --out " + out;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(PrepareCli, FixtureSummaryAndCache) {
  std::string dir = testing::make_temp_dir("prepare-cli");
  std::string sources = testing::shared_dir() + "/reference/tiny-think/data-sources/sft_source_values.txt";
  std::string args = prepare_args(PrepareEnv::fixture_path(), dir + "/a.ttshard") + " --max-length 4096 --default-source gsm8k" +
                     " --sources-file " + sources + " --cache-dir " + dir + "/cache";
  auto first = run_cli(args);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("rows read 256, kept 256 (0 truncated to max_length); dropped: source filter 0"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("gsm8k"), std::string::npos);
  EXPECT_EQ(first.output.find("reused cached shard"), std::string::npos);
  TokenShard shard = TokenShard::open(dir + "/a.ttshard");
  EXPECT_EQ(shard.size(), 256u);
  nlohmann::json summary = read_json_file(dir + "/a.ttshard.summary.json");
  EXPECT_EQ(summary["total_tokens"], shard.total_tokens());

  auto second = run_cli(args);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("reused cached shard"), std::string::npos) << second.output;

  auto changed = run_cli(args + " --seed 1 --token-budget 10k");
  ASSERT_EQ(changed.exit_code, 0) << changed.output;
  EXPECT_EQ(changed.output.find("reused cached shard"), std::string::npos) << changed.output;
  EXPECT_LE(TokenShard::open(dir + "/a.ttshard").total_tokens(), 10000);
}

// --out into a folder that does not exist yet: it is created (the run failed with "cannot create
// temporary file", and with --cache-dir blamed the cache).
TEST(PrepareCli, OutIntoANewFolder) {
  std::string dir = testing::make_temp_dir("prepare-cli-new");
  auto plain = run_cli(prepare_args(PrepareEnv::fixture_path(), dir + "/new/deeper/a.ttshard"));
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_EQ(TokenShard::open(dir + "/new/deeper/a.ttshard").size(), 256u);
  auto cached = run_cli(prepare_args(PrepareEnv::fixture_path(), dir + "/other/b.ttshard") + " --cache-dir " + dir + "/cache");
  ASSERT_EQ(cached.exit_code, 0) << cached.output;
  EXPECT_EQ(cached.output.find("unusable cache entry"), std::string::npos) << cached.output;
  EXPECT_EQ(TokenShard::open(dir + "/other/b.ttshard").size(), 256u);
}

// One bad line per case, after a good first line; each must be reported as file:line.
struct BadCase {
  const char* line;
  const char* reason;
};
const BadCase kBadCases[] = {
    {R"({"messages": [{"role": "user", "content": "hi"}, )", "invalid JSON"},
    {R"(["messages"])", "expected a JSON object"},
    {R"({"id": 3, "note": "no messages"})", "expected 'messages', 'conversations', 'prompt' and 'completion', or 'text'"},
    {R"({"prompt": "2+2?"})", "needs both 'prompt' and 'completion'"},
    {R"({"prompt": "2+2?", "completion": [{"role": "assistant", "content": "4"}]})", "both be text or both be message lists"},
    {R"({"conversations": [{"from": "robot", "value": "beep"}]})", "unknown role 'robot'"},
    {R"({"text": "plain text with the default --assistant-only-loss"})", "assistant_only_loss needs conversational rows"},
    {R"({"messages": "hello"})", "'messages' is not a list"},
    {R"({"messages": [{"role": "robot", "content": "beep"}]})", "unknown role 'robot'"},
    {R"({"messages": [{"role": "user", "content": ["a", "b"]}]})", "'content' is not a string"},
    {R"({"messages": [{"role": "user", "content": null}]})", "'content' is not a string"},
    {R"({"messages": [{"role": "user"}]})", "missing 'content'"},
    {R"({"messages": [{"role": "user", "content": "x"}], "dataset_source": 5})", "'dataset_source' is not a string"},
};
const char* kGood = R"({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]})";

TEST(PrepareCli, BadLinesFailWithFileLineAndWriteNothing) {
  for (const BadCase& c : kBadCases) {
    std::string dir = testing::make_temp_dir("prepare-bad");
    std::string input = dir + "/bad.jsonl";
    std::ofstream(input) << kGood << "\n\n" << c.line << "\n" << kGood << "\n";
    auto r = run_cli(prepare_args(input, dir + "/out.ttshard"));
    EXPECT_NE(r.exit_code, 0) << c.line;
    // Line 3: the blank line 2 still counts.
    EXPECT_NE(r.output.find(input + ":3: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(c.reason), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_EQ(list_dir(dir), std::vector<std::string>{"bad.jsonl"}) << c.line;  // no shard, no temp file
  }
}

TEST(PrepareCli, BadLinesSkippedAndCounted) {
  std::string dir = testing::make_temp_dir("prepare-bad");
  std::string input = dir + "/bad.jsonl";
  {
    std::ofstream out(input);
    out << kGood << "\n";
    for (const BadCase& c : kBadCases) out << c.line << "\n" << kGood << "\n";
  }
  auto r = run_cli(prepare_args(input, dir + "/out.ttshard") + " --on-error skip");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  size_t n = std::size(kBadCases);
  EXPECT_NE(r.output.find(fmt::format("rows read {}, kept {} (", 2 * n + 1, n + 1)), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(fmt::format("bad lines {}", n)), std::string::npos) << r.output;
  nlohmann::json summary = read_json_file(dir + "/out.ttshard.summary.json");
  EXPECT_EQ(summary["dropped"]["bad_lines"], n);
  ASSERT_EQ(summary["bad_line_messages"].size(), n);
  for (size_t i = 0; i < n; ++i) {
    std::string message = summary["bad_line_messages"][i];
    EXPECT_EQ(message.rfind(fmt::format("{}:{}: ", input, 2 * i + 2), 0), 0u) << message;
    EXPECT_NE(message.find(kBadCases[i].reason), std::string::npos) << message;
    EXPECT_NE(r.output.find(message), std::string::npos);
  }
  EXPECT_EQ(TokenShard::open(dir + "/out.ttshard").size(), n + 1);
}

TEST(PrepareCli, UsageErrors) {
  std::string dir = testing::make_temp_dir("prepare-cli");
  auto missing = run_cli(prepare_args(dir + "/nope.jsonl", dir + "/out.ttshard"));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find(dir + "/nope.jsonl: no such file or directory"), std::string::npos) << missing.output;
  auto no_template = run_cli("prepare --input " + PrepareEnv::fixture_path() + " --tokenizer " + PrepareEnv::tokenizer_path() +
                             " --out " + dir + "/out.ttshard");
  EXPECT_NE(no_template.exit_code, 0);
  EXPECT_NE(no_template.output.find("--chat-template"), std::string::npos) << no_template.output;
  auto budget = run_cli(prepare_args(PrepareEnv::fixture_path(), dir + "/out.ttshard") + " --token-budget 5X");
  EXPECT_NE(budget.exit_code, 0);
  EXPECT_NE(budget.output.find("--token-budget"), std::string::npos) << budget.output;
  EXPECT_EQ(list_dir(dir), std::vector<std::string>{});
}

}  // namespace
}  // namespace tt
