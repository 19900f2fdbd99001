// Helpers shared by the src/eval tests.
#pragma once
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/task.h"
#include "tests/test_util.h"

namespace tt::eval::test_util {

// Task options that read the shared data sets (../shared/data).
inline TaskOptions shared_options(int num_fewshot = -1) {
  TaskOptions options;
  options.data_root = tt::testing::shared_dir() + "/data";
  options.num_fewshot = num_fewshot;
  return options;
}

// The non-empty lines of a JSON Lines file, parsed.
inline std::vector<nlohmann::json> read_jsonl_rows(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

// The message of the tt::Error that f throws, or "" when it does not throw.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const tt::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace tt::eval::test_util
