// tinythink generate / bench generate end to end on a tiny random model with a byte-level tokenizer.
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "infer/engine.h"
#include "infer/test_models.h"
#include "io/file.h"
#include "tests/test_util.h"

namespace tt {
namespace {

struct ModelDir {
  std::string dir, model;
  ModelDir() {
    dir = testing::make_temp_dir("generate-cli");
    infer::testing::write_tiny_tokenizer(dir);
    std::ofstream(dir + "/tokenizer_config.json")
        << nlohmann::json{{"chat_template",
                           "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
                           "{% if add_generation_prompt %}<assistant>{% endif %}"},
                          {"eos_token", "<eos>"}}
               .dump();
    model = dir + "/model";
    Model m = infer::testing::tiny_model();
    SaveOptions options;
    options.tokenizer_source = dir;
    save_model(m, model, options);
  }
  ~ModelDir() { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  }
  // The model's generation_config.json with `keys` set over what save_model wrote.
  void set_generation_config(const nlohmann::json& keys) const {
    nlohmann::json generation = read_json_file(model + "/generation_config.json");
    generation.update(keys);
    write_json_file(model + "/generation_config.json", generation);
  }
};

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

TEST(GenerateCli, PromptsIdsAndPerRequestFields) {
  ModelDir m;
  std::string input = m.write("in.jsonl",
                              "{\"ids\": [1, 2, 3], \"max_new_tokens\": 5}\n"
                              "{\"prompt\": \"hello\", \"temperature\": 0.8, \"seed\": 3, \"n\": 2, "
                              "\"max_new_tokens\": 4, \"tag\": \"keep me\"}\n");
  auto r = testing::run_cli("generate --model " + m.model + " --input " + input + " --output " + m.dir + "/out.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2/2 requests"), std::string::npos) << r.output;
  auto rows = read_lines(m.dir + "/out.jsonl");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["completion_ids"].size(), 5u);
  EXPECT_TRUE(rows[0]["completion"].is_string());
  EXPECT_EQ(rows[1]["tag"], "keep me");
  ASSERT_EQ(rows[1]["completion_ids"].size(), 2u);
  EXPECT_EQ(rows[1]["completion_ids"][0].size(), 4u);
  // The CLI's greedy tokens are the engine's.
  Model model = load_model(m.model);
  infer::Engine engine(model, {});
  auto direct = engine.generate({{{1, 2, 3}, {.temperature = 0.0f, .max_new_tokens = 5}}});
  EXPECT_EQ(rows[0]["completion_ids"].get<std::vector<int32_t>>(), direct[0].samples[0].ids);
}

TEST(GenerateCli, ChatMessagesAndSinglePrompt) {
  ModelDir m;
  std::string input = m.write("chat.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n");
  auto r = testing::run_cli("generate --model " + m.model + " --chat --max-new-tokens 3 --input " + input +
                            " --output " + m.dir + "/out.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_lines(m.dir + "/out.jsonl").at(0)["completion_ids"].size(), 3u);
  r = testing::run_cli("generate --model " + m.model + " --prompt abc --max-new-tokens 3 --temperature 1 --seed 4 "
                       "--top-k 5 --top-p 0.9 --min-p 0.01 --output " + m.dir + "/one.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_lines(m.dir + "/one.jsonl").at(0)["prompt"], "abc");
}

// Lines without a seed of their own sample differently even with the same prompt (as a vLLM batch
// does); the first line's seed is --seed, a line's own seed is kept, and the file is reproducible.
// vLLM's penalties and min_tokens are taken from the flags and the lines.
TEST(GenerateCli, LinesWithoutASeedSampleDifferentlyAndVllmFieldsApply) {
  ModelDir m;
  const std::string line = "{\"ids\": [1, 2, 3], \"temperature\": 1.0, \"max_new_tokens\": 12}\n";
  std::string input = m.write("same.jsonl", line + line + "{\"ids\": [1, 2, 3], \"temperature\": 1.0, "
                                                          "\"max_new_tokens\": 12, \"seed\": 9}\n");
  auto ids = [&](const std::string& args, const std::string& out) {
    auto r = testing::run_cli("generate --model " + m.model + " --input " + input + " --output " + m.dir + "/" + out +
                              " " + args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::vector<std::vector<int32_t>> all;
    for (const auto& row : read_lines(m.dir + "/" + out)) all.push_back(row["completion_ids"].get<std::vector<int32_t>>());
    return all;
  };
  const auto a = ids("--seed 9", "a.jsonl");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_NE(a[0], a[1]);
  EXPECT_EQ(a[0], a[2]);  // line 1 takes --seed itself
  EXPECT_EQ(ids("--seed 9", "again.jsonl"), a);
  EXPECT_NE(ids("--seed 10", "other.jsonl")[1], a[1]);
  // Penalties and min_tokens, from the flags: a greedy line's completion changes under a presence
  // penalty; min_tokens past max_new_tokens is refused, naming the flag.
  std::string greedy = m.write("greedy.jsonl", "{\"ids\": [1, 2, 3], \"max_new_tokens\": 16}\n");
  auto run = [&](const std::string& args) {
    return testing::run_cli("generate --model " + m.model + " --input " + greedy + " --output " + m.dir +
                            "/g.jsonl " + args);
  };
  ASSERT_EQ(run("").exit_code, 0);
  const auto plain = read_lines(m.dir + "/g.jsonl").at(0)["completion_ids"];
  ASSERT_EQ(run("--presence-penalty 2 --frequency-penalty 1.5 --min-tokens 3").exit_code, 0);
  EXPECT_NE(read_lines(m.dir + "/g.jsonl").at(0)["completion_ids"], plain);
  auto r = run("--min-tokens 300");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("generate --min-tokens: min_tokens must be <= max_new_tokens (256), got 300"),
            std::string::npos)
      << r.output;
  r = run("--min-tokens 17");  // more than the line's max_new_tokens
  EXPECT_NE(r.output.find("greedy.jsonl:1: min_tokens must be <= max_new_tokens (16), got 17"), std::string::npos)
      << r.output;
  r = run("--presence-penalty 2.5");
  EXPECT_NE(r.output.find("generate --presence-penalty: presence_penalty must be in [-2, 2], got 2.5"), std::string::npos)
      << r.output;
}

// --logprobs (or a line's "logprobs"): each row gets vLLM's logprobs, per generated token a dict from
// token id to {logprob, rank, decoded_token}, and cumulative_logprob; with --prompt the row is printed.
TEST(GenerateCli, LogprobsPerGeneratedToken) {
  ModelDir m;
  std::string input = m.write("lp.jsonl", "{\"ids\": [1, 2, 3], \"max_new_tokens\": 4}\n"
                                          "{\"ids\": [1, 2, 3], \"max_new_tokens\": 4, \"logprobs\": 0}\n"
                                          "{\"ids\": [4, 5], \"max_new_tokens\": 3, \"n\": 2, \"temperature\": 1}\n");
  auto r = testing::run_cli("generate --model " + m.model + " --logprobs 2 --input " + input + " --output " + m.dir +
                            "/lp_out.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = read_lines(m.dir + "/lp_out.jsonl");
  ASSERT_EQ(rows.size(), 3u);
  const auto ids = rows[0]["completion_ids"].get<std::vector<int32_t>>();
  ASSERT_EQ(rows[0]["logprobs"].size(), ids.size());
  double cumulative = 0;
  for (size_t t = 0; t < ids.size(); ++t) {
    const auto& position = rows[0]["logprobs"][t];
    ASSERT_TRUE(position.contains(std::to_string(ids[t]))) << position.dump();
    const auto& sampled = position[std::to_string(ids[t])];
    EXPECT_EQ(sampled["rank"], 1) << "greedy: the most likely token";
    EXPECT_TRUE(sampled["decoded_token"].is_string());
    EXPECT_LE(sampled["logprob"].get<double>(), 0.0);
    EXPECT_EQ(position.size(), 2u);  // greedy: the sampled token is the top one, then the second
    cumulative += sampled["logprob"].get<double>();
  }
  EXPECT_NEAR(rows[0]["cumulative_logprob"].get<double>(), cumulative, 1e-5);
  EXPECT_EQ(rows[1]["logprobs"][0].size(), 1u);  // the line's 0 over the flag's 2
  ASSERT_EQ(rows[2]["logprobs"].size(), 2u);     // n = 2: one list per sample
  EXPECT_EQ(rows[2]["logprobs"][1].size(), 3u);
  EXPECT_EQ(rows[2]["cumulative_logprob"].size(), 2u);
  // --prompt prints the JSON row; without --logprobs rows carry no logprobs
  r = testing::run_cli("generate --model " + m.model + " --prompt abc --max-new-tokens 2 --logprobs 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"cumulative_logprob\""), std::string::npos) << r.output;
  r = testing::run_cli("generate --model " + m.model + " --input " + input + " --output " + m.dir + "/plain.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto plain = read_lines(m.dir + "/plain.jsonl");
  EXPECT_FALSE(plain[0].contains("logprobs"));
  EXPECT_TRUE(plain[1].contains("logprobs"));  // the line asks for them itself
  EXPECT_EQ(plain[0]["completion_ids"], rows[0]["completion_ids"]);
  r = testing::run_cli("generate --model " + m.model + " --prompt abc --logprobs 21");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("logprobs must be in [0, 20]"), std::string::npos) << r.output;
}

TEST(GenerateCli, BadInputGetsOneLineMessages) {
  ModelDir m;
  auto expect_error = [&](const std::string& line, const std::string& args, const std::string& needle) {
    std::string input = m.write("bad.jsonl", line + "\n");
    auto r = testing::run_cli("generate --model " + m.model + " --input " + input + " --output " + m.dir +
                              "/bad_out.jsonl " + args);
    EXPECT_NE(r.exit_code, 0) << line;
    EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
    EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(std::filesystem::exists(m.dir + "/bad_out.jsonl"));
  };
  expect_error("{\"prompt\": \"\"}", "", "prompt is empty");
  expect_error("{\"prompt\": \"hi\", \"temprature\": 0.5}", "", "unknown sampling key 'temprature' (did you mean 'temperature'");
  expect_error("{\"prompt\": \"hi\", \"top-p\": 0.5}", "", "did you mean 'top_p'");
  std::string long_ids = "1";
  for (int i = 1; i < 300; ++i) long_ids += ",1";  // the tiny model's context is 256 tokens
  expect_error("{\"ids\": [" + long_ids + "]}", "", "context");
  expect_error("{\"prompt\": \"hi\"}", "--stop ''", "empty stop string");
  expect_error("{\"prompt\": \"hi\", \"top_p\": 2}", "", "top_p must be in (0, 1]");
  expect_error("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", "", "needs --chat");
  expect_error("{\"prompt\": \"hi\"}", "--stop-token-id -1", "generate --stop-token-id: token id -1 is out of range");
}

// --prompt-logprobs (or a line's "prompt_logprobs"): vLLM's prompt_logprobs, null for the first
// prompt token, then per token a dict holding it (and the K most likely) with its rank; the
// values are the engine's.
TEST(GenerateCli, PromptLogprobsPerPromptToken) {
  ModelDir m;
  std::string input = m.write("plp.jsonl", "{\"ids\": [1, 2, 3, 4], \"max_new_tokens\": 2}\n"
                                           "{\"ids\": [7], \"max_new_tokens\": 2, \"n\": 2, \"temperature\": 1}\n"
                                           "{\"ids\": [5, 6], \"max_new_tokens\": 2, \"prompt_logprobs\": 0}\n");
  auto r = testing::run_cli("generate --model " + m.model + " --precision fp32 --prompt-logprobs 2 --input " + input + " --output " +
                            m.dir + "/plp_out.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = read_lines(m.dir + "/plp_out.jsonl");
  ASSERT_EQ(rows.size(), 3u);
  const auto& first = rows[0]["prompt_logprobs"];
  ASSERT_EQ(first.size(), 4u) << first.dump();
  EXPECT_TRUE(first[0].is_null());
  Model model = load_model(m.model);
  infer::Engine engine(model, {});
  const auto direct = engine.generate({{{1, 2, 3, 4}, {.temperature = 0.0f, .max_new_tokens = 2, .prompt_logprobs = 2}}});
  for (size_t t = 1; t < 4; ++t) {
    const auto& entry = first[t].at(std::to_string(t + 1));  // prompt token t is id t + 1
    EXPECT_EQ(entry["logprob"].get<float>(), direct[0].prompt_logprobs[t - 1][0].logprob);
    EXPECT_EQ(entry["rank"].get<int64_t>(), direct[0].prompt_logprobs[t - 1][0].rank);
    EXPECT_TRUE(entry["decoded_token"].is_string());
    EXPECT_GE(first[t].size(), 2u);
    EXPECT_LE(first[t].size(), 3u);
  }
  EXPECT_EQ(rows[0]["completion_ids"].get<std::vector<int32_t>>(), direct[0].samples[0].ids);
  EXPECT_EQ(rows[1]["prompt_logprobs"], nlohmann::json::array({nullptr})) << "one prompt token: vLLM's [None]";
  EXPECT_EQ(rows[1]["completion_ids"].size(), 2u) << "n = 2";
  ASSERT_EQ(rows[2]["prompt_logprobs"].size(), 2u);
  EXPECT_EQ(rows[2]["prompt_logprobs"][1].size(), 1u) << "the line's 0 over the flag's 2";
  r = testing::run_cli("generate --model " + m.model + " --input " + input + " --output " + m.dir + "/plain.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(read_lines(m.dir + "/plain.jsonl")[0].contains("prompt_logprobs"));
  r = testing::run_cli("generate --model " + m.model + " --prompt abc --prompt-logprobs 21");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("generate --prompt-logprobs: prompt_logprobs must be in [0, 20]"), std::string::npos)
      << r.output;
}

// The model's generation_config.json gives the sampling defaults, as vLLM's --generation-config auto:
// its temperature, top_k and max_new_tokens apply where no flag or request field sets them, and
// --generation-config vllm leaves the file out.
TEST(GenerateCli, TheModelsGenerationConfigGivesSamplingDefaults) {
  ModelDir m;
  m.set_generation_config({{"temperature", 1.0}, {"top_k", 3}, {"max_new_tokens", 7},
                           {"do_sample", false}});  // do_sample is not read, as in vLLM
  std::string input = m.write("in.jsonl", "{\"ids\": [1, 2, 3]}\n{\"ids\": [1, 2, 3], \"max_new_tokens\": 4}\n");
  auto run = [&](const std::string& args) {
    auto r = testing::run_cli("generate --model " + m.model + " --input " + input + " --output " + m.dir +
                              "/out.jsonl --ignore-eos --seed 5 " + args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::vector<std::vector<int32_t>> ids;
    for (const auto& row : read_lines(m.dir + "/out.jsonl")) ids.push_back(row["completion_ids"].get<std::vector<int32_t>>());
    return std::make_pair(ids, r.output);
  };
  Model model = load_model(m.model);
  infer::Engine engine(model, {});
  auto engine_ids = [&](infer::SamplingParams p) {
    p.ignore_eos = true;
    return engine.generate({{{1, 2, 3}, p}})[0].samples[0].ids;
  };
  const auto [sampled, log] = run("");
  EXPECT_NE(log.find("sampling defaults from " + m.model + "/generation_config.json: temperature 1, top_k 3, "
                     "max_new_tokens 7"),
            std::string::npos)
      << log;
  ASSERT_EQ(sampled.size(), 2u);
  EXPECT_EQ(sampled[0], engine_ids({.temperature = 1.0f, .top_k = 3, .seed = 5, .max_new_tokens = 7}));
  EXPECT_EQ(sampled[1].size(), 4u) << "the request's field wins";
  // a flag wins over the file
  const auto greedy = run("--temperature 0").first;
  EXPECT_EQ(greedy[0], engine_ids({.temperature = 0.0f, .top_k = 3, .max_new_tokens = 7}));
  EXPECT_NE(greedy[0], sampled[0]);
  // vllm: tinythink's own defaults (greedy, 256 tokens)
  const auto [plain, quiet] = run("--generation-config vllm --max-new-tokens 9");
  EXPECT_EQ(plain[0], engine_ids({.temperature = 0.0f, .max_new_tokens = 9}));
  EXPECT_EQ(quiet.find("sampling defaults from"), std::string::npos) << quiet;
  // the flags with the file's defaults are checked together, naming both
  auto r = testing::run_cli("generate --model " + m.model + " --prompt hi --min-tokens 8");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("generate: min_tokens must be <= max_new_tokens (7), got 8 (the flags with the sampling "
                          "defaults of " + m.model + "/generation_config.json)"),
            std::string::npos)
      << r.output;
  m.set_generation_config({{"top_p", 0}});
  r = testing::run_cli("generate --model " + m.model + " --prompt hi");
  EXPECT_NE(r.output.find(m.model + "/generation_config.json: top_p must be in (0, 1], got 0"), std::string::npos)
      << r.output;
}

// chat takes the same defaults: a file's temperature 0 and max_new_tokens 2 reply as those flags do.
TEST(GenerateCli, ChatTakesTheModelsGenerationConfigToo) {
  ModelDir m;
  m.set_generation_config({{"temperature", 0}, {"max_new_tokens", 2}});
  const std::string stdin_file = m.write("stdin.txt", "hello\n");
  auto from_file = testing::run_cli("chat --model " + m.model + " < " + stdin_file);
  ASSERT_EQ(from_file.exit_code, 0) << from_file.output;
  EXPECT_NE(from_file.output.find("sampling defaults from " + m.model + "/generation_config.json: temperature 0, "
                                  "max_new_tokens 2"),
            std::string::npos)
      << from_file.output;
  auto from_flags = testing::run_cli("chat --model " + m.model + " --generation-config vllm --temperature 0 "
                                     "--max-new-tokens 2 < " + stdin_file);
  ASSERT_EQ(from_flags.exit_code, 0) << from_flags.output;
  const auto reply = [](const std::string& output) { return output.substr(output.rfind("/quit)\n") + 7); };
  EXPECT_EQ(reply(from_file.output), reply(from_flags.output));
  auto unlimited = testing::run_cli("chat --model " + m.model + " --generation-config vllm --temperature 0 < " + stdin_file);
  EXPECT_GT(reply(unlimited.output).size(), reply(from_file.output).size()) << "512 tokens, not the file's 2";
  m.set_generation_config({{"temperature", -1}});
  auto r = testing::run_cli("chat --model " + m.model + " < " + stdin_file);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(m.model + "/generation_config.json: temperature must be >= 0, got -1"), std::string::npos)
      << r.output;
}

TEST(GenerateCli, BenchGenerateReportsThroughput) {
  auto r = testing::run_cli("bench generate --arch tiny-llama4 --batch 3 --prompt 9 --new 4 --precision fp32 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_GT(j["prefill_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["decode_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["peak_rss_mb"].get<double>(), 0);
}

// --profile: the decode steps' per-op table; every step runs the classifier GEMM once, the paged
// attention once per layer (the tiny model has 2) and 4 layer GEMMs per layer, and the rows with
// "other" add up to the decode time.
TEST(GenerateCli, BenchGenerateProfilesTheDecodeSteps) {
  auto r = testing::run_cli("bench generate --arch tiny-llama4 --batch 3 --prompt 9 --new 6 --precision fp32 --json --profile");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("| packed gemm (lm head) |"), std::string::npos) << r.output;
  auto j = nlohmann::json::parse(r.output.substr(r.output.find("{\"")));
  std::map<std::string, nlohmann::json> rows;
  double shares = 0.0;
  for (const auto& row : j.at("profile")) {
    rows[row.at("op").get<std::string>()] = row;
    shares += row.at("share").get<double>();
  }
  ASSERT_TRUE(rows.count("packed gemm (lm head)") && rows.count("packed gemm (layers)") && rows.count("paged attention") &&
              rows.count("sampling") && rows.count("other (outside kernels)"))
      << j.at("profile").dump();
  EXPECT_EQ(rows["packed gemm (lm head)"]["calls_per_step"].get<int64_t>(), 1);
  EXPECT_EQ(rows["paged attention"]["calls_per_step"].get<int64_t>(), 2);
  // q/k/v and gate/up run as one stacked GEMM each in a step of few rows: 4 GEMMs per layer, not 7.
  EXPECT_EQ(rows["packed gemm (layers)"]["calls_per_step"].get<int64_t>(), 8);
  EXPECT_NEAR(shares, 1.0, 1e-6);
}

// bench generate on a checkpoint with given prompts (what bench/compare_llama_cpp.sh gives llama.cpp too).
TEST(GenerateCli, BenchGenerateTakesACheckpointAndItsPrompts) {
  std::string dir = testing::make_temp_dir("bench-prompts"), model = testing::fixture_dir() + "/parity/tiny_llama4";
  write_file_atomic(dir + "/p.jsonl", "{\"ids\": [1, 2, 3, 4]}\n{\"ids\": [5, 6, 7, 8]}\n");
  auto r = testing::run_cli("bench generate --model " + model + " --prompts " + dir + "/p.jsonl --new 3 --precision fp32 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(j["batch"], 2);
  EXPECT_EQ(j["prompt"], 4);
  EXPECT_EQ(j["arch"], model);
  EXPECT_GT(j["decode_tokens_per_s"].get<double>(), 0);
  write_file_atomic(dir + "/bad.jsonl", "{\"ids\": [1, 99999999]}\n");
  testing::expect_one_line_error(
      testing::run_cli("bench generate --model " + model + " --prompts " + dir + "/bad.jsonl --json"),
      dir + "/bad.jsonl:1: token id 99999999 out of range");
}

}  // namespace
}  // namespace tt
