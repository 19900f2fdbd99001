#include "infer/response_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "eval/eval_test_util.h"
#include "eval/runner.h"
#include "infer/session.h"
#include "io/file.h"

namespace tt::eval {
namespace {

using infer::ResponseCache;

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// gsm8k sampled (so the seeds matter) and arc_easy by log-likelihoods, on the shared data.
EvalOptions options_for(const std::string& model_dir, const std::string& out, const std::string& cache, double limit) {
  EvalOptions o;
  o.model_dir = model_dir;
  o.tasks = {"gsm8k", "arc_easy"};
  o.data_root = tt::testing::shared_dir() + "/data";
  o.gen_kwargs = "do_sample=true,temperature=1.0,max_gen_toks=12";
  o.precision = Precision::FP32;
  o.max_batch = 3;
  o.progress = false;
  o.limit = limit;
  o.output_dir = out;
  o.cache_dir = cache;
  return o;
}

std::vector<std::string> jsonl_files(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".jsonl") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

std::unique_ptr<infer::Session> session_of(const std::string& model_dir, Precision precision = Precision::FP32) {
  return infer::open_session(model_dir, {.precision = precision, .chat_template = infer::Need::IfPresent});
}

// A run cut short (here: fewer documents) and rerun with the same cache answers the rest from the
// engine and the rest from the cache, and writes byte for byte the samples and the scores of a run
// that never used a cache.
TEST(ResponseCache, ARerunAfterAPartialRunWritesTheUninterruptedResults) {
  const std::string model = test_util::tiny_model_dir("response-cache-rerun");
  const std::string dir = fs::path(model).parent_path().string();
  run_eval(options_for(model, dir + "/partial", dir + "/cache", 5));
  const Json rerun = run_eval(options_for(model, dir + "/rerun", dir + "/cache", 9));
  const Json alone = run_eval(options_for(model, dir + "/alone", "", 9));
  EXPECT_EQ(rerun["tinythink"]["tasks"]["gsm8k"]["cached_requests"], 5);
  const int64_t arc_cached = rerun["tinythink"]["tasks"]["arc_easy"]["cached_requests"];
  EXPECT_GE(arc_cached, 5 * 3);  // every choice of the first five questions
  EXPECT_EQ(alone["tinythink"]["tasks"]["gsm8k"]["cached_requests"], 0);
  for (const char* task : {"gsm8k", "arc_easy"}) {
    const std::string name = std::string("/samples_") + task + ".jsonl";
    EXPECT_EQ(read_file(dir + "/rerun" + name), read_file(dir + "/alone" + name)) << task;
    EXPECT_EQ(rerun["results"][task], alone["results"][task]) << task;
  }
  EXPECT_EQ(rerun["config"]["use_cache"], dir + "/cache");
  EXPECT_TRUE(alone["config"]["use_cache"].is_null());
  // One file for the one model, holding a header and each answer once.
  const auto files = jsonl_files(dir + "/cache");
  ASSERT_EQ(files.size(), 1u);
  const auto rows = test_util::read_jsonl_rows(files[0]);
  EXPECT_EQ(rows[0]["format"], "tinythink-response-cache-v1");
  int64_t generations = 0, loglikelihoods = 0;
  for (size_t i = 1; i < rows.size(); ++i) (rows[i].contains("samples") ? generations : loglikelihoods) += 1;
  EXPECT_EQ(generations, 9);
  EXPECT_GE(loglikelihoods, 9 * 3);
}

// What a rerun takes is what the cache holds: answers edited in the file come back as the responses
// and the choices' log-likelihoods.
TEST(ResponseCache, TheRerunTakesItsAnswersFromTheFile) {
  const std::string model = test_util::tiny_model_dir("response-cache-file");
  const std::string dir = fs::path(model).parent_path().string();
  run_eval(options_for(model, dir + "/first", dir + "/cache", 4));
  const std::string file = jsonl_files(dir + "/cache").at(0);
  std::string edited;
  for (auto row : test_util::read_jsonl_rows(file)) {
    if (row.contains("loglikelihood")) row["loglikelihood"] = -1.5;
    if (row.contains("samples")) {
      row["samples"][0].erase("text_hex");
      row["samples"][0]["text"] = "The answer is 42.";
    }
    edited += row.dump() + "\n";
  }
  write_file_atomic(file, edited);
  const Json again = run_eval(options_for(model, dir + "/again", dir + "/cache", 4));
  for (const auto& s : test_util::read_jsonl_rows(dir + "/again/samples_gsm8k.jsonl"))
    EXPECT_EQ(s["resps"][0][0], "The answer is 42.");
  for (const auto& s : test_util::read_jsonl_rows(dir + "/again/samples_arc_easy.jsonl"))
    for (const auto& r : s["resps"]) EXPECT_EQ(r[0], -1.5);
  EXPECT_EQ(again["tinythink"]["tasks"]["gsm8k"]["cached_requests"], 4);
}

// Other weights or another precision make another file: their answers never mix.
TEST(ResponseCache, AnotherModelOrPrecisionHasItsOwnFile) {
  const std::string model_a = test_util::tiny_model_dir("response-cache-model-a", 3);
  const std::string model_b = test_util::tiny_model_dir("response-cache-model-b", 4);
  const std::string cache = testing::make_temp_dir("response-cache-shared");
  run_eval(options_for(model_a, cache + "/../a", cache, 3));
  const Json b = run_eval(options_for(model_b, cache + "/../b", cache, 3));
  EXPECT_EQ(b["tinythink"]["tasks"]["gsm8k"]["cached_requests"], 0);
  EvalOptions bf16 = options_for(model_a, cache + "/../a16", cache, 3);
  bf16.precision = Precision::BF16;
  const Json a16 = run_eval(bf16);
  EXPECT_EQ(a16["tinythink"]["tasks"]["gsm8k"]["cached_requests"], 0);
  EXPECT_EQ(jsonl_files(cache).size(), 3u);
  const Json a_again = run_eval(options_for(model_a, cache + "/../a2", cache, 3));
  EXPECT_EQ(a_again["tinythink"]["tasks"]["gsm8k"]["cached_requests"], 3);
  // A study's eval keeps one model's answers: the others' files go.
  EvalOptions own = options_for(model_b, cache + "/../b2", cache, 3);
  own.cache_holds_one_model = true;
  run_eval(own);
  EXPECT_EQ(jsonl_files(cache).size(), 1u);
}

// Every sampling parameter and the prompt are part of a request's key.
TEST(ResponseCache, EverySamplingParameterChangesTheKey) {
  const std::vector<int32_t> ids = {5, 6, 7};
  const infer::SamplingParams base;
  const std::string key = ResponseCache::generation_key(ids, base);
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(ResponseCache::generation_key(ids, base), key);
  std::vector<std::function<void(infer::SamplingParams&)>> changes = {
      [](auto& p) { p.temperature = 0.5f; },        [](auto& p) { p.top_p = 0.9f; },
      [](auto& p) { p.top_k = 3; },                 [](auto& p) { p.min_p = 0.1f; },
      [](auto& p) { p.repetition_penalty = 1.1f; }, [](auto& p) { p.presence_penalty = 0.5f; },
      [](auto& p) { p.frequency_penalty = 0.5f; },  [](auto& p) { p.n = 2; },
      [](auto& p) { p.seed = 1; },                  [](auto& p) { p.max_new_tokens = 9; },
      [](auto& p) { p.min_tokens = 1; },            [](auto& p) { p.stop = {"x"}; },
      [](auto& p) { p.stop = {"", "x"}; },          [](auto& p) { p.stop_token_ids = {3}; },
      [](auto& p) { p.ignore_eos = true; },         [](auto& p) { p.skip_special_tokens = false; },
      [](auto& p) { p.logprobs = 0; },              [](auto& p) { p.prompt_logprobs = 1; },
  };
  std::set<std::string> keys = {key};
  for (const auto& change : changes) {
    infer::SamplingParams p = base;
    change(p);
    keys.insert(ResponseCache::generation_key(ids, p));
  }
  EXPECT_EQ(keys.size(), changes.size() + 1);
  EXPECT_NE(ResponseCache::generation_key({5, 6}, base), key);
  EXPECT_NE(ResponseCache::loglikelihood_key({1, 2}, {3}), ResponseCache::loglikelihood_key({1}, {2, 3}));
  EXPECT_TRUE(ResponseCache::cacheable(base));
  infer::SamplingParams with_logprobs = base;
  with_logprobs.logprobs = 0;
  EXPECT_FALSE(ResponseCache::cacheable(with_logprobs));
}

// A line cut off by a kill at the end of the file is dropped (and cut from the file, so the next
// line starts on its own); a damaged line elsewhere is an error naming file:line. Responses that
// are not UTF-8 keep their bytes.
TEST(ResponseCache, ACutLastLineIsDroppedAndADamagedLineIsAnError) {
  const std::string model = test_util::tiny_model_dir("response-cache-damage");
  const std::string cache = fs::path(model).parent_path().string() + "/cache";
  const auto session = session_of(model);
  const std::string bytes = "caf\xc3 \xff ok";
  const std::string key = ResponseCache::generation_key({1, 2, 3}, {});
  std::string file;
  {
    ResponseCache c(cache, *session, Precision::FP32, -1, 0, 1);
    infer::GenerationResult r;
    r.samples.push_back({.ids = {4, 5, 6, 259}, .text = bytes, .finish_reason = "stop"});
    r.samples.push_back({.ids = {7}, .text = "", .finish_reason = "length"});
    c.put_generation(key, r);
    c.put_loglikelihood(ResponseCache::loglikelihood_key({1}, {2}), -0.25);
    file = c.path();
  }
  EXPECT_NE(read_file(file).find("text_hex"), std::string::npos);
  {
    std::ofstream(file, std::ios::app) << R"({"request": "0123456789abcdef0123456789abcdef", "te)";
  }
  const std::string whole = read_file(file);
  {
    ResponseCache c(cache, *session, Precision::FP32, -1, 0, 1);
    EXPECT_EQ(c.entries(), 2);
    const infer::GenerationResult* g = c.find_generation(key);
    ASSERT_NE(g, nullptr);
    ASSERT_EQ(g->samples.size(), 2u);
    EXPECT_EQ(g->samples[0].text, bytes);
    EXPECT_EQ(g->samples[0].ids, (std::vector<int32_t>{4, 5, 6, 259}));
    EXPECT_EQ(g->samples[0].finish_reason, "stop");
    EXPECT_EQ(g->samples[1].ids, (std::vector<int32_t>{7}));
    EXPECT_EQ(g->samples[1].finish_reason, "length");
    EXPECT_EQ(c.find_loglikelihood(ResponseCache::loglikelihood_key({1}, {2})), -0.25);
    EXPECT_EQ(c.find_loglikelihood(ResponseCache::loglikelihood_key({2}, {1})), std::nullopt);
    EXPECT_EQ(c.hits(), 2);
    EXPECT_EQ(c.misses(), 1);
  }
  const std::string cut = read_file(file);
  EXPECT_EQ(cut, whole.substr(0, whole.rfind('\n') + 1));
  const std::string request = R"({"request": "0123456789abcdef0123456789abcdef", )";
  for (const std::string damage :
       {std::string("{\"request\": 7}"), std::string("not json"), request + R"("samples": []})",
        request + R"("samples": [{"ids": [-1], "text": "", "finish_reason": "stop"}]})",
        request + R"("samples": [{"ids": [1], "text": "", "finish_reason": "eos"}]})",
        request + R"("samples": [{"ids": [1], "text_hex": "zz", "finish_reason": "stop"}]})",
        request + R"("loglikelihood": "x"})"}) {
    write_file_atomic(file, cut.substr(0, cut.find('\n') + 1) + damage + "\n" + cut.substr(cut.find('\n') + 1));
    const std::string error = test_util::error_of([&] { ResponseCache c(cache, *session, Precision::FP32, -1, 0, 1); });
    EXPECT_NE(error.find(file + ":2: "), std::string::npos) << error;
    EXPECT_NE(error.find("delete it"), std::string::npos) << error;
  }
}

// The reader on its own (what the fuzz target drives): lines with or without the last newline; a
// later entry for the same request leaves the first.
TEST(ResponseCache, ParseReadsEveryLineOnce) {
  const std::string a = R"({"request": "0123456789abcdef0123456789abcdef", "loglikelihood": -1.5})";
  const std::string b = R"({"request": "0123456789abcdef0123456789abcdef", "loglikelihood": -9})";
  const std::string g =
      R"({"request": "fedcba9876543210fedcba9876543210", "samples": [{"ids": [], "text": "", "finish_reason": "length"}]})";
  infer::ResponseCacheEntries entries;
  infer::parse_response_cache(a + "\n" + b + "\n" + g, "f.jsonl", entries);
  ASSERT_EQ(entries.loglikelihoods.size(), 1u);
  EXPECT_EQ(entries.loglikelihoods.begin()->second, -1.5);
  ASSERT_EQ(entries.generations.size(), 1u);
  EXPECT_EQ(entries.generations.begin()->second.samples.at(0).finish_reason, "length");
  EXPECT_NE(test_util::error_of([&] { infer::parse_response_cache(a + "\n\n", "f.jsonl", entries); }).find("f.jsonl:2: "),
            std::string::npos);
}

// Under mpirun each rank appends to its own file, and every rank reads them all.
TEST(ResponseCache, RanksWriteTheirOwnFilesAndReadEveryOne) {
  const std::string model = test_util::tiny_model_dir("response-cache-ranks");
  const std::string cache = fs::path(model).parent_path().string() + "/cache";
  const auto session = session_of(model);
  for (int rank = 0; rank < 2; ++rank) {
    ResponseCache c(cache, *session, Precision::FP32, -1, rank, 2);
    EXPECT_NE(c.path().find(".rank" + std::to_string(rank) + ".jsonl"), std::string::npos);
    c.put_loglikelihood(ResponseCache::loglikelihood_key({rank}, {9}), -1.0 - rank);
  }
  ResponseCache one(cache, *session, Precision::FP32, -1, 0, 1);
  EXPECT_EQ(one.entries(), 2);
  EXPECT_EQ(one.find_loglikelihood(ResponseCache::loglikelihood_key({1}, {9})), -2.0);
}

}  // namespace
}  // namespace tt::eval
