#include "text/ollama_modelfile.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"

#include "tests/error_of.h"
#include "tests/test_util.h"

namespace tt {
namespace {

std::string llama_tiny() { return testing::shared_dir() + "/data/fixtures/gguf/llama-tiny"; }

// A checkpoint folder holding only a tokenizer_config.json and a generation_config.json.
std::string config_dir(const std::string& chat_template, const std::string& generation_config) {
  std::string dir = testing::make_temp_dir("ollama");
  nlohmann::json tok = {{"bos_token", "<|begin_of_text|>"}, {"eos_token", "<|eot_id|>"}, {"chat_template", chat_template}};
  write_file_atomic(dir + "/tokenizer_config.json", tok.dump());
  write_file_atomic(dir + "/generation_config.json", generation_config);
  return dir;
}

const char* kPlainLlama3 =
    "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + "
    "m['content'] + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

TEST(OllamaModelfile, StudyTemplateBecomesLlama3GoTemplateWithItsDefaultSystemMessage) {
  std::string modelfile = ollama_modelfile(llama_tiny(), "model.gguf");
  // The study template writes "\n\n\n" after BOS, "\n\n" after the system block, "\n" before the generation prompt.
  std::string go_template = ollama_llama3_template({"\n\n\n", "\n\n", "", "\n"});
  EXPECT_TRUE(modelfile.starts_with("FROM ./model.gguf\n\nTEMPLATE \"\"\"" + go_template + "\"\"\"\n")) << modelfile;
  EXPECT_NE(modelfile.find("\nSYSTEM \"\"\"Respond with your reasoning wrapped in <think>...</think>, then provide the "
                           "final answer within \\\\boxed{}.\"\"\"\n"),
            std::string::npos)
      << modelfile;
  // <|eot_id|> ends a turn; generation_config's eos_token_id 128001 is <|end_of_text|>.
  EXPECT_NE(modelfile.find("PARAMETER stop \"<|eot_id|>\"\nPARAMETER stop \"<|end_of_text|>\"\n"), std::string::npos)
      << modelfile;
  EXPECT_EQ(modelfile.find("PARAMETER temperature"), std::string::npos) << "generation_config sets no sampling";
}

TEST(OllamaModelfile, SamplingDefaultsComeFromGenerationConfig) {
  std::string dir = config_dir(kPlainLlama3, R"({"temperature": 0.6, "top_p": 0.95, "top_k": 20, "repetition_penalty": 1.1})");
  std::string modelfile = ollama_modelfile(dir, "m.gguf");
  EXPECT_EQ(modelfile.find("SYSTEM"), std::string::npos) << "the template adds no system message";
  EXPECT_NE(modelfile.find("TEMPLATE \"\"\"" + ollama_llama3_template({}) + "\"\"\"\n"), std::string::npos) << modelfile;
  EXPECT_NE(modelfile.find("PARAMETER temperature 0.6\nPARAMETER top_p 0.95\nPARAMETER top_k 20\n"
                           "PARAMETER repeat_penalty 1.1\n"),
            std::string::npos)
      << modelfile;
  std::string greedy = ollama_modelfile(config_dir(kPlainLlama3, R"({"do_sample": false, "temperature": 0.6})"), "m.gguf");
  EXPECT_NE(greedy.find("PARAMETER temperature 0\n"), std::string::npos) << greedy;
  EXPECT_EQ(greedy.find("temperature 0.6"), std::string::npos) << greedy;
}

TEST(OllamaModelfile, RefusesTemplatesItCannotConvert) {
  std::string chatml = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
                       "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  std::string dir = config_dir(chatml, "{}");
  EXPECT_NE(testing::error_of([&] { ollama_modelfile(dir, "m.gguf"); }).find("is not a Llama-3 header template"),
            std::string::npos);
  std::string bad = config_dir(kPlainLlama3, R"({"temperature": "hot"})");
  EXPECT_NE(testing::error_of([&] { ollama_modelfile(bad, "m.gguf"); }).find("generation_config.json: 'temperature' is not a number"),
            std::string::npos);
}

}  // namespace
}  // namespace tt
