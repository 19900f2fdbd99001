#include <gtest/gtest.h>

#include <filesystem>

#include "tests/test_util.h"
#include "text/tokenizer_test_util.h"

namespace tt {
namespace {

TEST(TokenizerCli, TokenizeIdsOnlyAndDetokenize) {
  std::string dir = testing::make_temp_dir("tokenize-cli");
  std::string tok = testing::llama3_dir() + "/tokenizer.json";
  std::string text = "This is a test sentence.<|eot_id|>\n🦙";
  testing::write_text(dir + "/in.txt", text);

  auto r = testing::run_cli("tokenize --tokenizer " + tok + " --ids-only --bos < " + dir + "/in.txt");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "128000 2028 374 264 1296 11914 13 128009 198 9468 99 247\n");

  r = testing::run_cli("tokenize --tokenizer " + tok + " --ids-only --no-special < " + dir + "/in.txt");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("128009"), std::string::npos);

  testing::write_text(dir + "/ids.txt", "128000 2028 374 264 1296 11914 13 128009 198 9468 99 247\n");
  r = testing::run_cli("detokenize --tokenizer " + testing::llama3_dir() + " < " + dir + "/ids.txt");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "<|begin_of_text|>" + text);

  testing::write_text(dir + "/bad.txt", "1 2 999999\n");
  r = testing::run_cli("detokenize --tokenizer " + tok + " < " + dir + "/bad.txt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("999999"), std::string::npos) << r.output;

  testing::write_text(dir + "/huge.txt", "1 5000000000\n");  // beyond int32: named as written, not as a wrapped id
  r = testing::run_cli("detokenize --tokenizer " + tok + " < " + dir + "/huge.txt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("'5000000000'"), std::string::npos) << r.output;

  r = testing::run_cli("tokenize --tokenizer " + dir + "/nothing.json --ids-only < " + dir + "/in.txt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("nothing.json"), std::string::npos) << r.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tt
