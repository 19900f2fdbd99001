#include "io/file.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/test_util.h"

namespace {

TEST(File, WriteAtomicThenRead) {
  std::string dir = tt::testing::make_temp_dir("file");
  std::string path = dir + "/a.txt";
  EXPECT_FALSE(tt::file_exists(path));
  tt::write_file_atomic(path, std::string("hello\0world", 11));
  EXPECT_TRUE(tt::file_exists(path));
  EXPECT_FALSE(tt::is_directory(path));
  EXPECT_TRUE(tt::is_directory(dir));
  EXPECT_EQ(tt::read_file(path), std::string("hello\0world", 11));
  tt::write_file_atomic(path, "replaced");  // overwrite in place
  EXPECT_EQ(tt::read_file(path), "replaced");
  // No temp files are left beside the target.
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) count += entry.is_regular_file();
  EXPECT_EQ(count, 1);
}

TEST(File, ReadMissingNamesPath) {
  std::string path = tt::testing::make_temp_dir("file") + "/missing.txt";
  try {
    tt::read_file(path);
    FAIL() << "no throw";
  } catch (const tt::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": cannot open"), std::string::npos) << e.what();
  }
}

TEST(File, JsonRoundTrip) {
  std::string path = tt::testing::make_temp_dir("file") + "/x.json";
  nlohmann::json j = {{"a", 1}, {"b", {1, 2, 3}}, {"c", "text"}};
  tt::write_json_file(path, j);
  EXPECT_EQ(tt::read_json_file(path), j);
  EXPECT_NE(tt::read_file(path).find("\n  \"a\": 1"), std::string::npos);  // 2-space indent
}

TEST(File, InvalidJsonNamesPath) {
  std::string path = tt::testing::make_temp_dir("file") + "/bad.json";
  tt::write_file_atomic(path, "{\"a\": 1,,}");
  try {
    tt::read_json_file(path);
    FAIL() << "no throw";
  } catch (const tt::Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": invalid JSON: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(File, WriteIntoMissingDirFails) {
  std::string path = tt::testing::make_temp_dir("file") + "/no/such/dir/x.txt";
  EXPECT_THROW(tt::write_file_atomic(path, "x"), tt::Error);
}

}  // namespace
