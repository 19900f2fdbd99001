// tinythink eval end to end: re-scoring the official IFEval responses and GSM8K gold solutions
// through the CLI, a random model of the Llama-3 vocabulary on real tasks, and bad input.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "io/file.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "tests/test_util.h"

namespace tt {
namespace {

using Json = nlohmann::json;

std::string data_flag() { return " --data " + testing::shared_dir() + "/data --no-progress"; }

std::vector<Json> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<Json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(Json::parse(line));
  return rows;
}

TEST(EvalCli, RescoresTheOfficialIfevalResponses) {
  const std::string out = testing::make_temp_dir("eval-cli-ifeval");
  const std::string responses =
      testing::shared_dir() + "/data/ifeval/input_response_data_gpt4_20231107_145030.jsonl";
  auto r = testing::run_cli("eval --tasks ifeval --responses " + responses + " --output " + out + data_flag());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json results = read_json_file(out + "/results.json");
  const Json& ifeval = results["results"]["ifeval"];
  // The official verdicts give 415/541 and 696/834 strict; src/eval/ifeval_test.cpp lists the two
  // instructions where this checker differs (both letter-frequency checks; every language check
  // agrees).
  EXPECT_NEAR(ifeval["prompt_level_strict_acc,none"].get<double>(), 417.0 / 541, 1e-9);
  EXPECT_NEAR(ifeval["inst_level_strict_acc,none"].get<double>(), 698.0 / 834, 1e-9);
  EXPECT_EQ(results["n-samples"]["ifeval"]["effective"], 541);
  const auto samples = read_lines(out + "/samples_ifeval.jsonl");
  ASSERT_EQ(samples.size(), 541u);
  for (const char* key : {"prompt", "instruction_id_list", "follow_instruction_list_strict",
                          "follow_instruction_list_loose", "follow_all_instructions_strict",
                          "follow_all_instructions_loose", "response"})
    EXPECT_TRUE(samples[0].contains(key)) << key;
}

TEST(EvalCli, GoldGsm8kSolutionsScoreFull) {
  const std::string dir = testing::make_temp_dir("eval-cli-gsm8k");
  std::ifstream in(testing::shared_dir() + "/data/gsm8k/test.jsonl");
  std::ofstream lm(dir + "/lm.jsonl"), boxed(dir + "/boxed.jsonl");
  std::string line;
  int64_t id = 0;
  while (std::getline(in, line)) {
    const Json doc = Json::parse(line);
    const std::string answer = doc["answer"];
    const std::string number = answer.substr(answer.rfind("#### ") + 5);
    lm << Json{{"doc_id", id++}, {"response", answer}}.dump() << "\n";
    boxed << Json{{"question", doc["question"]}, {"response", "So the answer is \\boxed{" + number + "}."}}.dump() << "\n";
  }
  lm.close();
  boxed.close();
  auto r = testing::run_cli("eval --tasks gsm8k --responses " + dir + "/lm.jsonl --output " + dir + "/a" + data_flag());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Json results = read_json_file(dir + "/a/results.json");
  EXPECT_EQ(results["results"]["gsm8k"]["exact_match,strict-match"], 1.0);
  EXPECT_EQ(results["results"]["gsm8k"]["exact_match,flexible-extract"], 1.0);
  EXPECT_EQ(results["n-samples"]["gsm8k"]["effective"], 1319);
  r = testing::run_cli("eval --tasks gsm8k_boxed --responses " + dir + "/boxed.jsonl --output " + dir + "/b" + data_flag());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  results = read_json_file(dir + "/b/results.json");
  EXPECT_EQ(results["results"]["gsm8k_boxed"]["exact_match,none"], 1.0);
  EXPECT_EQ(results["n-samples"]["gsm8k_boxed"]["effective"], 1319);
}

// Saved responses are re-scored, not generated: generation settings would have been written into
// results.json and the samples as if applied. Only until acts (with --strip-thinking, on the answer).
TEST(EvalCli, RescoringRefusesGenerationSettingsItWouldNotApply) {
  const std::string dir = testing::make_temp_dir("eval-cli-rescore-kwargs");
  std::ofstream(dir + "/r.jsonl") << R"({"doc_id": 0, "response": "<think>x\n\ny</think>The answer is 3.\n\nQ"})" "\n";
  auto run = [&](const std::string& flags, const std::string& out) {
    return testing::run_cli("eval --tasks gsm8k --limit 1 --responses " + dir + "/r.jsonl --output " + dir + "/" + out +
                            " --no-progress " + flags + data_flag());
  };
  auto r = run("--gen-kwargs temperature=0.6,do_sample=true,until=x", "a");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("eval --responses: --gen-kwargs do_sample, temperature, until would not apply"),
            std::string::npos)
      << r.output;
  EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/a/results.json"));
  r = run("--use-cache " + dir + "/cache", "c");
  testing::expect_one_line_error(r, "eval --responses: --use-cache would not apply");
  EXPECT_FALSE(std::filesystem::exists(dir + "/cache"));
  r = run("--strip-thinking --gen-kwargs 'until=[\"\\n\\n\"]'", "b");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/b/results.json"));
}

TEST(EvalCli, BadInputIsAOneLineError) {
  const std::string dir = testing::make_temp_dir("eval-cli-bad");
  std::ofstream(dir + "/r.jsonl") << R"({"doc_id": 0, "response": "x"})" "\n";
  auto r = testing::run_cli("eval --tasks gsm9k --responses " + dir + "/r.jsonl --output " + dir + "/o" + data_flag());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("unknown task 'gsm9k'"), std::string::npos) << r.output;
  // A data root whose GSM8K file lacks a field.
  std::filesystem::create_directories(dir + "/data/gsm8k");
  std::ofstream(dir + "/data/gsm8k/test.jsonl") << R"({"question": "1+1?", "answer": "#### 2"})" "\n"
                                                << R"({"question": "2+2?"})" "\n";
  r = testing::run_cli("eval --tasks gsm8k_boxed --responses " + dir + "/r.jsonl --output " + dir + "/o --data " +
                       dir + "/data --no-progress");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("test.jsonl:2: missing field 'answer'"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/o/results.json"));
  r = testing::run_cli("eval --tasks gsm8k_boxed --output " + dir + "/o" + data_flag());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--model"), std::string::npos) << r.output;
}

// A random micro model with the Llama-3 tokenizer, saved into dir/model; `chat_template` ("" = none)
// is added to its tokenizer_config.json.
void save_llama3_micro_model(const std::string& dir, const std::string& chat_template = "") {
  ModelConfig config = preset_config("micro-llama4");
  config.vocab_size = 128256;
  config.bos_token_id = 128000;
  config.eos_token_ids = {128001, 128009};
  Model model = init_model(config, 5);
  SaveOptions save;
  save.tokenizer_source = testing::shared_dir() + "/data/tokenizer/llama3/tokenizer.json";
  save_model(model, dir + "/model", save);
  if (chat_template.empty()) return;
  const std::string path = dir + "/model/tokenizer_config.json";
  Json config_json = std::filesystem::exists(path) ? read_json_file(path) : Json::object();
  config_json["chat_template"] = chat_template;
  std::ofstream(path) << config_json.dump();
}

// lm-eval's --system_instruction and --fewshot_as_multiturn (0.4.10): the instruction joins the
// description as the system turn (plain text: before it); with a chat template the few-shot examples
// are turns unless --fewshot-as-multiturn false collapses them into one user message; results.json
// records both, the chat template and their SHA-256s as lm-eval's general config does.
TEST(EvalCli, SystemInstructionAndFewshotAsMultiturnAsLmEval) {
  const std::string dir = testing::make_temp_dir("eval-cli-prompt-format");
  const std::string chat_template =
      "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
      "{% if add_generation_prompt %}<|assistant|>{% endif %}";
  save_llama3_micro_model(dir, chat_template);
  auto run = [&](const std::string& flags, const std::string& out) {
    return testing::run_cli("eval --model " + dir + "/model --tasks mmlu_abstract_algebra --num-fewshot 2 --limit 2 "
                            "--precision fp32 --output " + dir + "/" + out + " " + flags + data_flag());
  };
  const std::string description = "The following are multiple choice questions (with answers) about abstract algebra.\n\n";
  auto r = run("", "plain");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string plain = read_lines(dir + "/plain/samples_mmlu_abstract_algebra.jsonl")[0]["prompt"];
  ASSERT_TRUE(plain.starts_with(description)) << plain;
  const std::string examples_and_question = plain.substr(description.size());
  Json results = read_json_file(dir + "/plain/results.json");
  EXPECT_TRUE(results["system_instruction"].is_null());
  EXPECT_TRUE(results["system_instruction_sha"].is_null());
  EXPECT_TRUE(results["fewshot_as_multiturn"].is_null());
  EXPECT_TRUE(results["chat_template"].is_null());
  EXPECT_TRUE(results["chat_template_sha"].is_null());

  r = run("--system-instruction 'Be brief.'", "plain-instructed");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_lines(dir + "/plain-instructed/samples_mmlu_abstract_algebra.jsonl")[0]["prompt"],
            "Be brief.\n\n" + plain);

  r = run("--apply-chat-template", "turns");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string turns = read_lines(dir + "/turns/samples_mmlu_abstract_algebra.jsonl")[0]["prompt"];
  auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(turns, "<|user|>"), 3u) << turns;       // two examples and the question
  EXPECT_EQ(count(turns, "<|assistant|>"), 3u) << turns;  // two answers and the generation prompt
  EXPECT_TRUE(turns.starts_with("<|system|>" + description + "\n<|user|>")) << turns;
  results = read_json_file(dir + "/turns/results.json");
  EXPECT_EQ(results["fewshot_as_multiturn"], true);
  EXPECT_EQ(results["chat_template"], chat_template);
  EXPECT_EQ(results["chat_template_sha"], "292ca140a16fd71ff17fcabba890f16847175ce7169df759b4422c9ebf8ce34b");

  r = run("--apply-chat-template --system-instruction 'Be brief.' --fewshot-as-multiturn false", "single");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_lines(dir + "/single/samples_mmlu_abstract_algebra.jsonl")[0]["prompt"],
            "<|system|>Be brief.\n\n" + description + "\n<|user|>" + examples_and_question + "\n<|assistant|>");
  results = read_json_file(dir + "/single/results.json");
  EXPECT_EQ(results["system_instruction"], "Be brief.");
  EXPECT_EQ(results["system_instruction_sha"], "213c22ed7234eb11116e1e88f314c73cb3a019b5c87fe224b6ce5665bd9ec50e");
  EXPECT_EQ(results["fewshot_as_multiturn"], false);

  // As lm-eval's EvaluateConfig: few-shot turns need a chat template. Bad values and settings that
  // would not apply are one-line errors that write nothing.
  for (const auto& [flags, message] : std::vector<std::pair<std::string, std::string>>{
           {"--fewshot-as-multiturn", "--fewshot-as-multiturn true needs --apply-chat-template"},
           {"--apply-chat-template --fewshot-as-multiturn maybe", "--fewshot-as-multiturn 'maybe': expected true or false"}}) {
    r = run(flags, "bad");
    EXPECT_NE(r.exit_code, 0) << flags;
    EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
    EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir + "/bad/results.json"));
  }
  std::ofstream(dir + "/r.jsonl") << R"({"doc_id": 0, "response": "x"})" "\n";
  r = testing::run_cli("eval --tasks gsm8k --limit 1 --responses " + dir + "/r.jsonl --system-instruction hi --output " +
                       dir + "/bad" + data_flag());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("eval --responses: a system instruction would not apply"), std::string::npos) << r.output;
}

// lm-eval's --limit: a count (Python's int() of it) or, below 1, a fraction of each task's documents,
// rounded up; results.json records it as given.
TEST(EvalCli, LimitIsACountOrAFractionAsLmEvalReadsIt) {
  const std::string dir = testing::make_temp_dir("eval-cli-limit");
  save_llama3_micro_model(dir);
  auto run = [&](const std::string& limit, const std::string& out) {
    return testing::run_cli("eval --model " + dir + "/model --tasks arc_easy --limit " + limit +
                            " --precision fp32 --output " + dir + "/" + out + data_flag());
  };
  const size_t docs = read_lines(testing::shared_dir() + "/data/arc/ARC-Easy-Test.jsonl").size();
  ASSERT_GT(docs, 1000u);
  for (const auto& [limit, expected, recorded] : std::vector<std::tuple<std::string, size_t, Json>>{
           {"0.001", (docs + 999) / 1000, 0.001}, {"2.7", 2, 2.7}, {"3", 3, 3}}) {
    auto r = run(limit, "o" + limit);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const Json results = read_json_file(dir + "/o" + limit + "/results.json");
    EXPECT_EQ(results["n-samples"]["arc_easy"]["effective"], expected) << limit;
    EXPECT_EQ(results["config"]["limit"], recorded) << limit;
  }
  for (const std::string bad : {"0", "-0.5", "nan", "inf"}) {
    auto r = run(bad, "bad");
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_NE(r.output.find("eval --limit"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("a fraction of them in (0, 1)"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir + "/bad/results.json"));
  }
}

// A random model with the Llama-3 vocabulary: generation and log-likelihood tasks run end to end, and
// multiple choice lands near chance.
TEST(EvalCli, RandomModelRunsTheSuiteNearChance) {
  const std::string dir = testing::make_temp_dir("eval-cli-model");
  save_llama3_micro_model(dir);
  auto r = testing::run_cli("eval --model " + dir + "/model --tasks arc_easy,gsm8k_boxed,ifeval,bbh_zeroshot_navigate"
                            " --limit 120 --gen-kwargs max_gen_toks=4 --precision fp32 --output " + dir + "/out" +
                            data_flag());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json results = read_json_file(dir + "/out/results.json");
  for (const char* task : {"arc_easy", "gsm8k_boxed", "ifeval", "bbh_zeroshot_navigate"}) {
    EXPECT_EQ(results["n-samples"][task]["effective"], 120) << task;
    EXPECT_TRUE(std::filesystem::exists(dir + "/out/samples_" + std::string(task) + ".jsonl")) << task;
  }
  // ARC-Easy has four choices for almost every question: chance is about 0.25.
  const double acc = results["results"]["arc_easy"]["acc,none"];
  const double se = results["results"]["arc_easy"]["acc_stderr,none"];
  EXPECT_GT(se, 0.0);
  EXPECT_LT(std::abs(acc - 0.25), 4 * std::sqrt(0.25 * 0.75 / 120)) << acc;
  EXPECT_EQ(results["results"]["gsm8k_boxed"]["exact_match,none"], 0.0);
}

// lm-eval's --samples: per task the documents to evaluate, in the task's order, each once; a task it
// leaves out runs whole; the same document gets the same answer as in a --limit run (its seed and
// the engine's batch invariance), and keeps its doc_id (lm-eval renumbers them from 0).
TEST(EvalCli, SamplesChoosesTheDocumentsAsLmEval) {
  const std::string dir = testing::make_temp_dir("eval-cli-samples");
  save_llama3_micro_model(dir);
  const std::string model = "eval --model " + dir + "/model --tasks arc_easy,arc_challenge --precision fp32 "
                            "--output " + dir + "/";
  std::ofstream(dir + "/samples.json") << R"({"arc_easy": [7, 2, 2, 11], "arc_challenge": [3]})";
  auto r = testing::run_cli(model + "chosen --samples " + dir + "/samples.json" + data_flag());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = testing::run_cli(model + "first --limit 12" + data_flag());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto chosen = read_lines(dir + "/chosen/samples_arc_easy.jsonl");
  const auto first = read_lines(dir + "/first/samples_arc_easy.jsonl");
  ASSERT_EQ(chosen.size(), 3u);
  ASSERT_EQ(first.size(), 12u);
  for (size_t i = 0; i < chosen.size(); ++i) {
    const int64_t id = chosen[i]["doc_id"];
    EXPECT_EQ(id, (std::vector<int64_t>{2, 7, 11})[i]);
    EXPECT_EQ(chosen[i]["resps"], first[id]["resps"]) << id;
  }
  const Json results = read_json_file(dir + "/chosen/results.json");
  EXPECT_EQ(results["n-samples"]["arc_easy"]["effective"], 3);
  EXPECT_EQ(results["n-samples"]["arc_challenge"]["effective"], 1);
  EXPECT_EQ(results["config"]["samples"]["arc_easy"], Json({7, 2, 2, 11}));

  // Re-scoring saved responses takes the same choice; a task left out is evaluated whole.
  std::ofstream responses(dir + "/r.jsonl");
  for (int id = 0; id < 5; ++id) responses << Json{{"doc_id", id}, {"response", "The answer is 3."}}.dump() << "\n";
  responses.close();
  auto rescore = [&](const std::string& flags, const std::string& out) {
    return testing::run_cli("eval --tasks gsm8k,gsm8k_boxed --responses " + dir + "/r.jsonl --output " + dir + "/" +
                            out + " " + flags + data_flag());
  };
  r = rescore("--samples '{\"gsm8k\": [4, 1], \"gsm8k_cot\": [0]}'", "rescored");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("'gsm8k_cot' is not a task of this run"), std::string::npos) << r.output;
  const Json rescored = read_json_file(dir + "/rescored/results.json");
  EXPECT_EQ(rescored["n-samples"]["gsm8k"]["effective"], 2);
  EXPECT_EQ(rescored["n-samples"]["gsm8k_boxed"]["effective"], 5);

  // Bad values are one-line errors, before any work.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--samples '{\"gsm8k\": [1]}' --limit 2", "--samples and --limit both given"},
      {"--samples '{\"gsm8k\": [1319]}'", "gsm8k: document 1319 does not exist (the task has 1319 documents: 0 to 1318)"},
      {"--samples '{\"gsm8k\": [-1]}'", "gsm8k: -1 is not a document id"},
      {"--samples '{\"gsm8k\": [1.5]}'", "gsm8k: 1.5 is not a document id"},
      {"--samples '{\"gsm8k\": []}'", "gsm8k: an empty list"},
      {"--samples '{\"gsm8k\": 3}'", "gsm8k: expected a list of document ids"},
      {"--samples '[1, 2]'", "expected a JSON object"},
      {"--samples \"{'gsm8k': [1]}\"", "invalid JSON"},
      {"--samples " + dir + "/missing.json", "neither a JSON object nor a file"},
      {"--samples /dev/zero", "neither a JSON object nor a file"},
      {"--samples " + dir, "neither a JSON object nor a file"},
  };
  for (const auto& [flags, message] : bad) {
    r = rescore(flags, "bad");
    testing::expect_one_line_error(r, message);
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad/results.json"));
}

// `tinythink eval ARGS` in a child process, its output into `log`; the child's pid.
pid_t spawn_eval(const std::string& args, const std::string& log) {
  std::vector<std::string> words = {TT_BINARY};
  std::istringstream in(args);
  for (std::string w; in >> w;) words.push_back(w);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!std::freopen(log.c_str(), "w", stderr)) _exit(126);
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    ::execv(TT_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

// The answers in a response cache directory (its files' lines less their headers).
int64_t cached_answers(const std::string& dir) {
  int64_t n = 0;
  if (!std::filesystem::exists(dir)) return 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) n += line.find("\"request\"") != std::string::npos;
  }
  return n;
}

// SIGKILL while `eval --use-cache` runs, then the same command again: the rerun takes what the killed
// run had answered from the cache, computes the rest, and writes the samples and scores of a run that
// was never killed (sampled responses: each document's seed makes its answer its own).
TEST(EvalCli, KilledAndRerunWithUseCacheWritesTheUninterruptedResults) {
  const std::string dir = testing::make_temp_dir("eval-cli-use-cache");
  save_llama3_micro_model(dir);
  const std::string args = "eval --model " + dir + "/model --tasks gsm8k --limit 30 --batch 2 --precision fp32 "
                           "--gen-kwargs do_sample=true,temperature=1.0,max_gen_toks=32" + data_flag();
  pid_t pid = spawn_eval(args + " --use-cache " + dir + "/cache --output " + dir + "/killed", dir + "/killed.log");
  ASSERT_GT(pid, 0);
  bool killed = false;
  for (int i = 0; i < 120000 && !killed; ++i) {  // up to 2 minutes
    if (cached_answers(dir + "/cache") >= 4) killed = ::kill(pid, SIGKILL) == 0;
    if (::waitpid(pid, nullptr, WNOHANG) == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (killed) ::waitpid(pid, nullptr, 0);
  ASSERT_TRUE(killed) << read_file(dir + "/killed.log");
  ASSERT_FALSE(std::filesystem::exists(dir + "/killed/results.json")) << "the run finished before the kill: make it longer";
  const int64_t before = cached_answers(dir + "/cache");

  auto rerun = testing::run_cli(args + " --use-cache " + dir + "/cache --output " + dir + "/rerun");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  auto alone = testing::run_cli(args + " --output " + dir + "/alone");
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  EXPECT_EQ(read_file(dir + "/rerun/samples_gsm8k.jsonl"), read_file(dir + "/alone/samples_gsm8k.jsonl"));
  const Json r = read_json_file(dir + "/rerun/results.json"), a = read_json_file(dir + "/alone/results.json");
  EXPECT_EQ(r["results"], a["results"]);
  const int64_t from_cache = r["tinythink"]["tasks"]["gsm8k"]["cached_requests"];
  EXPECT_GE(from_cache, 4);
  EXPECT_LE(from_cache, before);  // a line the kill cut off is computed again
  EXPECT_LT(from_cache, 30);
  EXPECT_EQ(cached_answers(dir + "/cache"), 30);
}

}  // namespace
}  // namespace tt

namespace tt {
namespace {

// eval --data FILE.parquet: the task's documents from a parquet file (the math500 fixture DuckDB
// wrote); the gold answers, boxed, score full.
TEST(EvalCli, DataMayBeAParquetFile) {
  const std::string dir = testing::make_temp_dir("eval-cli-parquet");
  const std::string data = testing::fixture_dir() + "/parquet/math500_test.parquet";
  std::ofstream responses(dir + "/r.jsonl");
  int64_t id = 0;
  for (const char* answer : {"2", "\\frac{3}{4}", "5"})
    responses << Json{{"doc_id", id++}, {"response", std::string("The answer is \\boxed{") + answer + "}."}}.dump() << "\n";
  responses.close();
  auto r = testing::run_cli("eval --tasks math500 --responses " + dir + "/r.jsonl --output " + dir + "/o --data " + data);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Json results = read_json_file(dir + "/o/results.json");
  EXPECT_EQ(results["results"]["math500"]["exact_match,none"], 1.0) << results.dump();
  EXPECT_EQ(results["n-samples"]["math500"]["effective"], 3);
}

// BBH from a folder in the Hub's layout of SaylorTwift/bbh (JSON Lines written by DuckDB): the gold
// targets as responses score 1.0; a parquet file without MMLU's 'answer' column is a one-line error.
TEST(EvalCli, DataMayBeAHubLayoutFolderForBbhOrAFileForMmlu) {
  testing::use_shared_dir_as_default_data_root();  // the cot-prompts come from the default data root
  const std::string dir = testing::make_temp_dir("eval-cli-hub-layout");
  const std::string folder = testing::fixture_dir() + "/parquet/hub/saylortwift_bbh";
  const auto rows = read_lines(folder + "/boolean_expressions/test-00000-of-00001.jsonl");
  ASSERT_EQ(rows.size(), 20u);
  std::ofstream responses(dir + "/r.jsonl");
  for (size_t i = 0; i < rows.size(); ++i)
    responses << Json{{"doc_id", i}, {"response", rows[i]["target"].get<std::string>()}}.dump() << "\n";
  responses.close();
  auto r = testing::run_cli("eval --tasks bbh_zeroshot_boolean_expressions --responses " + dir + "/r.jsonl --output " +
                            dir + "/o --no-progress --data " + folder);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Json results = read_json_file(dir + "/o/results.json");
  EXPECT_EQ(results["results"]["bbh_zeroshot_boolean_expressions"]["exact_match,strict-match"], 1.0) << results.dump();
  EXPECT_EQ(results["n-samples"]["bbh_zeroshot_boolean_expressions"]["effective"], 20);

  const std::string bad = testing::fixture_dir() + "/parquet/hub/mmlu_missing_answer.parquet";
  r = testing::run_cli("eval --model " + testing::fixture_dir() + "/parity/tiny_llama4 --tasks mmlu_abstract_algebra --output " +
                       dir + "/o2 --no-progress --data " + bad);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(bad + ": missing column 'answer'"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/o2/results.json"));
}

}  // namespace
}  // namespace tt
