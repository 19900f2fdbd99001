// SFT on chat data end to end through the CLI: prepare (study chat template, Llama-3 tokenizer,
// assistant-only loss) then training a micro model of the MobileLLM-R1 architecture on GSM8K
// conversations: the loss falls and mean_token_accuracy rises.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "io/file.h"
#include "io/jsonl.h"
#include "tests/micro_model.h"
#include "tests/test_util.h"

namespace tt {
namespace {

// DIR/base: the tiny Llama 4 parity model with the Llama-3 tokenizer's 128k vocabulary.
void init_llama3_vocab_base(const std::string& dir) {
  nlohmann::json model_config = read_json_file(testing::fixture_dir() + "/parity/tiny_llama4/config.json");
  model_config["vocab_size"] = 128256;
  write_json_file(dir + "/config.json", model_config);
  ASSERT_EQ(testing::run_cli(fmt::format("init-model --config {0}/config.json --out {0}/base --tokenizer {1}", dir,
                                         testing::shared_dir() + "/data/tokenizer/llama3/tokenizer.json"))
                .exit_code,
            0);
}

TEST(SftChat, LossFallsAndAccuracyRisesOnGsm8kConversations) {
  const std::string dir = testing::make_temp_dir("sft-chat");
  const std::string shared = testing::shared_dir();
  // A micro llama4_text model with the real 128k vocabulary, so the real tokenizer fits.
  testing::write_micro_llama3_vocab_config(dir + "/config.json");
  auto init = testing::run_cli(fmt::format("init-model --config {}/config.json --seed 1 --out {}/base --tokenizer {}",
                                           dir, dir, shared + "/data/tokenizer/llama3/tokenizer.json"));
  ASSERT_EQ(init.exit_code, 0) << init.output;
  // the first 48 conversations of the fixture
  std::ifstream in(shared + "/data/fixtures/gsm8k_train_sft_messages.first256.jsonl");
  std::ofstream out(dir + "/train.jsonl");
  std::string line;
  for (int i = 0; i < 48 && std::getline(in, line); ++i) out << line << "\n";
  out.close();
  std::ofstream(dir + "/sft.yaml") << fmt::format(R"(model_name: {0}/base
dataset:
  path: {0}/train.jsonl
  chat_template: {1}/reference/tiny-think/chat_template.jinja
  test_size: 0.1
trainer:
  per_device_train_batch_size: 2
  gradient_accumulation_steps: 1
  num_train_epochs: 3
  learning_rate: 6.0e-3
  lr_scheduler_type: cosine
  warmup_ratio: 0.1
  adam_beta1: 0.9
  adam_beta2: 0.95
  max_length: 512
  assistant_only_loss: true
  packing: true
  logging_steps: 1
  eval_strategy: steps
  eval_steps: 10
  save_steps: 100
  seed: 42
  use_liger_kernel: true
  dataloader_num_workers: 4
  output_dir: {0}/sft
)", dir, shared);
  auto r = testing::run_cli("sft " + dir + "/sft.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("does not apply to tinythink"), std::string::npos) << "dataloader_num_workers note";
  std::vector<nlohmann::json> rows, evals;
  read_jsonl(dir + "/sft/metrics.jsonl", [&](int64_t, const nlohmann::json& row) {
    (row.contains("eval_loss") ? evals : rows).push_back(row);
  });
  ASSERT_GE(evals.size(), 2u);  // the held-out 10% is evaluated every 10 steps and at the end
  EXPECT_LT(evals.back()["eval_loss"].get<double>(), evals.front()["eval_loss"].get<double>());
  ASSERT_GE(rows.size(), 8u);
  auto mean = [&](const char* key, size_t begin, size_t end) {
    double s = 0;
    for (size_t i = begin; i < end; ++i) s += rows[i][key].get<double>();
    return s / static_cast<double>(end - begin);
  };
  const size_t n = rows.size(), q = n / 4;
  EXPECT_LT(mean("loss", n - q, n), mean("loss", 0, q) - 1.0);
  EXPECT_GT(mean("mean_token_accuracy", n - q, n), mean("mean_token_accuracy", 0, q) + 0.03);
  EXPECT_TRUE(std::filesystem::exists(dir + "/sft/model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/sft/tokenizer.json"));
}

// A bad line in chat data: with on_error fail (the default) a one-line error naming file:line and no
// output directory contents; with on_error skip the run trains on the good lines and counts the bad.
TEST(SftChat, BadLinesFailOrSkipAsConfigured) {
  const std::string dir = testing::make_temp_dir("sft-bad");
  const std::string shared = testing::shared_dir();
  std::ofstream(dir + "/train.jsonl") << R"({"messages": [{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "2"}]})"
                                      << "\n"
                                      << R"({"messages": [{"role": "wizard", "content": "hi"}]})" << "\n"
                                      << R"({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]})"
                                      << "\n";
  auto config = [&](const std::string& on_error) {
    std::string path = dir + "/" + on_error + ".yaml";
    std::ofstream(path) << fmt::format(R"(model_name: {0}/base
dataset:
  path: {0}/train.jsonl
  chat_template: {1}/reference/tiny-think/chat_template.jinja
  on_error: {2}
trainer:
  per_device_train_batch_size: 1
  max_steps: 1
  output_dir: {0}/out-{2}
)", dir, shared, on_error);
    return path;
  };
  ASSERT_NO_FATAL_FAILURE(init_llama3_vocab_base(dir));
  auto failed = testing::run_cli("sft " + config("fail"));
  EXPECT_EQ(failed.exit_code, 1) << failed.output;
  EXPECT_NE(failed.output.find("train.jsonl:2:"), std::string::npos) << failed.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/out-fail/model.safetensors"));
  auto skipped = testing::run_cli("sft " + config("skip"));
  EXPECT_EQ(skipped.exit_code, 0) << skipped.output;
  EXPECT_NE(skipped.output.find("bad lines 1"), std::string::npos) << skipped.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/out-skip/model.safetensors"));
}

// A failed run leaves nothing in the way of the same config run again: a missing model is found
// before the data is tokenized, a bad data line leaves no output folder, and a bad evaluation file
// after the training data was prepared leaves the cache with the run's mark (the rerun was refused:
// "holds 'prepared' ... not a tinythink training output"). A shard `prepare --out` wrote under any
// name is read as a shard (it was parsed as JSON Lines unless named *.ttshard).
TEST(SftChat, AFailedRunLeavesNothingInTheWayOfItsRerun) {
  namespace fs = std::filesystem;
  const std::string dir = testing::make_temp_dir("sft-rerun");
  const std::string shared = testing::shared_dir();
  const std::string good = R"({"messages": [{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "2"}]})";
  std::ofstream(dir + "/train.jsonl") << good << "\n" << good << "\n";
  std::ofstream(dir + "/bad.jsonl") << good << "\n{\"messages\": [\n";
  ASSERT_NO_FATAL_FAILURE(init_llama3_vocab_base(dir));
  auto sft = [&](const std::string& out, const std::string& model, const std::string& data, const std::string& eval) {
    std::ofstream(dir + "/sft.yaml") << fmt::format(R"(model_name: {0}
tokenizer_name: {1}/base
dataset:
  path: {2}
{3}{4}trainer:
  per_device_train_batch_size: 1
  max_steps: 1
  output_dir: {1}/{5}
)", model, dir, data,
                                                    data.ends_with(".shard") ? "" : "  chat_template: " + shared + "/reference/tiny-think/chat_template.jinja\n",
                                                    eval.empty() ? "" : "  eval_path: " + eval + "\n", out);
    return testing::run_cli("sft " + dir + "/sft.yaml");
  };
  auto no_model = sft("out-a", dir + "/nomodel", dir + "/train.jsonl", "");
  EXPECT_EQ(no_model.exit_code, 1) << no_model.output;
  EXPECT_NE(no_model.output.find("nomodel"), std::string::npos) << no_model.output;
  EXPECT_EQ(no_model.output.find("rows"), std::string::npos) << "tokenized before the model was checked: " << no_model.output;
  EXPECT_FALSE(fs::exists(dir + "/out-a"));

  auto bad_train = sft("out-b", dir + "/base", dir + "/bad.jsonl", "");
  EXPECT_EQ(bad_train.exit_code, 1) << bad_train.output;
  EXPECT_NE(bad_train.output.find("bad.jsonl:2"), std::string::npos) << bad_train.output;
  EXPECT_FALSE(fs::exists(dir + "/out-b"));

  auto bad_eval = sft("out-c", dir + "/base", dir + "/train.jsonl", dir + "/bad.jsonl");
  EXPECT_EQ(bad_eval.exit_code, 1) << bad_eval.output;
  EXPECT_TRUE(fs::exists(dir + "/out-c/prepared"));
  EXPECT_TRUE(fs::exists(dir + "/out-c/tinythink_training.json"));
  auto rerun = sft("out-c", dir + "/base", dir + "/train.jsonl", dir + "/train.jsonl");
  EXPECT_EQ(rerun.exit_code, 0) << rerun.output;
  EXPECT_TRUE(fs::exists(dir + "/out-c/model.safetensors"));

  auto prepared = testing::run_cli(fmt::format("prepare --input {0}/train.jsonl --tokenizer {0}/base --chat-template "
                                               "{1}/reference/tiny-think/chat_template.jinja --out {0}/train.shard",
                                               dir, shared));
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  auto from_shard = sft("out-d", dir + "/base", dir + "/train.shard", "");
  EXPECT_EQ(from_shard.exit_code, 0) << from_shard.output;
  EXPECT_TRUE(fs::exists(dir + "/out-d/model.safetensors"));
  EXPECT_FALSE(fs::exists(dir + "/out-d/prepared"));
}

}  // namespace
}  // namespace tt
