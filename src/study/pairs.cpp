#include "study/pairs.h"

#include <algorithm>
#include <filesystem>

#include "core/communicator.h"
#include "core/error.h"
#include "core/log.h"
#include "core/system.h"
#include "core/content_hash.h"
#include "eval/answer.h"
#include "infer/response_cache.h"
#include "infer/session.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "model/checkpoint.h"
#include "text/chat_encode.h"

namespace tt::study {

namespace fs = std::filesystem;

namespace {
bool is_math_task(const std::string& task) { return task == "math" || task == "math500"; }
}  // namespace

bool has_verifier(const std::string& task) {
  return is_math_task(task) || task == "gsm8k" || task == "gsm8k_boxed" || task == "gsm8k_cot" || task == "arithmetic";
}

std::vector<PromptRecord> read_prompts(const std::string& path, const std::string& default_task, int64_t limit) {
  std::vector<PromptRecord> out;
  read_jsonl(path, [&](int64_t line, const nlohmann::json& row) {
    if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) return;
    PromptRecord r;
    if (row.contains("messages")) {
      r.messages = nlohmann::ordered_json::parse(row["messages"].dump());
      bool ok = r.messages.is_array() && !r.messages.empty();
      for (const auto& m : r.messages) ok = ok && m.is_object() && m.contains("role") && m.contains("content");
      if (!ok) fail_at_line(path, line, "'messages' must be a non-empty list of {role, content}");
      if (r.messages.back()["role"] != "user") fail_at_line(path, line, "the last message must be the user's");
    } else if (row.contains("prompt") && row["prompt"].is_string()) {
      r.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", row["prompt"].get<std::string>()}}});
    } else {
      fail_at_line(path, line, "expected 'messages' (a list) or 'prompt' (text)");
    }
    if (!row.contains("answer")) fail_at_line(path, line, "missing 'answer'");
    const auto& answer = row["answer"];
    if (answer.is_string()) r.answer = answer.get<std::string>();
    else if (answer.is_number()) r.answer = answer.dump();
    else fail_at_line(path, line, "'answer' must be text or a number");
    r.task = row.contains("task") && row["task"].is_string() ? row["task"].get<std::string>() : default_task;
    if (!has_verifier(r.task))
      fail_at_line(path, line,
                   fmt::format("task '{}' has no verifier (gsm8k, gsm8k_boxed, gsm8k_cot, arithmetic, math, math500)", r.task));
    out.push_back(std::move(r));
  });
  if (out.empty()) fail("{}: no prompts", path);
  return out;
}

bool is_correct(const std::string& task, std::string_view completion, const std::string& answer) {
  auto extracted = eval::extract_answer_study(completion);
  if (!extracted) return false;
  if (is_math_task(task)) return eval::math_answers_equivalent(*extracted, answer);
  return eval::numbers_equal(*extracted, answer);
}

std::vector<std::pair<int64_t, int64_t>> select_pairs(const std::vector<Verdict>& verdicts, int64_t max_pairs) {
  std::vector<int64_t> chosen, rejected;
  for (size_t i = 0; i < verdicts.size(); ++i) {
    if (verdicts[i].correct && verdicts[i].finished) chosen.push_back(static_cast<int64_t>(i));
    else if (!verdicts[i].correct) rejected.push_back(static_cast<int64_t>(i));
  }
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (size_t i = 0; i < chosen.size() && i < rejected.size() && static_cast<int64_t>(i) < max_pairs; ++i)
    pairs.emplace_back(chosen[i], rejected[i]);
  return pairs;
}

nlohmann::ordered_json PairsSummary::to_json() const {
  return {{"prompts", prompts},
          {"prompts_with_pair", prompts_with_pair},
          {"pairs", pairs},
          {"samples", samples},
          {"correct_samples", correct_samples},
          {"truncated_samples", truncated_samples},
          {"prompts_all_correct", prompts_all_correct},
          {"prompts_none_correct", prompts_none_correct},
          {"sample_accuracy", samples > 0 ? static_cast<double>(correct_samples) / samples : 0.0},
          {"seconds", seconds}};
}

std::vector<nlohmann::ordered_json> make_pair_rows(const PromptRecord& prompt, int64_t prompt_index,
                                                   const std::vector<std::string>& texts,
                                                   const std::vector<Verdict>& verdicts, int64_t max_pairs) {
  std::vector<nlohmann::ordered_json> rows;
  auto assistant = [](const std::string& text) {
    return nlohmann::ordered_json::array({{{"role", "assistant"}, {"content", text}}});
  };
  for (const auto& [c, r] : select_pairs(verdicts, max_pairs)) {
    nlohmann::ordered_json row;
    row["prompt"] = prompt.messages;
    row["chosen"] = assistant(texts[c]);
    row["rejected"] = assistant(texts[r]);
    row["task"] = prompt.task;
    row["answer"] = prompt.answer;
    row["prompt_index"] = prompt_index;
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {

// Under mpirun: rank r samples prompts r, r + N, ... and every rank gathers every prompt's samples in
// prompt order; per-prompt seeds and batch invariance make them those of one process.
std::vector<infer::GenerationResult> generate_sharded(infer::Engine& engine, std::vector<infer::GenerationRequest> requests,
                                                      infer::ResponseCache* cache) {
  Communicator& world = Communicator::world();
  if (!world.distributed()) return infer::generate_cached(engine, std::move(requests), cache);
  const size_t count = requests.size();
  std::vector<infer::GenerationRequest> mine;
  for (size_t i : rank_share(count, world.size(), world.rank())) mine.push_back(std::move(requests[i]));
  std::vector<std::string> packed;  // per prompt, MessagePack [[text, finish_reason], ...] (text: bytes)
  for (const auto& result : infer::generate_cached(engine, std::move(mine), cache)) {
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& s : result.samples) samples.push_back({s.text, s.finish_reason});
    const std::vector<uint8_t> bytes = nlohmann::json::to_msgpack(samples);
    packed.emplace_back(bytes.begin(), bytes.end());
  }
  std::vector<infer::GenerationResult> results;
  for (const std::string& bytes : gather_shares(world, packed, count)) {
    infer::GenerationResult& result = results.emplace_back();
    for (const auto& s : nlohmann::json::from_msgpack(bytes))
      result.samples.push_back({.ids = {}, .text = s[0].get<std::string>(), .finish_reason = s[1].get<std::string>()});
  }
  return results;
}

}  // namespace

PairsSummary build_pairs(const PairsOptions& o) {
  if (!has_verifier(o.default_task)) fail("pairs: task '{}' has no verifier (gsm8k, arithmetic, math, ...)", o.default_task);
  if (o.k < 2) fail("pairs: k must be at least 2 (a pair needs a correct and an incorrect sample), got {}", o.k);
  if (o.pairs_per_prompt < 1) fail("pairs: pairs_per_prompt must be at least 1, got {}", o.pairs_per_prompt);
  const double t0 = now_seconds();
  std::vector<PromptRecord> prompts = read_prompts(o.prompts_path, o.default_task, o.limit);
  const auto session = infer::open_session(
      o.model_dir, {.precision = o.precision,
                    .max_batch = o.max_batch,
                    .cuda_device = o.cuda_device,
                    .chat_template_file = o.chat_template,
                    .chat_template_missing = "no tokenizer_config.json with a chat template (give a chat_template file)"});
  const Tokenizer& tokenizer = *session->tokenizer;
  const ChatTemplate& chat = *session->chat_template;
  infer::Engine& engine = *session->engine;
  const std::unique_ptr<infer::ResponseCache> cache = infer::open_response_cache(
      o.cache_dir, *session, o.precision, o.cuda_device, o.cache_holds_one_model, "pairs --use-cache");
  std::vector<infer::GenerationRequest> requests;
  for (size_t i = 0; i < prompts.size(); ++i) {
    infer::GenerationRequest req;
    req.prompt = encode_chat(tokenizer, chat, prompts[i].messages, /*add_generation_prompt=*/true).ids;
    req.params.temperature = static_cast<float>(o.temperature);
    req.params.top_p = static_cast<float>(o.top_p);
    req.params.max_new_tokens = o.max_new_tokens;
    req.params.n = o.k;
    req.params.seed = hash_mix64(o.seed * 0x9e3779b97f4a7c15ull + i + 1);  // one stream family per prompt
    requests.push_back(std::move(req));
  }
  log_info("pairs: {} prompts x {} samples from {} (temperature {}, top-p {}, max {} new tokens)", prompts.size(), o.k,
           o.model_dir, o.temperature, o.top_p, o.max_new_tokens);
  std::vector<infer::GenerationResult> results = generate_sharded(engine, std::move(requests), cache.get());
  if (cache && cache->hits() > 0) log_info("pairs: {} of {} prompts' samples from the cache", cache->hits(), prompts.size());

  PairsSummary summary;
  summary.prompts = static_cast<int64_t>(prompts.size());
  std::vector<nlohmann::ordered_json> rows;
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<std::string> texts;
    std::vector<Verdict> verdicts;
    int64_t correct = 0;
    for (const auto& s : results[i].samples) {
      Verdict v{is_correct(prompts[i].task, s.text, prompts[i].answer), s.finish_reason == "stop"};
      correct += v.correct;
      summary.truncated_samples += !v.finished;
      texts.push_back(s.text);
      verdicts.push_back(v);
    }
    summary.samples += static_cast<int64_t>(verdicts.size());
    summary.correct_samples += correct;
    summary.prompts_all_correct += correct == static_cast<int64_t>(verdicts.size());
    summary.prompts_none_correct += correct == 0;
    auto pair_rows = make_pair_rows(prompts[i], static_cast<int64_t>(i), texts, verdicts, o.pairs_per_prompt);
    summary.prompts_with_pair += !pair_rows.empty();
    summary.pairs += static_cast<int64_t>(pair_rows.size());
    for (auto& r : pair_rows) rows.push_back(std::move(r));
  }
  summary.seconds = now_seconds() - t0;
  if (Communicator::world().is_root()) {  // every rank holds the same rows; rank 0 writes them
    create_directories_or_fail(o.output_dir, "pairs --out");
    std::string text;
    for (const auto& r : rows) text += r.dump() + "\n";
    write_file_atomic(o.output_dir + "/pairs.jsonl", text);
    write_file_atomic(o.output_dir + "/pairs_summary.json", summary.to_json().dump(2) + "\n");
  }
  log_info("pairs: {}/{} prompts yielded a pair ({} pairs); {}/{} samples correct, {} prompts all correct, {} none "
           "correct, {} samples truncated ({:.1f} s) -> {}/pairs.jsonl",
           summary.prompts_with_pair, summary.prompts, summary.pairs, summary.correct_samples, summary.samples,
           summary.prompts_all_correct, summary.prompts_none_correct, summary.truncated_samples, summary.seconds,
           o.output_dir);
  if (summary.pairs == 0) log_warn("pairs: no prompt had both a correct and an incorrect sample");
  return summary;
}

}  // namespace tt::study
