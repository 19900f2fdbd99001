#include "io/file.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include <gtest/gtest.h>
#include <sys/stat.h>

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

// An atomic write replaces the file: through a symlink it replaces the link's target and the link
// stays; a FIFO (or a device: /dev/null as root) is refused, never replaced by a regular file.
TEST(File, AtomicWritesFollowSymlinksAndRefuseFifosAndDevices) {
  namespace fs = std::filesystem;
  std::string dir = tt::testing::make_temp_dir("file-special");
  tt::write_file_atomic(dir + "/target", "old");
  fs::create_symlink("target", dir + "/link");
  tt::write_file_atomic(dir + "/link", "new");
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(dir + "/link")));
  EXPECT_EQ(tt::read_file(dir + "/target"), "new");
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  try {
    tt::write_file_atomic(dir + "/fifo", "x");
    ADD_FAILURE() << "a FIFO was written";
  } catch (const tt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("fifo: is not a regular file (a device, FIFO or socket)"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::is_fifo(fs::status(dir + "/fifo")));
  if (fs::exists("/dev/null")) EXPECT_THROW(tt::atomic_write_target("/dev/null"), tt::Error);
  fs::remove_all(dir);
}

TEST(File, PathsInsideTheirFolder) {
  for (const char* inside : {"model.safetensors", "data/train-00000-of-00001.parquet", "a/b/c", "..hidden", "x..y"})
    EXPECT_TRUE(tt::is_path_inside_its_folder(inside)) << inside;
  for (const char* outside : {"", "/etc/passwd", "../model.safetensors", "a/../../b", "a//b", "./a", "a/.", "a/", "..", "a\\..\\b"})
    EXPECT_FALSE(tt::is_path_inside_its_folder(outside)) << outside;
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

// What AtomicFile leaves when killed before commit (".NAME.tmp.XXXXXX") is removed; names of other
// shapes, directories and files elsewhere are not.
TEST(File, RemoveStaleAtomicTempFilesOnlyRemovesItsOwnScheme) {
  namespace fs = std::filesystem;
  const std::string dir = tt::testing::make_temp_dir("file-stale");
  const std::vector<std::string> stale = {".metrics.jsonl.tmp.Ab3xYz", ".model.safetensors.tmp.0a9Z8b"};
  const std::vector<std::string> kept = {"metrics.jsonl",          "metrics.jsonl.tmp.Ab3xYz", ".notes.tmp.txt",
                                         ".metrics.jsonl.tmp.Ab3xY", ".metrics.jsonl.tmp.Ab3-Yz", ".tmp.Ab3xYz",
                                         "sub/.x.tmp.Ab3xYz"};
  fs::create_directories(dir + "/sub");
  fs::create_directories(dir + "/.d.tmp.Ab3xYz");  // a directory of that name is no temp file
  for (const auto& name : stale) tt::write_file_atomic(dir + "/" + name, "partial");
  for (const auto& name : kept) tt::write_file_atomic(dir + "/" + name, "mine");
  std::vector<std::string> removed = tt::remove_stale_atomic_temp_files(dir);
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{dir + "/" + stale[0], dir + "/" + stale[1]}));
  for (const auto& name : stale) EXPECT_FALSE(fs::exists(dir + "/" + name)) << name;
  for (const auto& name : kept) EXPECT_EQ(tt::read_file(dir + "/" + name), "mine") << name;
  EXPECT_TRUE(fs::is_directory(dir + "/.d.tmp.Ab3xYz"));
  EXPECT_TRUE(tt::remove_stale_atomic_temp_files(dir + "/missing").empty());
}

}  // namespace
