#include "data/shard.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "tests/test_util.h"

namespace tt {
namespace {

std::string write_sample(const std::string& path) {
  TokenShardWriter w(path);
  uint32_t a = w.source_index("gsm8k");
  uint32_t b = w.source_index("other");
  EXPECT_EQ(w.source_index("gsm8k"), a);
  std::vector<int32_t> t1 = {128000, 1, 2, 3}, t2 = {7}, t3 = {5, 6, 128009};
  std::vector<uint8_t> m1 = {0, 0, 1, 1}, m2 = {1}, m3 = {1, 1, 0};
  w.add(t1, m1, a);
  w.add(t2, m2, b);
  w.add(t3, m3, a);
  w.set_metadata({{"cache_key", "abc"}, {"max_length", 8}});
  w.finish();
  return path;
}

TEST(ShardTest, RoundTrip) {
  std::string dir = testing::make_temp_dir("shard");
  TokenShard s = TokenShard::open(write_sample(dir + "/a.ttshard"));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.total_tokens(), 8);
  EXPECT_EQ(s.sources(), (std::vector<std::string>{"gsm8k", "other"}));
  EXPECT_EQ(s.metadata()["cache_key"], "abc");
  EXPECT_EQ(s.metadata()["max_length"], 8);
  auto e0 = s.example(0), e1 = s.example(1), e2 = s.example(2);
  EXPECT_EQ(std::vector<int32_t>(e0.tokens.begin(), e0.tokens.end()), (std::vector<int32_t>{128000, 1, 2, 3}));
  EXPECT_EQ(std::vector<uint8_t>(e0.loss_mask.begin(), e0.loss_mask.end()), (std::vector<uint8_t>{0, 0, 1, 1}));
  EXPECT_EQ(e0.source, 0u);
  EXPECT_EQ(e1.tokens.size(), 1u);
  EXPECT_EQ(e1.tokens[0], 7);
  EXPECT_EQ(e1.source, 1u);
  EXPECT_EQ(e2.tokens[2], 128009);
  EXPECT_EQ(e2.loss_mask[2], 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(e0.tokens.data()) % alignof(int32_t), 0u);
  EXPECT_THROW(s.example(3), Error);
  // Copies share the mapping and outlive the original.
  TokenShard copy = s;
  s = TokenShard::open(write_sample(dir + "/b.ttshard"));
  EXPECT_EQ(copy.example(2).tokens[0], 5);
}

TEST(ShardTest, EmptyShard) {
  std::string dir = testing::make_temp_dir("shard");
  TokenShardWriter w(dir + "/empty.ttshard");
  w.finish();
  TokenShard s = TokenShard::open(dir + "/empty.ttshard");
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.total_tokens(), 0);
  EXPECT_TRUE(s.sources().empty());
}

TEST(ShardTest, NoTempFileLeftAndNothingWrittenWithoutFinish) {
  std::string dir = testing::make_temp_dir("shard");
  {
    TokenShardWriter w(dir + "/never.ttshard");
    std::vector<int32_t> t = {1, 2};
    std::vector<uint8_t> m = {1, 1};
    w.add(t, m, w.source_index("x"));
  }
  write_sample(dir + "/ok.ttshard");
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"ok.ttshard"}));
}

TEST(ShardTest, RejectsBadExamples) {
  std::string dir = testing::make_temp_dir("shard");
  TokenShardWriter w(dir + "/x.ttshard");
  uint32_t s = w.source_index("x");
  std::vector<int32_t> t = {1, 2};
  std::vector<uint8_t> short_mask = {1}, bad_mask = {1, 2};
  EXPECT_THROW(w.add(t, short_mask, s), Error);
  EXPECT_THROW(w.add(t, bad_mask, s), Error);
  EXPECT_THROW(w.add(t, std::vector<uint8_t>{1, 1}, 5), Error);
}

// Each corruption must give one line that names the file.
void expect_open_error(const std::string& path, const std::string& fragment) {
  try {
    TokenShard::open(path);
    ADD_FAILURE() << "expected an error for " << path;
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(ShardTest, ValidatesOnOpen) {
  std::string dir = testing::make_temp_dir("shard");
  std::string good = read_file(write_sample(dir + "/good.ttshard"));
  auto variant = [&](const std::string& name, std::string bytes) {
    std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  };
  expect_open_error(dir + "/missing.ttshard", "cannot open");
  expect_open_error(variant("tiny", good.substr(0, 100)), "truncated");
  expect_open_error(variant("cut", good.substr(0, good.size() - 1)), "truncated");
  expect_open_error(variant("longer", good + "x"), "corrupt");
  std::string magic = good;
  magic[0] = 'X';
  expect_open_error(variant("magic", magic), "bad magic");
  std::string version = good;
  version[8] = 9;
  expect_open_error(variant("version", version), "version 9");
  // A flipped bit in the index (right after the tokens, at the next 64-byte boundary).
  std::string index = good;
  index[192 + 8] ^= 1;
  expect_open_error(variant("index", index), "corrupt");
  std::string meta = good;
  meta[meta.size() - 3] ^= 0x20;
  expect_open_error(variant("meta", meta), "corrupt");
  // A flipped byte in the token section (right after the 128-byte header, padded to 64) and in the
  // mask section: the checksum covers them too, so they are never trained on.
  std::string token = good;
  token[128] ^= 0x01;
  expect_open_error(variant("token", token), "checksum mismatch in the token or mask section");
  uint64_t mask_offset = 0;
  std::memcpy(&mask_offset, good.data() + 64, sizeof mask_offset);
  std::string mask = good;
  mask[mask_offset] ^= 0x01;
  expect_open_error(variant("mask", mask), "checksum mismatch in the token or mask section");
  expect_open_error(variant("text.jsonl", "{\"messages\": []}\n"), "truncated");
}

}  // namespace
}  // namespace tt
