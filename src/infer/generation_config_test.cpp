#include "infer/generation_config.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/error_of.h"
#include "tests/test_util.h"

namespace tt::infer {
namespace {

using tt::testing::error_of;

struct Folder {
  std::string dir = tt::testing::make_temp_dir("generation-config");
  ~Folder() { std::filesystem::remove_all(dir); }
  void write(const std::string& text) const { std::ofstream(dir + "/generation_config.json") << text; }
};

// The keys vLLM takes from the file (as transformers 5 reads it: every key the file sets), under
// their SamplingParams names; do_sample, eos ids and nulls are not sampling defaults.
TEST(GenerationConfig, TheFilesSamplingKeysBecomeDefaults) {
  Folder f;
  f.write(R"({"do_sample": false, "eos_token_id": [2, 7], "temperature": 0.6, "top_p": 0.95, "top_k": 20,
              "min_p": null, "repetition_penalty": 1.1, "max_new_tokens": 64, "max_length": 9})");
  const ModelSamplingDefaults d = read_sampling_defaults("auto", f.dir);
  EXPECT_EQ(d.path, f.dir + "/generation_config.json");
  EXPECT_EQ(d.describe(), "temperature 0.6, top_p 0.95, top_k 20, repetition_penalty 1.1, max_new_tokens 64");
  SamplingParams p;
  p.temperature = 0.0f;
  p.min_p = 0.05f;
  apply_sampling_defaults(d, {}, p);
  EXPECT_FLOAT_EQ(p.temperature, 0.6f);  // do_sample false is not read (vLLM samples at 0.6 too)
  EXPECT_FLOAT_EQ(p.top_p, 0.95f);
  EXPECT_EQ(p.top_k, 20);
  EXPECT_FLOAT_EQ(p.min_p, 0.05f);  // null: the caller's default stays
  EXPECT_FLOAT_EQ(p.repetition_penalty, 1.1f);
  EXPECT_EQ(p.max_new_tokens, 64);
  // what the caller set explicitly wins
  SamplingParams q;
  q.temperature = 0.0f;
  q.max_new_tokens = 5;
  apply_sampling_defaults(d, {"temperature", "max_new_tokens"}, q);
  EXPECT_FLOAT_EQ(q.temperature, 0.0f);
  EXPECT_EQ(q.max_new_tokens, 5);
  EXPECT_EQ(q.top_k, 20);
}

TEST(GenerationConfig, VllmAutoAndAFolder) {
  Folder f;
  EXPECT_TRUE(read_sampling_defaults("auto", f.dir).empty()) << "no file: no defaults";
  f.write(R"({"bos_token_id": 1, "eos_token_id": 2})");
  EXPECT_TRUE(read_sampling_defaults("auto", f.dir).empty()) << "ids only";
  f.write(R"({"temperature": 0.7, "top_k": -1})");
  EXPECT_TRUE(read_sampling_defaults("vllm", f.dir).empty());
  Folder other;
  other.write(R"({"temperature": 0.3})");
  const ModelSamplingDefaults d = read_sampling_defaults(other.dir, f.dir);
  EXPECT_EQ(d.describe(), "temperature 0.3");
  EXPECT_EQ(read_sampling_defaults("auto", f.dir).top_k, 0) << "-1 is off, as vLLM reads it";
  Folder empty;
  EXPECT_NE(error_of([&] { read_sampling_defaults(empty.dir, f.dir); })
                .find("--generation-config " + empty.dir + ": no generation_config.json in that folder"),
            std::string::npos);
}

TEST(GenerationConfig, BadValuesNameTheFileAndKey) {
  Folder f;
  const std::string path = f.dir + "/generation_config.json";
  f.write(R"({"temperature": "hot"})");
  EXPECT_EQ(error_of([&] { read_sampling_defaults("auto", f.dir); }), path + ": 'temperature' is not a number (\"hot\")");
  f.write(R"({"top_k": 2.5})");
  EXPECT_EQ(error_of([&] { read_sampling_defaults("auto", f.dir); }), path + ": 'top_k' is not an integer (2.5)");
  f.write(R"({"top_p": 1.5})");
  EXPECT_EQ(error_of([&] { read_sampling_defaults("auto", f.dir); }), path + ": top_p must be in (0, 1], got 1.5");
  f.write(R"({"max_new_tokens": 0})");
  EXPECT_EQ(error_of([&] { read_sampling_defaults("auto", f.dir); }), path + ": max_new_tokens must be >= 1, got 0");
  f.write(R"([1, 2])");
  EXPECT_EQ(error_of([&] { read_sampling_defaults("auto", f.dir); }), path + ": expected a JSON object");
  f.write(R"({"temperature": )");
  EXPECT_NE(error_of([&] { read_sampling_defaults("auto", f.dir); }).find(path + ": invalid JSON"), std::string::npos);
}

}  // namespace
}  // namespace tt::infer
