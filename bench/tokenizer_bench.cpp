// Tokenizer throughput on GSM8K train (question + answer fields, ~4 MB), one core.
// Run: build/tinythink_bench --benchmark_filter=Tokenizer
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/chat_encode.h"
#include "text/tokenizer.h"

namespace {

std::string shared_data_dir() {
  if (const char* env = std::getenv("TINYTHINK_SHARED")) return std::string(env) + "/data";
  // The CMake target defines no source-dir macro; __FILE__ is absolute under CMake + Ninja.
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "../shared/data").string();
}

const tt::Tokenizer& tokenizer(const std::string& file) {
  static const tt::Tokenizer json = tt::Tokenizer::load(shared_data_dir() + "/tokenizer/llama3/tokenizer.json");
  static const tt::Tokenizer model = tt::Tokenizer::load(shared_data_dir() + "/tokenizer/llama3/tokenizer.model");
  return file == "json" ? json : model;
}

const std::vector<std::string>& gsm8k_texts() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> out;
    std::ifstream in(shared_data_dir() + "/gsm8k/train.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      auto row = nlohmann::json::parse(line);
      out.push_back(row["question"]);
      out.push_back(row["answer"]);
    }
    return out;
  }();
  return texts;
}

size_t total_bytes(const std::vector<std::string>& texts) {
  size_t n = 0;
  for (const auto& t : texts) n += t.size();
  return n;
}

// Each record encoded separately, as a data loader does. The piece cache starts warm after the
// first iteration; BM_TokenizerColdCache below measures a fresh tokenizer.
void BM_TokenizerEncodeGsm8k(benchmark::State& state, const std::string& file) {
  const tt::Tokenizer& tok = tokenizer(file);
  const auto& texts = gsm8k_texts();
  size_t tokens = 0;
  std::vector<int32_t> ids;
  for (auto _ : state) {
    tokens = 0;
    for (const auto& text : texts) {
      ids.clear();
      tok.encode_into(text, {}, ids);
      tokens += ids.size();
    }
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * total_bytes(texts)));
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK_CAPTURE(BM_TokenizerEncodeGsm8k, json, std::string("json"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TokenizerEncodeGsm8k, tiktoken, std::string("model"))->Unit(benchmark::kMillisecond);

// The whole corpus as one text.
void BM_TokenizerEncodeGsm8kOneText(benchmark::State& state) {
  const tt::Tokenizer& tok = tokenizer("json");
  std::string all;
  for (const auto& t : gsm8k_texts()) (all += t) += "\n\n";
  for (auto _ : state) benchmark::DoNotOptimize(tok.encode(all).size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * all.size()));
}
BENCHMARK(BM_TokenizerEncodeGsm8kOneText)->Unit(benchmark::kMillisecond);

// A freshly loaded tokenizer each iteration (load time excluded): the piece cache starts empty.
void BM_TokenizerColdCache(benchmark::State& state) {
  const auto& texts = gsm8k_texts();
  for (auto _ : state) {
    state.PauseTiming();
    tt::Tokenizer tok = tt::Tokenizer::load(shared_data_dir() + "/tokenizer/llama3/tokenizer.model");
    state.ResumeTiming();
    std::vector<int32_t> ids;
    for (const auto& text : texts) {
      ids.clear();
      tok.encode_into(text, {}, ids);
    }
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * total_bytes(texts)));
}
BENCHMARK(BM_TokenizerColdCache)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_TokenizerDecodeGsm8k(benchmark::State& state) {
  const tt::Tokenizer& tok = tokenizer("json");
  std::vector<std::vector<int32_t>> all;
  for (const auto& t : gsm8k_texts()) all.push_back(tok.encode(t));
  for (auto _ : state) {
    for (const auto& ids : all) benchmark::DoNotOptimize(tok.decode(ids).size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * total_bytes(gsm8k_texts())));
}
BENCHMARK(BM_TokenizerDecodeGsm8k)->Unit(benchmark::kMillisecond);

// Loading dominates every short CLI call (tokenize, chat-template --mask). CPU time is the number
// to read on a shared machine.
void BM_TokenizerLoadJson(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(tt::Tokenizer::load(shared_data_dir() + "/tokenizer/llama3/tokenizer.json").vocab_size());
}
BENCHMARK(BM_TokenizerLoadJson)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_TokenizerLoadTiktoken(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(tt::Tokenizer::load(shared_data_dir() + "/tokenizer/llama3/tokenizer.model").vocab_size());
}
BENCHMARK(BM_TokenizerLoadTiktoken)->Unit(benchmark::kMillisecond)->Iterations(5);

// encode_with_offsets (what the assistant mask uses) against plain encode above.
void BM_TokenizerEncodeWithOffsetsGsm8k(benchmark::State& state) {
  const tt::Tokenizer& tok = tokenizer("json");
  const auto& texts = gsm8k_texts();
  for (auto _ : state) {
    size_t tokens = 0;
    for (const auto& text : texts) tokens += tok.encode_with_offsets(text).ids.size();
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * total_bytes(texts)));
}
BENCHMARK(BM_TokenizerEncodeWithOffsetsGsm8k)->Unit(benchmark::kMillisecond);

// Render + encode + assistant mask for the 256 GSM8K SFT conversations of the fixture.
void BM_ChatEncodeGsm8kFixture(benchmark::State& state) {
  const tt::Tokenizer& tok = tokenizer("json");
  std::string reference = shared_data_dir() + "/../reference/tiny-think/chat_template.jinja";
  std::ifstream in(reference);
  std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  tt::ChatTemplate chat(source, "<|begin_of_text|>", "<|eot_id|>", reference);
  std::vector<nlohmann::ordered_json> conversations;
  std::ifstream rows(shared_data_dir() + "/fixtures/gsm8k_train_sft_messages.first256.jsonl");
  for (std::string line; std::getline(rows, line);) {
    if (!line.empty()) conversations.push_back(nlohmann::ordered_json::parse(line)["messages"]);
  }
  size_t tokens = 0;
  for (auto _ : state) {
    tokens = 0;
    for (const auto& messages : conversations) tokens += tt::encode_chat(tok, chat, messages, false).ids.size();
  }
  state.counters["conversations"] = static_cast<double>(conversations.size());
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_ChatEncodeGsm8kFixture)->Unit(benchmark::kMillisecond);

}  // namespace
