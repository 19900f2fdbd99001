#include "io/yaml.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "tests/test_util.h"

namespace {

std::string error_of(const std::string& text) {
  try {
    tt::parse_yaml_text(text, "c.yaml");
  } catch (const tt::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Yaml, LoadsAConfig) {
  YAML::Node n = tt::parse_yaml_text("model_name: x\ntrainer:\n  lr: 1.0e-5\n  tags: [a, b]\n", "c.yaml");
  EXPECT_EQ(n["model_name"].as<std::string>(), "x");
  EXPECT_EQ(n["trainer"]["tags"].size(), 2u);
  std::string path = tt::testing::make_temp_dir("yaml") + "/c.yaml";
  tt::write_file_atomic(path, "a: 1\n");
  EXPECT_EQ(tt::load_yaml_file(path)["a"].as<int>(), 1);
}

TEST(Yaml, SyntaxErrorNamesFileAndLine) {
  EXPECT_NE(error_of("a: 1\nb: [\n").find("c.yaml: invalid YAML at line"), std::string::npos);
}

// A second document (`---`) was ignored: `trainer: {max_steps: 5}` after it trained 1 step. PyYAML's
// safe_load, which TRL's configs go through, refuses a stream of several documents too.
TEST(Yaml, RefusesASecondDocument) {
  EXPECT_EQ(error_of("trainer: {max_steps: 1}\n---\ntrainer: {max_steps: 5}\n"),
            "c.yaml: line 2: a second YAML document ('---'): a config is one document");
  EXPECT_NO_THROW(tt::parse_yaml_text("---\na: 1\n", "c.yaml"));  // one document with its start marker
  EXPECT_TRUE(tt::parse_yaml_text("", "c.yaml").IsNull());
}

// Found by the yaml_config fuzzer: `? KEY` with a mapping or sequence as the key threw yaml-cpp's
// bad conversion out of every reader that walks keys as strings.
TEST(Yaml, RefusesKeysThatAreNotNames) {
  EXPECT_EQ(error_of("a: 1\n? [x, y]\n: 2\n"), "c.yaml: line 2: a key must be a plain name, not a sequence");
  EXPECT_EQ(error_of("trainer:\n  ? {x: 1}\n  : 2\n"), "c.yaml: line 2: a key must be a plain name, not a mapping");
  EXPECT_NE(error_of("# c\n?  lheduler_type: 1.0\n").find("not a mapping"), std::string::npos);
}

// A repeated key used to be accepted with one of its values ignored (`max_steps: 2` then
// `max_steps: 3` in one trainer block trained 3 steps).
TEST(Yaml, RefusesDuplicateKeys) {
  EXPECT_EQ(error_of("trainer:\n  max_steps: 2\n  lr: 1\n  max_steps: 3\n"),
            "c.yaml: line 4: duplicate key 'max_steps' (first at line 2)");
  EXPECT_EQ(error_of("a: 1\na: 1\n"), "c.yaml: line 2: duplicate key 'a' (first at line 1)");
  EXPECT_EQ(error_of("{a: 1, b: {c: 1, c: 2}}"), "c.yaml: line 1: duplicate key 'c' (first at line 1)");
  // the same key in different mappings, and a repeated alias of one mapping, are fine
  EXPECT_NO_THROW(tt::parse_yaml_text("a: {x: 1}\nb: {x: 2}\nc: &m {y: 1}\nd: [*m, *m]\n", "c.yaml"));
}

TEST(Yaml, RefusesAliasBombs) {
  // Each level lists the previous one ten times: 10^8 nodes from eight short lines.
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 7; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", " : "") + prev;
    text += "]\n";
  }
  EXPECT_NE(error_of(text).find("c.yaml: more than 1000000 YAML nodes"), std::string::npos);
}

}  // namespace
