// The study's own configs (configs/tiny-think/sft.yaml, dpo.yaml) name Hub repos, as the study's YAML
// does: facebook/MobileLLM-R1-140M-base and the Shekswess/tiny-think-{sft,dpo}-math-n-stem datasets.
// Here a fake Hub on the loopback interface serves tiny stand-ins under those ids (a random-initialised
// micro model with the Llama-3 tokenizer, and parquet datasets written by DuckDB:
// tests/fixtures/parquet/tiny_think_{sft,dpo}.parquet), and both configs train end to end from them,
// shrunk to a step by --set; nothing but the loopback is reached.
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "io/file.h"
#include "tests/fake_hub.h"
#include "tests/micro_model.h"
#include "tests/test_util.h"

namespace tt {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";  // the fake Hub's

// A dataset repo folder holding `parquet` as its train split, where the Hub's parquet export puts it.
std::string dataset_repo(const std::string& dir, const std::string& parquet) {
  fs::create_directories(dir + "/data");
  fs::copy_file(testing::fixture_dir() + "/parquet/" + parquet, dir + "/data/train-00000-of-00001.parquet");
  write_file_atomic(dir + "/README.md", "# stand-in\n");
  return dir;
}

TEST(StudyHub, TinyThinkConfigsTrainFromHubIdsServedByAFakeHub) {
  const std::string dir = testing::make_temp_dir("study-hub");
  testing::write_micro_llama3_vocab_config(dir + "/config.json");
  auto init = testing::run_cli(fmt::format("init-model --config {0}/config.json --seed 1 --out {0}/model --tokenizer {1}", dir,
                                           testing::shared_dir() + "/data/tokenizer/llama3/tokenizer.json"));
  ASSERT_EQ(init.exit_code, 0) << init.output;
  // the repo's tokenizer_config.json carries the chat template (here the study's)
  write_json_file(dir + "/model/tokenizer_config.json",
                  {{"chat_template", read_file(testing::shared_dir() + "/reference/tiny-think/chat_template.jinja")},
                   {"bos_token", "<|begin_of_text|>"}, {"eos_token", "<|eot_id|>"}});
  testing::FakeHubServer hub;
  hub.start(fmt::format("--serve models:facebook/MobileLLM-R1-140M-base={} "
                        "--serve datasets:Shekswess/tiny-think-sft-math-n-stem={} "
                        "--serve datasets:Shekswess/tiny-think-dpo-math-n-stem={}",
                        dir + "/model", dataset_repo(dir + "/sft-data", "tiny_think_sft.parquet"),
                        dataset_repo(dir + "/dpo-data", "tiny_think_dpo.parquet")));
  const std::string configs = testing::source_dir() + "/configs/tiny-think";
  const std::string shrink = " --set trainer.max_steps=1 --set trainer.max_length=128 --set trainer.bf16=false"
                             " --set trainer.per_device_train_batch_size=2 --set trainer.gradient_accumulation_steps=1";

  auto sft = testing::run_cli("sft " + configs + "/sft.yaml" + shrink + " --set trainer.output_dir=" + dir + "/sft");
  ASSERT_EQ(sft.exit_code, 0) << sft.output;
  EXPECT_TRUE(fs::exists(dir + "/sft/model.safetensors")) << sft.output;
  const std::string model = hub.cache + "/models--facebook--MobileLLM-R1-140M-base/snapshots/" + kCommit;
  EXPECT_EQ(read_file(model + "/model.safetensors"), read_file(dir + "/model/model.safetensors"));
  EXPECT_TRUE(fs::is_symlink(model + "/tokenizer.json"));
  EXPECT_TRUE(fs::exists(hub.cache + "/datasets--Shekswess--tiny-think-sft-math-n-stem/snapshots/" + kCommit +
                         "/data/train-00000-of-00001.parquet"));

  // DPO starts from the SFT output, as the study's `from:` does
  auto dpo = testing::run_cli("dpo " + configs + "/dpo.yaml" + shrink + " --set model_name=" + dir + "/sft" +
                              " --set tokenizer_name=" + dir + "/sft --set trainer.max_prompt_length=64" +
                              " --set trainer.max_completion_length=64 --set trainer.output_dir=" + dir + "/dpo");
  ASSERT_EQ(dpo.exit_code, 0) << dpo.output;
  EXPECT_TRUE(fs::exists(dir + "/dpo/model.safetensors")) << dpo.output;
  EXPECT_TRUE(fs::exists(hub.cache + "/datasets--Shekswess--tiny-think-dpo-math-n-stem/snapshots/" + kCommit +
                         "/data/train-00000-of-00001.parquet"));
  // the served requests: only loopback, and each repo's files resolved through the Hub's endpoints
  const std::string log = read_file(hub.log);
  for (const char* id : {"/facebook/MobileLLM-R1-140M-base/resolve/",
                         "/datasets/Shekswess/tiny-think-sft-math-n-stem/resolve/",
                         "/datasets/Shekswess/tiny-think-dpo-math-n-stem/resolve/"})
    EXPECT_NE(log.find(id), std::string::npos) << id << "\n" << log;
}

}  // namespace
}  // namespace tt
