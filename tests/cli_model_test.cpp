// The model verbs end to end through the binary: init-model, score, and their bad-input errors
// (one line, naming the file / line / tensor, non-zero exit).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "io/file.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "tests/test_util.h"

namespace tt {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

std::string write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

// Exit code 1 and a single "error: ..." line that contains `needle`.
using testing::expect_one_line_error;

TEST(CliInitModel, WritesALoadableHfCheckpointWithTokenizer) {
  std::string dir = testing::make_temp_dir("init") + "/model";
  std::string tokenizer = testing::shared_dir() + "/data/tokenizer/llama3/tokenizer.json";
  // the preset's 512-token vocabulary cannot hold Llama 3's ids: refused, nothing written
  expect_one_line_error(run_cli("init-model --arch tiny-llama4 --out " + dir + " --tokenizer " + tokenizer),
                        "has ids up to 128255, beyond the model's vocab_size 512");
  EXPECT_FALSE(fs::exists(dir));
  // the same architecture with Llama 3's vocabulary
  std::string preset = testing::make_temp_dir("init") + "/preset";
  ASSERT_EQ(run_cli("init-model --arch tiny-llama4 --out " + preset).exit_code, 0);
  nlohmann::json config = read_json_file(preset + "/config.json");
  config["vocab_size"] = 128256;
  write_text(preset + "/config.json", config.dump());
  auto r = run_cli("init-model --config " + preset + " --seed 7 --out " + dir + " --tokenizer " + tokenizer);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  Model model = load_model(dir);
  EXPECT_EQ(model.config.model_type, "llama4_text");
  // the tokenizer's special ids, not the preset's 1 / 2 (byte tokens of another vocabulary), so that
  // generation stops at Llama 3's <|end_of_text|>
  EXPECT_EQ(model.config.bos_token_id, 128000);
  EXPECT_NE(std::find(model.config.eos_token_ids.begin(), model.config.eos_token_ids.end(), 128001),
            model.config.eos_token_ids.end());
  const nlohmann::json generation = read_json_file(dir + "/generation_config.json");
  EXPECT_EQ(generation["bos_token_id"], 128000);
  EXPECT_NE(generation["eos_token_id"].dump().find("128001"), std::string::npos) << generation.dump();
  // matrices ~ N(0, 0.02), norms = 1
  const TensorSlot* q = model.layout.find("model.layers.0.self_attn.q_proj.weight");
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < q->numel; ++i) {
    sum += model.params[q->offset + i];
    sq += model.params[q->offset + i] * model.params[q->offset + i];
  }
  EXPECT_NEAR(std::sqrt(sq / q->numel - (sum / q->numel) * (sum / q->numel)), 0.02, 0.001);
  EXPECT_EQ(model.params[model.layout.find("model.norm.weight")->offset], 1.0f);
  // same seed, same weights; bf16 storage halves the file
  std::string again = testing::make_temp_dir("init") + "/model";
  ASSERT_EQ(run_cli("init-model --config " + preset + " --seed 7 --dtype bf16 --out " + again).exit_code, 0);
  EXPECT_LT(fs::file_size(again + "/model.safetensors"), fs::file_size(dir + "/model.safetensors") * 0.6);
}

// A write that fails (here a file-size limit stands for a full disk) is one line naming the folder
// asked for, and leaves no half-written temporary folder beside it; a previous model there is kept.
TEST(CliInitModel, AFailedWriteLeavesNoTemporaryFolder) {
  const std::string dir = testing::make_temp_dir("init-full");
  const std::string out = dir + "/model";
  auto limited = [&](const std::string& args) {  // SIGXFSZ ignored: the write fails with EFBIG instead
    return testing::run_shell(fmt::format("trap '' XFSZ; ulimit -f 64; {} {}", TT_BINARY, args));
  };
  auto r = limited("init-model --arch tiny-llama4 --out " + out);
  expect_one_line_error(r, out + "/model.safetensors: write failed");
  EXPECT_FALSE(fs::exists(out));
  ASSERT_EQ(run_cli("init-model --arch tiny-llama4 --out " + out).exit_code, 0);
  const std::string weights = read_file(out + "/model.safetensors");
  r = limited("init-model --arch tiny-llama4 --seed 3 --out " + out);
  expect_one_line_error(r, "write failed");
  EXPECT_EQ(read_file(out + "/model.safetensors"), weights);
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename(), "model") << "left behind: " << entry.path();
  fs::remove_all(dir);
}

TEST(CliInitModel, UnknownArchitectureIsAnError) {
  std::string dir = testing::make_temp_dir("init");
  expect_one_line_error(run_cli("init-model --arch gpt-5 --out " + dir + "/m"), "unknown model preset 'gpt-5'");
  std::string config = write_text(dir + "/config.json", R"({"model_type": "gpt2", "vocab_size": 10})");
  expect_one_line_error(run_cli("init-model --config " + config + " --out " + dir + "/m"), "gpt2");
}

// score's log-probs equal log_softmax of the PyTorch reference logits.
TEST(CliScore, MatchesReferenceLogProbabilities) {
  std::string model = testing::fixture_dir() + "/parity/tiny_llama4";
  SafetensorsFile ref(model + "/reference.safetensors");
  auto ids = ref.read_i64("input_ids");
  const auto& shape = ref.get("input_ids").shape;
  const int64_t rows = shape[0], seq = shape[1];
  std::vector<float> logits(ref.get("logits").numel());
  ref.read_f32("logits", logits.data());
  const int64_t vocab = ref.get("logits").shape[2];
  std::string dir = testing::make_temp_dir("score");
  std::string input;
  for (int64_t b = 0; b < rows; ++b) {
    nlohmann::json row = {{"ids", std::vector<int64_t>(ids.begin() + b * seq, ids.begin() + (b + 1) * seq)}};
    input += row.dump() + "\n";
  }
  write_text(dir + "/in.jsonl", input);
  // fp32: the tolerance below is fp32's (auto would pick bf16 on a CPU with native bf16 dot products).
  auto r = run_cli("score --model " + model + " --precision fp32 --input " + dir + "/in.jsonl --output " + dir +
                   "/out.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream out(dir + "/out.jsonl");
  std::string line;
  for (int64_t b = 0; b < rows; ++b) {
    ASSERT_TRUE(std::getline(out, line));
    auto json = nlohmann::json::parse(line);
    auto lp = json["token_logprobs"].get<std::vector<double>>();
    ASSERT_EQ(static_cast<int64_t>(lp.size()), seq - 1);
    double sum = 0;
    for (int64_t t = 0; t + 1 < seq; ++t) {
      const float* row = &logits[(b * seq + t) * vocab];
      double mx = *std::max_element(row, row + vocab), z = 0;
      for (int64_t v = 0; v < vocab; ++v) z += std::exp(row[v] - mx);
      double expected = row[ids[b * seq + t + 1]] - mx - std::log(z);
      EXPECT_NEAR(lp[t], expected, 1e-4 * std::max(1.0, std::fabs(expected)));
      sum += lp[t];
    }
    EXPECT_NEAR(json["sum_logprob"].get<double>(), sum, 1e-6 * std::fabs(sum));
  }
}

class CliBadModelInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("bad");
    model_ = dir_ + "/model";
    ASSERT_EQ(run_cli("init-model --arch tiny-llama4 --out " + model_).exit_code, 0);
    write_text(dir_ + "/in.jsonl", "{\"ids\": [1, 2, 3]}\n");
  }
  // The model file's tensors, in file order, read as fp32.
  struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> data;
  };
  std::vector<Tensor> model_tensors() const {
    SafetensorsFile file(model_ + "/model.safetensors");
    std::vector<Tensor> out;
    for (const auto& info : file.tensors()) {
      out.push_back({info.name, info.shape, std::vector<float>(info.numel())});
      file.read_f32(info.name, out.back().data.data());
    }
    return out;
  }
  // Writes `tensors` as the model file (fp32).
  void write_model_tensors(const std::vector<Tensor>& tensors) const {
    std::vector<TensorToWrite> out;
    for (const auto& t : tensors) out.push_back({t.name, DType::F32, t.shape, t.data.data(), nullptr});
    write_safetensors(model_ + "/model.safetensors", out);
  }
  testing::CommandResult score(const std::string& input) {
    return run_cli("score --model " + model_ + " --input " + input + " --output " + dir_ + "/out.jsonl");
  }
  std::string dir_, model_;
};

TEST_F(CliBadModelInput, TokenIdOutOfRangeNamesFileAndLine) {
  write_text(dir_ + "/bad.jsonl", "{\"ids\": [1, 2]}\n{\"ids\": [1, 512]}\n");
  expect_one_line_error(score(dir_ + "/bad.jsonl"), "bad.jsonl:2: token id 512 out of range");
  EXPECT_FALSE(fs::exists(dir_ + "/out.jsonl"));  // no half-written output
}

TEST_F(CliBadModelInput, MalformedJsonlNamesFileAndLine) {
  write_text(dir_ + "/bad.jsonl", "{\"ids\": [1, 2]}\n\n{\"ids\": [1,\n");
  expect_one_line_error(score(dir_ + "/bad.jsonl"), "bad.jsonl:3: invalid JSON");
  write_text(dir_ + "/bad2.jsonl", "{\"tokens\": [1, 2]}\n");
  expect_one_line_error(score(dir_ + "/bad2.jsonl"), "bad2.jsonl:1: expected a field 'ids'");
  expect_one_line_error(score(dir_ + "/missing.jsonl"), "missing.jsonl");
}

TEST_F(CliBadModelInput, TruncatedSafetensorsNamesTheFile) {
  std::string file = model_ + "/model.safetensors";
  fs::resize_file(file, fs::file_size(file) - 100);
  expect_one_line_error(score(dir_ + "/in.jsonl"), "model.safetensors");
}

TEST_F(CliBadModelInput, HeaderThatLiesAboutOffsetsNamesTheFile) {
  std::string file = model_ + "/model.safetensors";
  std::string bytes = read_file(file);
  // make the first tensor claim one more element than its offsets hold
  auto pos = bytes.find("\"shape\":[");
  ASSERT_NE(pos, std::string::npos);
  auto digit = bytes.find_first_of("0123456789", pos);
  bytes[digit] = bytes[digit] == '9' ? '8' : static_cast<char>(bytes[digit] + 1);
  std::ofstream(file, std::ios::binary) << bytes;
  expect_one_line_error(score(dir_ + "/in.jsonl"), "model.safetensors");
}

TEST_F(CliBadModelInput, MissingTensorIsNamed) {
  std::vector<Tensor> tensors = model_tensors();
  std::erase_if(tensors, [](const Tensor& t) { return t.name == "model.norm.weight"; });
  write_model_tensors(tensors);
  expect_one_line_error(score(dir_ + "/in.jsonl"), "missing tensor model.norm.weight");
}

TEST_F(CliBadModelInput, WrongTensorShapeIsNamed) {
  std::vector<Tensor> tensors = model_tensors();
  for (auto& t : tensors)
    if (t.name == "model.layers.0.feed_forward.gate_proj.weight") std::swap(t.shape[0], t.shape[1]);
  write_model_tensors(tensors);
  expect_one_line_error(score(dir_ + "/in.jsonl"), "model.layers.0.feed_forward.gate_proj.weight");
}

// A tied checkpoint that also holds lm_head.weight: the embedding is the output layer (as transformers
// ties it), so an equal copy loads silently and a differing one is warned of, naming the difference.
TEST_F(CliBadModelInput, ATiedCheckpointsDifferingLmHeadIsWarnedOf) {
  std::vector<Tensor> tensors = model_tensors();
  Tensor head;
  for (const auto& t : tensors) {
    ASSERT_NE(t.name, "lm_head.weight") << "tiny-llama4 ties its embeddings";
    if (t.name == "model.embed_tokens.weight") head = {"lm_head.weight", t.shape, t.data};
  }
  ASSERT_FALSE(head.data.empty());
  const auto r0 = score(dir_ + "/in.jsonl");
  ASSERT_EQ(r0.exit_code, 0) << r0.output;
  const std::string scores = read_file(dir_ + "/out.jsonl");
  tensors.push_back(head);
  write_model_tensors(tensors);
  auto r = score(dir_ + "/in.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("lm_head"), std::string::npos) << r.output;
  tensors.back().data[7] += 0.5f;
  write_model_tensors(tensors);
  r = score(dir_ + "/in.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("tensor lm_head.weight is ignored: config.json ties the word embeddings"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("by up to 0.5"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(dir_ + "/out.jsonl"), scores);  // the embedding is the output layer either way
}

TEST_F(CliBadModelInput, MissingModelDirectory) {
  expect_one_line_error(run_cli("score --model " + dir_ + "/nowhere --input " + dir_ + "/in.jsonl --output " + dir_ +
                                "/o.jsonl"),
                        "nowhere");
}

}  // namespace
}  // namespace tt

namespace tt {
namespace {

// export --format ollama: the folder holds the GGUF (read back whole) and a Modelfile FROM it.
TEST(CliExport, OllamaFolderHoldsTheGgufAndAModelfile) {
  std::string dir = testing::make_temp_dir("ollama-cli");
  std::string model = testing::shared_dir() + "/data/fixtures/gguf/llama-tiny";
  testing::CommandResult result = run_cli("export --model " + model + " --format ollama --outtype q8_0 --out " + dir + "/out");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  GgufContents gguf = read_gguf(dir + "/out/model.gguf");
  ASSERT_NE(gguf.find("general.file_type"), nullptr);
  EXPECT_TRUE(*gguf.find("general.file_type") == GgufValue::u32(7)) << "q8_0";  // (rows of 16: tensors fall back to f16)
  EXPECT_NE(gguf.find_tensor("blk.0.attn_q.weight"), nullptr);
  std::string modelfile = read_file(dir + "/out/Modelfile");
  EXPECT_TRUE(modelfile.starts_with("FROM ./model.gguf\n\nTEMPLATE \"\"\"")) << modelfile;
  EXPECT_NE(modelfile.find("PARAMETER stop \"<|eot_id|>\""), std::string::npos) << modelfile;
  testing::CommandResult bad = run_cli("export --model " + model + " --format onnx --out " + dir + "/x");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--format 'onnx': expected gguf or ollama"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace tt

namespace tt {
namespace {

// import: an exported file comes back as a checkpoint `tinythink score` runs on; a cut file is one line naming it.
TEST(CliImport, ExportedGgufComesBackAsACheckpointAndABadFileIsOneLine) {
  std::string dir = testing::make_temp_dir("import-cli");
  std::string model = testing::shared_dir() + "/data/fixtures/gguf/llama-tiny";
  ASSERT_EQ(run_cli("export --model " + model + " --outtype bf16 --out " + dir + "/m.gguf").exit_code, 0);
  testing::CommandResult result = run_cli("import " + dir + "/m.gguf " + dir + "/back");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    EXPECT_TRUE(file_exists(dir + "/back/" + f)) << f;
  testing::CommandResult again = run_cli("import " + dir + "/m.gguf " + dir + "/back");
  testing::expect_one_line_error(again, "import OUTDIR " + dir + "/back: already holds config.json (pass --overwrite to replace it)");
  std::string bytes = read_file(dir + "/m.gguf");
  write_file_atomic(dir + "/cut.gguf", bytes.substr(0, bytes.size() / 2));
  testing::expect_one_line_error(run_cli("import " + dir + "/cut.gguf " + dir + "/x"), dir + "/cut.gguf: ");
  write_file_atomic(dir + "/magic.gguf", "GGUX" + bytes.substr(4, 100));
  testing::expect_one_line_error(run_cli("import " + dir + "/magic.gguf " + dir + "/x"), dir + "/magic.gguf: not a GGUF file (bad magic)");
}

// llama4_text: exported (as llama.cpp's qwen3) and imported back, `tinythink score` gives the same log-probs.
TEST(CliImport, Llama4TextComesBackAsLlama4TextThatScoresTheSame) {
  std::string dir = testing::make_temp_dir("import-cli-llama4");
  std::string tokenizer = testing::shared_dir() + "/data/fixtures/gguf/llama-tiny/tokenizer.json";
  ASSERT_EQ(run_cli("init-model --config " + testing::fixture_dir() + "/gguf_llama4/config.json --seed 7 --out " + dir +
                    "/orig --tokenizer " + tokenizer).exit_code, 0);
  ASSERT_EQ(run_cli("export --model " + dir + "/orig --outtype f32 --out " + dir + "/m.gguf").exit_code, 0);
  testing::CommandResult result = run_cli("import " + dir + "/m.gguf " + dir + "/back");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(read_json_file(dir + "/back/config.json")["model_type"], "llama4_text");
  write_file_atomic(dir + "/in.jsonl", "{\"ids\": [128000, 9906, 11, 1917, 0]}\n{\"ids\": [128000, 791, 4320, 374, 220, 19]}\n");
  for (const char* m : {"orig", "back"})
    ASSERT_EQ(run_cli(std::string("score --model ") + dir + "/" + m + " --input " + dir + "/in.jsonl --output " + dir +
                      "/" + m + ".jsonl").exit_code, 0) << m;
  std::string original = read_file(dir + "/orig.jsonl");
  EXPECT_NE(original.find("token_logprobs"), std::string::npos);
  EXPECT_EQ(read_file(dir + "/back.jsonl"), original);
}

}  // namespace
}  // namespace tt
