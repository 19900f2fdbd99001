// `tinythink prepare` on parquet input: the same shard as the same rows given as JSONL (DuckDB's
// fixtures in tests/fixtures/parquet), and a folder mixing both kinds.
#include <filesystem>

#include <gtest/gtest.h>

#include "data/shard.h"
#include "tests/prepare_test_util.h"
#include "tests/test_util.h"

namespace tt {
namespace {

using testing::PrepareEnv;
using testing::run_cli;

std::vector<std::vector<int32_t>> shard_tokens(const std::string& path) {
  TokenShard shard = TokenShard::open(path);
  std::vector<std::vector<int32_t>> rows;
  for (size_t i = 0; i < shard.size(); ++i) {
    ShardExample e = shard.example(i);
    rows.emplace_back(e.tokens.begin(), e.tokens.end());
  }
  return rows;
}

std::string prepare(const std::string& input, const std::string& out) {
  auto r = run_cli("prepare --input " + input + " --tokenizer " + PrepareEnv::tokenizer_path() + " --chat-template " +
                   PrepareEnv::template_path() + " --on-error skip --max-length 0 --out " + out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

TEST(PrepareParquet, ParquetRowsGiveTheShardOfTheSameRowsAsJsonl) {
  const std::string dir = testing::make_temp_dir("prepare-parquet");
  const std::string fixtures = testing::fixture_dir() + "/parquet/";
  std::string from_jsonl = prepare(fixtures + "chat.jsonl", dir + "/jsonl.ttshard");
  std::string from_parquet = prepare(fixtures + "chat_v2_snappy.parquet", dir + "/parquet.ttshard");
  std::vector<std::vector<int32_t>> expected = shard_tokens(dir + "/jsonl.ttshard");
  ASSERT_GT(expected.size(), 50u) << from_jsonl;
  EXPECT_EQ(shard_tokens(dir + "/parquet.ttshard"), expected) << from_parquet;
  // a folder: its .parquet and .jsonl files in name order
  std::filesystem::create_directories(dir + "/mixed");
  std::filesystem::copy_file(fixtures + "chat.jsonl", dir + "/mixed/a.jsonl");
  std::filesystem::copy_file(fixtures + "chat_v1_gzip.parquet", dir + "/mixed/b.parquet");
  prepare(dir + "/mixed", dir + "/mixed.ttshard");
  EXPECT_EQ(shard_tokens(dir + "/mixed.ttshard").size(), 2 * expected.size());
}

}  // namespace
}  // namespace tt
