#include "io/jsonl.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "tests/test_util.h"

namespace {

std::string read_error(const std::string& content) {
  std::string path = tt::testing::make_temp_dir("jsonl") + "/rows.jsonl";
  tt::write_file_atomic(path, content);
  try {
    tt::read_jsonl(path, [](int64_t, const nlohmann::json&) {});
  } catch (const tt::Error& e) {
    std::string message = e.what();
    return message.substr(message.find("rows.jsonl"));
  }
  return "";
}

TEST(Jsonl, ReadsRowsWithTheirLineNumbers) {
  std::string path = tt::testing::make_temp_dir("jsonl") + "/rows.jsonl";
  tt::write_jsonl(path, {{{"a", 1}}, {{"a", 2}}});
  std::vector<std::pair<int64_t, int>> rows;
  tt::read_jsonl(path, [&](int64_t line, const nlohmann::json& row) { rows.emplace_back(line, row["a"].get<int>()); });
  EXPECT_EQ(rows, (std::vector<std::pair<int64_t, int>>{{1, 1}, {2, 2}}));
}

TEST(Jsonl, BadLinesNameTheLine) {
  EXPECT_EQ(read_error("{\"a\": 1}\n[1]\n"), "rows.jsonl:2: expected a JSON object");
  EXPECT_EQ(read_error("{\"a\": 1}\n\n{\"a\": \n").rfind("rows.jsonl:3: invalid JSON", 0), 0u);
}

// Found by the jsonl fuzzer: a number too large for a double is nlohmann's out_of_range, not a
// parse_error, and escaped every reader that caught only the latter.
TEST(Jsonl, NumberOverflowIsALineError) {
  EXPECT_EQ(read_error("{\"prompt_ids\": [1]}\n{\"x\": [116e05108]}\n").rfind("rows.jsonl:2: invalid JSON", 0), 0u)
      << read_error("{\"x\": [116e05108]}\n");
  std::string path = tt::testing::make_temp_dir("jsonl") + "/config.json";
  tt::write_file_atomic(path, "{\"vocab_size\": 1e999}");
  try {
    tt::read_json_file(path);
    FAIL() << "no throw";
  } catch (const tt::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": invalid JSON"), std::string::npos) << e.what();
  }
}

}  // namespace
