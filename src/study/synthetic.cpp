// write_synthetic_data: the demo's data files (synthetic.h). Held-out items are drawn first and
// training items are redrawn until none repeats a held-out question, prompt or input.
#include "study/synthetic.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <unordered_set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "io/file.h"
#include "study/synthetic_tasks.h"
#include "text/bpe_train.h"
#include "text/tokenizer.h"

namespace tt {

namespace {

using json = nlohmann::ordered_json;
using namespace tt::synth;

const char* const kGsm8kSystemPrompt = "Please reason step by step, and put your final answer within \\boxed{}.";

// One independent random stream per purpose, so changing one count leaves the other files as they were.
Rng stream(uint64_t seed, std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return Rng(seed * 0x9e3779b97f4a7c15ull ^ h);
}

// Draws `count` items whose keys are new (not in `taken`), adding each key to `taken`.
template <typename Item>
std::vector<Item> draw_unique(int64_t count, const std::function<Item()>& make, const std::function<std::string(const Item&)>& key,
                              std::unordered_set<std::string>& taken, const char* what) {
  std::vector<Item> items;
  int64_t attempts = 0, limit = 100 * count + 1000;
  while (static_cast<int64_t>(items.size()) < count) {
    if (++attempts > limit) fail("synthetic data: could not draw {} distinct {} (got {}); lower the count", count, what, items.size());
    Item item = make();
    if (taken.insert(key(item)).second) items.push_back(std::move(item));
  }
  return items;
}

std::string think(const std::string& trace, const std::string& answer) {
  return "<think>\n" + trace + "\n</think>\n" + answer;
}

json message(const char* role, const std::string& content) { return {{"role", role}, {"content", content}}; }

template <typename T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// JSON Lines in the keys' insertion order (io/jsonl.h's writer takes sorted-key json).
void write_rows(const std::string& path, const std::vector<json>& rows) {
  std::string out;
  for (const auto& row : rows) out += row.dump() + "\n";
  write_file_atomic(path, out);
}

std::string bbh_user(const std::string& input, Rng& rng) {
  return rng.below(10) < 7 ? "Q: " + input + "\nA:" : input;
}

// synth.json, written last, marks a directory as synth's: its files are replaced freely on the next run.
constexpr const char* kMarker = "synth.json";

void check_out_dir_is_ours(const SyntheticOptions& o) {
  namespace fs = std::filesystem;
  if (o.overwrite || fs::exists(fs::path(o.out_dir) / kMarker)) return;
  for (const char* name : {"pretrain.jsonl", "pretrain.tokens.jsonl", "sft.jsonl", "prompts.jsonl", "eval", "tokenizer"})
    if (fs::exists(fs::symlink_status(fs::path(o.out_dir) / name)))
      fail("synth --out {}: {} exists and was not written by synth (no {} there); it would be replaced "
           "(choose another --out, or --overwrite)",
           o.out_dir, (fs::path(o.out_dir) / name).string(), kMarker);
}

}  // namespace

SyntheticFiles write_synthetic_data(const SyntheticOptions& o) {
  namespace fs = std::filesystem;
  check_out_dir_is_ours(o);
  auto start = std::chrono::steady_clock::now();
  SyntheticFiles f;
  f.out_dir = o.out_dir;
  f.eval_root = o.out_dir + "/eval";
  for (const std::string& dir : {o.out_dir, f.eval_root + "/gsm8k", f.eval_root + "/ifeval", f.eval_root + "/bbh/bbh", f.eval_root + "/bbh/cot-prompts"}) {
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) fail("{}: cannot create directory ({})", dir, error.message());
  }

  // ---- held out: evaluation sets, then the on-policy prompts
  std::unordered_set<std::string> held;
  Rng eval_rng = stream(o.seed, "eval");
  auto arithmetic = [&](Rng& rng) { return std::function<ArithmeticProblem()>([&] { return make_arithmetic_problem(rng, o.arithmetic); }); };
  std::function<std::string(const ArithmeticProblem&)> question_key = [](const ArithmeticProblem& p) { return p.question; };
  std::function<std::string(const IfevalItem&)> prompt_key = [](const IfevalItem& i) { return i.prompt; };
  std::function<std::string(const BbhItem&)> input_key = [](const BbhItem& i) { return i.input; };

  auto gsm8k_test = draw_unique(o.eval_gsm8k, arithmetic(eval_rng), question_key, held, "GSM8K test problems");
  auto ifeval_test = draw_unique<IfevalItem>(o.eval_ifeval, [&] { return make_ifeval_item(eval_rng); }, prompt_key, held, "IFEval prompts");
  std::vector<std::vector<BbhItem>> bbh_test;
  for (const auto& task : bbh_task_names()) {
    bbh_test.push_back(draw_unique<BbhItem>(o.eval_bbh_per_task, [&] { return make_bbh_item(task, eval_rng); }, input_key, held, task.c_str()));
  }
  Rng prompt_rng = stream(o.seed, "prompts");
  auto prompt_problems = draw_unique(o.prompts, arithmetic(prompt_rng), question_key, held, "on-policy prompts");

  // ---- training: SFT, then pretraining text; keys are shared so no training item repeats a held-out one
  std::unordered_set<std::string> train_taken = held;
  Rng sft_rng = stream(o.seed, "sft");
  auto sft_arith = draw_unique(o.sft_arithmetic, arithmetic(sft_rng), question_key, train_taken, "SFT arithmetic problems");
  auto sft_ifeval = draw_unique<IfevalItem>(o.sft_ifeval, [&] { return make_ifeval_item(sft_rng); }, prompt_key, train_taken, "SFT IFEval prompts");
  std::vector<std::vector<BbhItem>> sft_bbh;
  for (const auto& task : bbh_task_names()) {
    sft_bbh.push_back(draw_unique<BbhItem>(o.sft_bbh_per_task, [&] { return make_bbh_item(task, sft_rng); }, input_key, train_taken, task.c_str()));
  }

  json::array_t sft_rows;
  Rng style_rng = stream(o.seed, "sft-style");
  for (const auto& p : sft_arith) {
    json messages = json::array();
    if (style_rng.below(2) == 0) messages.push_back(message("system", kGsm8kSystemPrompt));
    messages.push_back(message("user", p.question));
    messages.push_back(message("assistant", think(arithmetic_trace(p), answer_sentence(std::to_string(p.answer)))));
    sft_rows.push_back({{"messages", std::move(messages)}, {"task", "arithmetic"}, {"answer", std::to_string(p.answer)}});
  }
  for (const auto& item : sft_ifeval) {
    sft_rows.push_back({{"messages", json::array({message("user", item.prompt), message("assistant", think(item.plan, item.response))})},
                        {"task", "ifeval"},
                        {"instruction_id_list", item.instruction_ids},
                        {"kwargs", item.kwargs}});
  }
  for (size_t t = 0; t < sft_bbh.size(); ++t) {
    for (const auto& item : sft_bbh[t]) {
      sft_rows.push_back({{"messages", json::array({message("user", bbh_user(item.input, style_rng)),
                                                    message("assistant", think(item.trace, answer_sentence(item.target)))})},
                          {"task", "bbh_" + bbh_task_names()[t]},
                          {"answer", item.target}});
    }
  }
  shuffle(sft_rows, style_rng);

  // Pretraining documents: 1-3 fresh items each, rendered as plain text (no chat markup).
  Rng pre_rng = stream(o.seed, "pretrain");
  std::vector<std::string> pretrain_texts;
  for (int64_t d = 0; d < o.pretrain_docs; ++d) {
    std::string doc;
    int64_t items = 1 + static_cast<int64_t>(pre_rng.below(3));
    for (int64_t k = 0; k < items; ++k) {
      std::string text;
      for (;;) {
        uint64_t family = pre_rng.below(10);
        std::string key;
        if (family < 5) {
          ArithmeticProblem p = make_arithmetic_problem(pre_rng, o.arithmetic);
          key = p.question;
          text = pre_rng.below(2) == 0 ? fmt::format("Question: {}\nAnswer: {}", p.question, arithmetic_gsm8k_answer(p))
                                       : fmt::format("{}\n{}\nThe answer is {}.", p.question, arithmetic_trace(p), p.answer);
        } else if (family < 7) {
          IfevalItem item = make_ifeval_item(pre_rng);
          key = item.prompt;
          text = fmt::format("Instruction: {}\nResponse: {}", item.prompt, item.response);
        } else {
          const std::string& task = bbh_task_names()[pre_rng.below(bbh_task_names().size())];
          BbhItem item = make_bbh_item(task, pre_rng);
          key = item.input;
          std::string trace = item.trace;
          std::replace(trace.begin(), trace.end(), '\n', ' ');
          text = fmt::format("Q: {}\nA: {} So the answer is {}.", item.input, trace, item.target);
        }
        if (!held.contains(key)) break;
      }
      doc += (doc.empty() ? "" : "\n\n") + text;
    }
    pretrain_texts.push_back(std::move(doc));
  }

  // ---- write
  f.pretrain = o.out_dir + "/pretrain.jsonl";
  f.sft = o.out_dir + "/sft.jsonl";
  f.prompts = o.out_dir + "/prompts.jsonl";
  std::vector<json> rows;
  for (const auto& text : pretrain_texts) rows.push_back({{"text", text}});
  write_rows(f.pretrain, rows);
  write_rows(f.sft, sft_rows);
  rows.clear();
  for (const auto& p : prompt_problems) {
    json row = {{"messages", json::array({message("user", p.question)})},
                {"answer", std::to_string(p.answer)},
                {"task", "arithmetic"},
                {"question", p.question}};
    rows.push_back(std::move(row));
  }
  write_rows(f.prompts, rows);

  rows.clear();
  for (const auto& p : gsm8k_test) rows.push_back({{"question", p.question}, {"answer", arithmetic_gsm8k_answer(p)}});
  write_rows(f.eval_root + "/gsm8k/test.jsonl", rows);
  rows.clear();
  for (const auto& p : sft_arith) rows.push_back({{"question", p.question}, {"answer", arithmetic_gsm8k_answer(p)}});
  write_rows(f.eval_root + "/gsm8k/train.jsonl", rows);
  rows.clear();
  for (size_t i = 0; i < ifeval_test.size(); ++i) {
    const auto& item = ifeval_test[i];
    json row = {{"key", 1000 + static_cast<int64_t>(i)},
                {"prompt", item.prompt},
                {"instruction_id_list", item.instruction_ids},
                {"kwargs", item.kwargs}};
    rows.push_back(std::move(row));
  }
  write_rows(f.eval_root + "/ifeval/input_data.jsonl", rows);
  for (size_t t = 0; t < bbh_test.size(); ++t) {
    nlohmann::json examples = nlohmann::json::array();
    for (const auto& item : bbh_test[t]) examples.push_back({{"input", item.input}, {"target", item.target}});
    write_json_file(f.eval_root + "/bbh/bbh/" + bbh_task_names()[t] + ".json", {{"examples", std::move(examples)}});
    // BBH's cot-prompts/<task>.txt: lm-eval's task description (bbh_zeroshot's system text) and three
    // chain-of-thought examples, taken from the training split.
    std::string prompt = "SYNTHETIC DEMO DATA (tinythink synth)\n-----\n" + bbh_description(bbh_task_names()[t]);
    for (size_t k = 0; k < std::min<size_t>(3, sft_bbh[t].size()); ++k)
      prompt += "\n\nQ: " + sft_bbh[t][k].input + "\nA: Let's think step by step.\nSo the answer is " +
                sft_bbh[t][k].target + ".";
    write_file_atomic(f.eval_root + "/bbh/cot-prompts/" + bbh_task_names()[t] + ".txt", prompt + "\n");
  }
  f.pretrain_docs = static_cast<int64_t>(pretrain_texts.size());
  f.sft_rows = static_cast<int64_t>(sft_rows.size());
  f.prompt_rows = static_cast<int64_t>(prompt_problems.size());
  f.eval_gsm8k = static_cast<int64_t>(gsm8k_test.size());
  f.eval_ifeval = static_cast<int64_t>(ifeval_test.size());
  for (const auto& task : bbh_test) f.eval_bbh += static_cast<int64_t>(task.size());

  // ---- tokenizer, trained on everything the model trains on
  if (o.write_tokenizer) {
    std::vector<std::string> corpus = pretrain_texts;
    for (const auto& row : sft_rows) {
      for (const auto& m : row["messages"]) corpus.push_back(m["content"].get<std::string>());
    }
    BpeTrainOptions bpe_options;
    bpe_options.vocab_size = o.vocab_size;
    TrainedBpe bpe = train_bpe(corpus, bpe_options);
    f.tokenizer_dir = o.out_dir + "/tokenizer";
    write_tokenizer_files(bpe, {}, f.tokenizer_dir);
    Tokenizer tok = Tokenizer::load(f.tokenizer_dir);
    f.vocab_size = static_cast<int64_t>(tok.vocab_size());
    f.bos_id = tok.bos_id();
    f.eos_id = tok.eos_id();
    f.eot_id = tok.token_to_id("<|eot_id|>");
    f.pad_id = tok.token_to_id("<|finetune_right_pad_id|>");

    auto ids = tok.encode_batch(pretrain_texts, EncodeOptions{.add_bos = true, .add_eos = true, .allow_special = false});
    f.pretrain_tokens = o.out_dir + "/pretrain.tokens.jsonl";
    // Written by hand: a few hundred thousand ids go through nlohmann slowly.
    std::string out;
    for (const auto& doc : ids) {
      out += "{\"tokens\": [";
      for (size_t i = 0; i < doc.size(); ++i) fmt::format_to(std::back_inserter(out), "{}{}", i ? ", " : "", doc[i]);
      out += "], \"loss_mask\": [";
      for (size_t i = 0; i < doc.size(); ++i) out += i ? ", 1" : "1";
      out += "]}\n";
      f.pretrain_tokens_total += static_cast<int64_t>(doc.size());
    }
    write_file_atomic(f.pretrain_tokens, out);
  }
  write_file_atomic(o.out_dir + "/" + kMarker,
                    json({{"written_by", "tinythink synth"}, {"seed", o.seed}, {"tokenizer", o.write_tokenizer}}).dump(2) + "\n");
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log_info("synth: {} pretrain docs ({} tokens), {} SFT rows, {} prompts, eval {} gsm8k / {} ifeval / {} bbh, vocab {} in {:.1f} s -> {}",
           f.pretrain_docs, f.pretrain_tokens_total, f.sft_rows, f.prompt_rows, f.eval_gsm8k, f.eval_ifeval, f.eval_bbh, f.vocab_size,
           f.seconds, o.out_dir);
  return f;
}

}  // namespace tt
