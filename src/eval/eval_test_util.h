// Helpers shared by the src/eval tests.
#pragma once
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/task.h"
#include "infer/test_models.h"
#include "model/checkpoint.h"
#include "tests/test_util.h"

namespace tt::eval::test_util {

// Task options that read the shared data sets (../shared/data).
inline TaskOptions shared_options(int num_fewshot = -1) {
  TaskOptions options;
  options.data_root = tt::testing::shared_dir() + "/data";
  options.num_fewshot = num_fewshot;
  return options;
}

// A model directory with a tiny random model (its weights drawn from `seed`) and the tiny byte-level
// tokenizer; `tag` names the temporary directory.
inline std::string tiny_model_dir(const std::string& tag, uint64_t seed = 3) {
  const std::string dir = tt::testing::make_temp_dir(tag);
  Model model = infer::testing::tiny_model(seed, 0.3);
  infer::testing::write_tiny_tokenizer(dir);
  save_model(model, dir + "/model", {.tokenizer_source = dir + "/tokenizer.json"});
  return dir + "/model";
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
