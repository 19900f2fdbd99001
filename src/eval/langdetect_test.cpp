#include "eval/langdetect.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/eval_test_util.h"
#include "tests/test_util.h"

namespace tt::eval {
namespace {

using nlohmann::json;
using test_util::read_jsonl_rows;

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

TEST(LangDetect, NormalisationFollowsNGram) {
  const LangDetector& d = LangDetector::installed();
  EXPECT_EQ(d.normalize(U'!'), U' ');
  EXPECT_EQ(d.normalize(U'q'), U'q');
  EXPECT_EQ(d.normalize(0x0219), char32_t{0x015f});  // Romanian s-comma -> s-cedilla
  EXPECT_EQ(d.normalize(0x30ab), char32_t{0x30a2});  // katakana
  EXPECT_EQ(d.normalize(0x3093), char32_t{0x3042});  // hiragana
  EXPECT_EQ(d.normalize(0xd55c), char32_t{0xac00});  // hangul
  EXPECT_EQ(d.normalize(0x2014), U' ');              // general punctuation
  // URLs and e-mail addresses become one space; runs of spaces collapse.
  EXPECT_EQ(d.prepared_text("go http://x.org/a?b  now a.b@c.de."), U"go now ");
  // Capital words contribute their first letter only: "HELLO" gives "H" and " H".
  EXPECT_EQ(d.ngrams(d.prepared_text("HELLO")), (std::vector<std::u32string>{U"H", U" H"}));
}

// The detector with its profiles in the order Python's langdetect numbered them when the fixture
// was written (langlist.json): the order of a sum, so the last bits of a probability depend on it.
const LangDetector& fixture_detector() {
  static const LangDetector detector = [] {
    std::ifstream in(tt::testing::fixture_dir() + "/langdetect/langlist.json");
    return LangDetector(LangDetector::installed_dir(), json::parse(in).get<std::vector<std::string>>());
  }();
  return detector;
}

TEST(LangDetect, LoadsEveryProfileOfThePackage) {
  // The installed order is this machine's readdir order; the set is the fixture's.
  std::vector<std::string> installed = LangDetector::installed().languages();
  std::vector<std::string> fixture = fixture_detector().languages();
  EXPECT_EQ(installed.size(), 55u);
  std::sort(installed.begin(), installed.end());
  std::sort(fixture.begin(), fixture.end());
  EXPECT_EQ(installed, fixture);
}

// Every decision of python3-langdetect (seed 0) written by tools/gen_langdetect_fixture.py: the same
// language and the same probabilities, bit for bit (with the profiles in the fixture's order).
TEST(LangDetect, EqualsPythonLangdetectOnIfevalResponses) {
  const LangDetector& d = fixture_detector();
  std::vector<std::string> responses;
  for (const json& r : read_jsonl_rows(tt::testing::shared_dir() +
                                  "/data/ifeval/input_response_data_gpt4_20231107_145030.jsonl"))
    responses.push_back(r["response"]);
  ASSERT_EQ(responses.size(), 541u);
  const auto rows = read_jsonl_rows(tt::testing::fixture_dir() + "/langdetect/decisions.jsonl");
  ASSERT_EQ(rows.size(), 2 * 541u + 23u + 4 * 19u);
  size_t compared = 0;
  for (const json& row : rows) {
    std::string text = row["source"] == "gpt4" ? responses.at(row["index"].get<size_t>())
                                               : row["text"].get<std::string>();
    if (row["variant"] == "no_star") text = replace_all(text, "*", "");
    SCOPED_TRACE(row.dump().substr(0, 200));
    const uint32_t seed = row.value("seed", 0u);
    const auto detected = d.detect(text, seed);
    if (row["detect"].is_null()) {
      EXPECT_FALSE(detected.has_value());
    } else {
      ASSERT_TRUE(detected.has_value());
      EXPECT_EQ(*detected, row["detect"].get<std::string>());
    }
    const auto probs = d.probabilities(text, seed);
    ASSERT_EQ(probs.size(), row["probabilities"].size());
    for (size_t i = 0; i < probs.size(); ++i) {
      EXPECT_EQ(probs[i].first, row["probabilities"][i][0].get<std::string>());
      EXPECT_EQ(probs[i].second, std::stod(row["probabilities"][i][1].get<std::string>()));
    }
    ++compared;
  }
  EXPECT_EQ(compared, rows.size());
}

TEST(LangDetect, SeedChangesShortTextDecisions) {
  // On three words the trials are noise: Python's langdetect says "es" or "it" depending on the
  // seed (the fixture's seeded rows hold which seed gives which).
  const LangDetector& d = LangDetector::installed();
  std::set<std::string> seen;
  for (uint32_t seed = 0; seed < 20; ++seed) seen.insert(d.detect("coastal elegance properties", seed).value());
  EXPECT_EQ(seen, (std::set<std::string>{"es", "it"}));
}

TEST(LangDetect, MissingPackageIsOneLineErrorNamingPathAndPackage) {
  try {
    LangDetector d("/nonexistent/langdetect");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("/nonexistent/langdetect/profiles"), std::string::npos) << message;
    EXPECT_NE(message.find("python3-langdetect"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

// A package directory with the installed messages.properties and one profile written as given.
std::string package_with_profile(const std::string& tag, const std::string& profile_text) {
  const std::string dir = tt::testing::make_temp_dir(tag);
  std::filesystem::create_directories(dir + "/utils");
  std::filesystem::create_directories(dir + "/profiles");
  std::filesystem::copy_file(LangDetector::installed_dir() + "/utils/messages.properties",
                             dir + "/utils/messages.properties");
  std::ofstream(dir + "/profiles/xx") << profile_text;
  return dir;
}

TEST(LangDetect, MalformedProfileIsOneLineErrorNamingTheFile) {
  for (const std::string text : {std::string("{\"name\": \"xx\", "), std::string("{\"name\": \"xx\"}"),
                                 std::string("{\"name\": \"xx\", \"freq\": {\"a\": 1}, \"n_words\": [1]}")}) {
    SCOPED_TRACE(text);
    const std::string dir = package_with_profile("langdetect_bad", text);
    try {
      LangDetector d(dir);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(dir + "/profiles/xx: ", 0), 0u) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
    std::filesystem::remove_all(dir);
  }
}

TEST(LangDetect, BadMessagesEscapeIsOneLineErrorNamingFileAndKey) {
  const std::string dir = package_with_profile("langdetect_messages", "{}");
  std::ofstream(dir + "/utils/messages.properties") << "DMARK_CLASS=\\u030\n";
  try {
    LangDetector d(dir);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir + "/utils/messages.properties: key DMARK_CLASS: unsupported escape in value");
  }
  std::filesystem::remove_all(dir);
}

TEST(LangDetect, ProfileOrderMustNameEveryProfile) {
  EXPECT_THROW(LangDetector(LangDetector::installed_dir(), {"en", "de"}), Error);
}

}  // namespace
}  // namespace tt::eval
