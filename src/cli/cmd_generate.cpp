// tinythink generate: batched completions for prompts (text, token ids or chat messages) with the
// inference engine; and tinythink bench generate: prefill and decode throughput.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "cli/device_option.h"
#include "cli/profile_table.h"
#include "cli/token_ids.h"
#include "core/communicator.h"
#include "core/content_hash.h"
#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/system.h"
#include "infer/engine.h"
#include "infer/generation_config.h"
#include "infer/request.h"
#include "infer/session.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "io/output_path.h"

namespace tt::cli {

namespace {

using infer::SamplingParams;

struct GenerateArgs {
  std::string model, prompt, input, output, precision = "auto", device, generation_config = "auto";
  bool chat = false, ignore_eos = false, keep_special_tokens = false;
  int64_t max_new_tokens = 256, min_tokens = 0, top_k = 0, n = 1, max_batch = 64;
  float temperature = 0.0f, top_p = 1.0f, min_p = 0.0f, repetition_penalty = 1.0f, presence_penalty = 0.0f,
        frequency_penalty = 0.0f;
  uint64_t seed = 0;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  std::optional<int64_t> logprobs, prompt_logprobs;
  std::set<std::string> given;  // SamplingParams fields set by a flag: the model's generation_config.json does not override them
};

SamplingParams default_params(const GenerateArgs& args) {
  SamplingParams defaults;
  defaults.max_new_tokens = args.max_new_tokens;
  defaults.temperature = args.temperature;
  defaults.top_p = args.top_p;
  defaults.top_k = args.top_k == -1 ? 0 : args.top_k;  // -1: off, as vLLM reads it
  defaults.min_p = args.min_p;
  defaults.min_tokens = args.min_tokens;
  defaults.repetition_penalty = args.repetition_penalty;
  defaults.presence_penalty = args.presence_penalty;
  defaults.frequency_penalty = args.frequency_penalty;
  defaults.seed = args.seed;
  defaults.n = args.n;
  defaults.stop = args.stop;
  defaults.stop_token_ids = args.stop_token_ids;
  defaults.ignore_eos = args.ignore_eos;
  defaults.logprobs = args.logprobs;
  defaults.prompt_logprobs = args.prompt_logprobs;
  defaults.skip_special_tokens = !args.keep_special_tokens;
  return defaults;
}

std::vector<nlohmann::json> read_requests(const GenerateArgs& args) {
  std::vector<nlohmann::json> rows;
  if (!args.prompt.empty()) rows.push_back({{"prompt", args.prompt}});
  else read_jsonl(args.input, [&](int64_t, const nlohmann::json& row) { rows.push_back(row); });
  if (rows.empty()) fail("{}: no requests", args.input);
  return rows;
}

uint64_t row_seed(uint64_t seed, size_t row) { return row == 0 ? seed : hash_mix64(seed ^ hash_mix64(row)); }

// The rows `mine` (indices into rows, in order) as engine requests numbered 0, 1, ..., their sampling
// fields over `defaults` (the flags and the model's generation_config.json); every row is
// checked, so that each rank of a sharded run stops on the same bad line. Errors name the input line.
// Returns, per request added, whether it asked for prompt log-probs.
std::vector<bool> add_requests(const GenerateArgs& args, const std::vector<nlohmann::json>& rows,
                               const std::vector<size_t>& mine, infer::Session& session, SamplingParams defaults) {
  std::vector<bool> is_mine(rows.size(), false);
  for (size_t i : mine) is_mine[i] = true;
  std::vector<bool> prompt_logprobs;
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string where = args.input.empty() ? "--prompt" : fmt::format("{}:{}", args.input, i + 1);
    if (!rows[i].is_object()) fail("{}: expected a JSON object", where);
    // A row without its own seed gets one of --seed and its line, so that equal prompts sample
    // differently (as they do in one vLLM batch) and the file's outputs stay reproducible.
    defaults.seed = row_seed(args.seed, i);
    SamplingParams p = infer::sampling_params_from_row(where, rows[i], defaults);
    std::vector<int32_t> ids = infer::prompt_ids_from_row(where, rows[i], args.chat, session);
    if (!is_mine[i]) continue;
    prompt_logprobs.push_back(p.prompt_logprobs.has_value());
    try {
      session.engine->add({std::move(ids), std::move(p)});
    } catch (const Error& e) {
      std::string message = e.what();
      const std::string prefix = fmt::format("request {}: ", i);
      if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
      fail("{}: {}", where, message);
    }
  }
  return prompt_logprobs;
}

// Steps the engine to the end, reporting progress on stderr (in place on a terminal).
// Under mpirun each rank reports its own share (rank r of N: rows r, r + N, ...).
void run_reporting(infer::Engine& engine, size_t requests) {
  const Communicator& world = Communicator::world();
  const std::string who = world.distributed() ? fmt::format("generate (rank {} of {}, its share)", world.rank(), world.size())
                                              : std::string("generate");
  const double t0 = now_seconds();
  double last_report = t0;
  const bool tty = ::isatty(2);
  auto report = [&](bool final) {
    int64_t done = 0;
    for (size_t i = 0; i < requests; ++i) done += engine.finished(static_cast<int64_t>(i));
    const double dt = now_seconds() - t0;
    const auto& s = engine.stats();
    const std::string line = fmt::format("{}: {}/{} requests, {} prompt + {} generated tokens, {:.1f} tok/s", who, done,
                                         requests, s.prefill_tokens, s.generated_tokens,
                                         dt > 0 ? (s.prefill_tokens + s.decode_tokens) / dt : 0.0);
    if (log_quiet()) return;
    if (tty) std::fprintf(stderr, "\r%s%s", line.c_str(), final ? "\n" : "");
    else std::fprintf(stderr, "%s\n", line.c_str());
  };
  while (engine.step()) {
    if (now_seconds() - last_report > (tty ? 0.5 : 10.0)) {
      report(false);
      last_report = now_seconds();
    }
  }
  report(true);
}

// A sample's log-probs as vLLM's CompletionOutput.logprobs: per generated token a dict from token
// id to {logprob, rank, decoded_token} (the sampled id and the top ones; decoded_token with a tokenizer).
nlohmann::json logprobs_json(const std::vector<infer::PositionLogprobs>& logprobs, const Tokenizer* tokenizer) {
  nlohmann::json positions = nlohmann::json::array();
  for (const infer::PositionLogprobs& position : logprobs) {
    nlohmann::json entries = nlohmann::json::object();
    for (const infer::TokenLogprob& e : position) {
      nlohmann::json entry = {{"logprob", e.logprob}, {"rank", e.rank}};
      if (tokenizer) entry["decoded_token"] = tokenizer->decode(std::vector<int32_t>{e.id});
      entries[std::to_string(e.id)] = std::move(entry);  // an id listed twice keeps its later entry, as vLLM's dict
    }
    positions.push_back(std::move(entries));
  }
  return positions;
}

// The input row plus completion (text, when there is a tokenizer), completion_ids and
// finish_reason, and with logprobs also logprobs and cumulative_logprob: single values for one
// sample, lists for several; with prompt_logprobs vLLM's prompt_logprobs (null for the first token).
nlohmann::json output_row(nlohmann::json row, const infer::GenerationResult& r, const Tokenizer* tokenizer,
                          bool with_prompt_logprobs) {
  if (with_prompt_logprobs) {
    nlohmann::json prompt = logprobs_json(r.prompt_logprobs, tokenizer);
    prompt.insert(prompt.begin(), nullptr);
    row["prompt_logprobs"] = std::move(prompt);
  }
  // every sample has generated a token, so a request that asked for log-probs has some
  const bool with_logprobs = !r.samples.empty() && !r.samples[0].logprobs.empty();
  if (r.samples.size() == 1) {
    if (tokenizer) row["completion"] = r.samples[0].text;
    row["completion_ids"] = r.samples[0].ids;
    row["finish_reason"] = r.samples[0].finish_reason;
    if (with_logprobs) {
      row["logprobs"] = logprobs_json(r.samples[0].logprobs, tokenizer);
      row["cumulative_logprob"] = r.samples[0].cumulative_logprob;
    }
    return row;
  }
  nlohmann::json texts = nlohmann::json::array(), ids = nlohmann::json::array(), reasons = nlohmann::json::array(),
                 logprobs = nlohmann::json::array(), cumulative = nlohmann::json::array();
  for (const auto& s : r.samples) {
    texts.push_back(s.text);
    ids.push_back(s.ids);
    reasons.push_back(s.finish_reason);
    logprobs.push_back(logprobs_json(s.logprobs, tokenizer));
    cumulative.push_back(s.cumulative_logprob);
  }
  if (tokenizer) row["completion"] = texts;
  row["completion_ids"] = ids;
  row["finish_reason"] = reasons;
  if (with_logprobs) {
    row["logprobs"] = logprobs;
    row["cumulative_logprob"] = cumulative;
  }
  return row;
}

void write_outputs(const GenerateArgs& args, const std::vector<nlohmann::json>& out) {
  if (args.output.empty()) {
    for (const auto& row : out) {
      if (row.contains("completion") && row["completion"].is_string() && !row.contains("logprobs") &&
          !row.contains("prompt_logprobs"))
        std::printf("%s\n", row["completion"].get<std::string>().c_str());
      else std::printf("%s\n", row.dump().c_str());
    }
    return;
  }
  std::string text;
  for (const auto& row : out) text += row.dump() + "\n";
  write_file_atomic(args.output, text);
}

void run_generate(const GenerateArgs& args) {
  if (args.prompt.empty() == args.input.empty()) fail("give exactly one of --prompt TEXT or --input FILE.jsonl");
  if (!args.input.empty() && args.output.empty()) fail("--input needs --output FILE.jsonl");
  if (!args.output.empty()) check_output_file(args.output, "generate --output");
  check_output_is_not_input(args.output, "generate --output", args.input, "--input");
  check_output_spares_model(args.output, "generate --output", args.model);
  check_sampling_flags("generate", default_params(args),
                       {{"temperature", "--temperature"}, {"top_p", "--top-p"}, {"top_k", "--top-k"},
                        {"min_p", "--min-p"}, {"repetition_penalty", "--repetition-penalty"},
                        {"presence_penalty", "--presence-penalty"}, {"frequency_penalty", "--frequency-penalty"},
                        {"n", "--n"}, {"max_new_tokens", "--max-new-tokens"}, {"min_tokens", "--min-tokens"},
                        {"an empty stop string", "--stop"}, {"prompt_logprobs", "--prompt-logprobs"}});
  const Precision precision = parse_precision(args.precision);
  const int cuda_device = choose_inference_device(args.device, "", precision);
  const auto session = infer::open_session(args.model, {.precision = precision,
                                                        .max_batch = args.max_batch,
                                                        .cuda_device = cuda_device,
                                                        .tokenizer = infer::Need::IfPresent,
                                                        .chat_template = args.chat ? infer::Need::Required : infer::Need::No});
  for (int32_t id : args.stop_token_ids)  // the flag's, not the first line's (which the engine would blame)
    if (id < 0 || id >= session->model.config.vocab_size)
      fail("generate --stop-token-id: token id {} is out of range (vocab size {})", id, session->model.config.vocab_size);
  const infer::ModelSamplingDefaults model_defaults = infer::read_sampling_defaults(args.generation_config, session->dir);
  const SamplingParams defaults = with_model_defaults("generate", default_params(args), model_defaults, args.given);
  if (!model_defaults.empty())
    log_info("generate: sampling defaults from {}: {} (vLLM's --generation-config auto; flags and request fields "
             "win; --generation-config vllm leaves them out)", model_defaults.path, model_defaults.describe());
  const std::vector<nlohmann::json> rows = read_requests(args);
  // Under mpirun: rank r answers rows r, r + N, ... and rank 0 writes every row in input order. A
  // request's samples depend only on its prompt, parameters and seed (batch invariance), so the file
  // is the one a single process writes.
  Communicator& world = Communicator::world();
  const std::vector<size_t> mine = rank_share(rows.size(), world.size(), world.rank());
  const std::vector<bool> prompt_logprobs = add_requests(args, rows, mine, *session, defaults);
  run_reporting(*session->engine, mine.size());
  std::vector<nlohmann::json> out;
  for (size_t k = 0; k < mine.size(); ++k)
    out.push_back(output_row(rows[mine[k]], session->engine->take(static_cast<int64_t>(k)),
                             session->tokenizer ? &*session->tokenizer : nullptr, prompt_logprobs[k]));
  if (world.distributed()) {  // every rank's rows, in input order
    std::vector<std::string> answered;
    for (const nlohmann::json& row : out) answered.push_back(row.dump());
    out.clear();
    for (const std::string& row : gather_shares(world, answered, rows.size())) out.push_back(nlohmann::json::parse(row));
  }
  if (!world.is_root()) return;
  write_outputs(args, out);
}

struct BenchArgs {
  std::string arch = "mobilellm-r1-140m", precision = "auto", device, model, prompts;
  int64_t batch = 1, prompt = 128, new_tokens = 32, step_tokens = 2048;
  bool json = false, profile = false;
};

void run_generate_bench(const BenchArgs& args) {
  const Precision precision = parse_precision(args.precision);
  const int cuda_device = choose_inference_device(args.device, "", precision);
  if (!args.json) log_info("precision {}", describe_precision(args.precision, precision));
  Model model = args.model.empty() ? init_model(preset_config(args.arch), 0) : load_model(args.model);
  // The prompts: random ids (--batch x --prompt), or the file's (what bench/compare_llama_cpp.sh gives both engines).
  std::vector<std::vector<int32_t>> prompts;
  if (!args.prompts.empty()) {
    prompts = read_id_sequences(args.prompts, model.config.vocab_size);
  } else {
    // Checked before the prompts are made: `--batch 100000000` used to fill memory for minutes.
    constexpr int64_t kMaxPrompts = 65536;  // generate's own limit on samples (--n)
    if (args.batch > kMaxPrompts) fail("bench generate: --batch {} is more than {} prompts", args.batch, kMaxPrompts);
    if (model.config.max_position_embeddings > 0 && args.prompt + args.new_tokens > model.config.max_position_embeddings)
      fail("bench generate: --prompt {} + --new {} tokens do not fit the model's context of {}", args.prompt,
           args.new_tokens, model.config.max_position_embeddings);
    Rng rng(1);
    prompts.resize(args.batch);
    for (auto& prompt : prompts)
      for (int64_t i = 0; i < args.prompt; ++i) prompt.push_back(static_cast<int32_t>(rng.below(model.config.vocab_size)));
  }
  const int64_t batch = static_cast<int64_t>(prompts.size());
  infer::Engine engine(model, {.precision = precision,
                               .max_batch = batch,
                               .step_tokens = args.step_tokens,
                               .cuda_device = cuda_device});
  int64_t prompt_tokens = 0;
  for (auto& prompt : prompts) {
    prompt_tokens += static_cast<int64_t>(prompt.size());
    engine.add({std::move(prompt), {.temperature = 0.0f, .max_new_tokens = args.new_tokens, .ignore_eos = true}});
  }
  // Prefill phase: until every prompt is in the cache (its first token is sampled then); decode after.
  const double t0 = now_seconds();
  bool more = true;
  while (more && engine.stats().prefill_tokens < prompt_tokens) more = engine.step();
  const double t1 = now_seconds();
  const int64_t decode_before = engine.stats().decode_tokens, steps_before = engine.stats().steps;
  if (args.profile) op_profile_start();
  while (more) more = engine.step();
  const double t2 = now_seconds();
  const std::vector<OpTime> profile = args.profile ? op_profile_stop() : std::vector<OpTime>{};
  const int64_t decoded = engine.stats().decode_tokens - decode_before;
  const int64_t decode_steps = engine.stats().steps - steps_before;
  nlohmann::json out = {{"impl", "tinythink"},
                        {"arch", args.model.empty() ? args.arch : args.model},
                        {"precision", precision_name(precision)},
                        {"precision_requested", args.precision},
                        {"isa", isa_name(active_isa())},
                        {"batch", batch},
                        {"prompt", prompt_tokens / std::max<int64_t>(batch, 1)},
                        {"new", args.new_tokens},
                        {"prefill_s", t1 - t0},
                        {"prefill_tokens_per_s", prompt_tokens / (t1 - t0)},
                        {"decode_s", t2 - t1},
                        {"decode_tokens_per_s", decoded > 0 ? decoded / (t2 - t1) : 0.0},
                        {"peak_rss_mb", peak_rss_mb()},
                        {"weight_bytes_per_decode_step", engine.model().matmul_weight_bytes()},
                        {"layer_matmul_flops_per_token", engine.model().layer_matmul_flops_per_token()},
                        {"threads", thread_count()},
                        {"cpu", cpu_model_name()},
                        {"cpu_simd", cpu_simd_summary()}};
  if (infer::DeviceEngine* gpu = engine.device()) {
    // The whole KV pool is allocated up front (a share of the free memory): its peak use is what the
    // sequences held, the rest is the weights and the step's activations.
    const double mb = 1024.0 * 1024.0;
    out["device"] = fmt::format("cuda:{}", cuda_device);
    out["device_peak_mb"] = static_cast<double>(gpu->peak_bytes_in_use()) / mb;
    out["kv_pool_mb"] = static_cast<double>(gpu->blocks_total() * gpu->block_bytes()) / mb;
    out["kv_peak_used_mb"] = static_cast<double>(gpu->peak_blocks_used() * gpu->block_bytes()) / mb;
    out["device_peak_without_unused_kv_mb"] =
        static_cast<double>(gpu->peak_bytes_in_use() - (gpu->blocks_total() - gpu->peak_blocks_used()) * gpu->block_bytes()) / mb;
    out["batch_invariant"] = gpu->batch_invariant();  // false with the opt-in TINYTHINK_CUDA_FAST_GEMM=1
    out["cuda_graphs"] = gpu->cuda_graphs();  // TINYTHINK_CUDA_GRAPHS=1: decode steps replayed from graphs
    out["cuda_graphs_recorded"] = gpu->cuda_graphs_recorded();
  }
  if (args.profile && decode_steps > 0) out["profile"] = profile_json(profile, t2 - t1, decode_steps);
  std::printf("%s\n", out.dump(args.json ? -1 : 2).c_str());
}

}  // namespace

void register_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "batched completions with a KV cache (continuous batching)");
  cmd->add_option("--model", args->model, "checkpoint directory or cached hub id")->required();
  cmd->add_option("--prompt", args->prompt, "one prompt text");
  cmd->add_option("--input", args->input,
                  "JSONL: {\"prompt\": text} | {\"ids\": [...]} | {\"messages\": [...]} (--chat), plus optional "
                  "sampling fields as vLLM's SamplingParams (max_new_tokens or max_tokens, min_tokens, temperature, "
                  "top_p, top_k, min_p, repetition_penalty, presence_penalty, frequency_penalty, seed, n, stop, "
                  "stop_token_ids, ignore_eos, logprobs, prompt_logprobs, skip_special_tokens)");
  cmd->add_option("--output", args->output, "JSONL: each input line plus completion, completion_ids, finish_reason");
  cmd->add_flag("--chat", args->chat, "apply the model's chat template (with the generation prompt)");
  // The flags the model's generation_config.json may give a default for (SamplingParams' field names).
  const std::vector<std::pair<std::string, CLI::Option*>> model_default_flags = {
      {"max_new_tokens", cmd->add_option("--max-new-tokens", args->max_new_tokens,
                                         "default 256, or the model's generation_config.json max_new_tokens")},
      {"temperature", cmd->add_option("--temperature", args->temperature,
                                      "0 = greedy; default 0, or the model's generation_config.json temperature")},
      {"top_p", cmd->add_option("--top-p", args->top_p, "nucleus sampling mass, (0, 1]")},
      {"top_k", cmd->add_option("--top-k", args->top_k, "0 or -1 = off")},
      {"min_p", cmd->add_option("--min-p", args->min_p, "drop tokens below min_p x the best probability")},
      {"repetition_penalty", cmd->add_option("--repetition-penalty", args->repetition_penalty, "1 = off")}};
  cmd->add_option("--generation-config", args->generation_config,
                  "sampling defaults, as vLLM's --generation-config: 'auto' (default) takes temperature, top_p, "
                  "top_k, min_p, repetition_penalty and max_new_tokens from the model's generation_config.json "
                  "where it sets them (do_sample is not read, as in vLLM); 'vllm' ignores the file; a folder reads "
                  "its generation_config.json. Flags and request fields win over the file");
  cmd->add_option("--min-tokens", args->min_tokens, "tokens generated before EOS, a stop id or a stop string may "
                  "end a completion (vLLM's min_tokens; default 0)");
  cmd->add_option("--presence-penalty", args->presence_penalty, "[-2, 2]: logit -= P once a token was generated");
  cmd->add_option("--frequency-penalty", args->frequency_penalty,
                  "[-2, 2]: logit -= F x the times a token was generated");
  cmd->add_option("--seed", args->seed,
                  "base seed: a request without its own 'seed' gets one of S and its line (the first line's is S); "
                  "sample i of a request with seed s draws as a request with seed s + i (vLLM)")
      ->check(unsigned_64());
  cmd->add_option("--n", args->n, "samples per prompt");
  cmd->add_option("--stop", args->stop, "stop strings")->expected(1, 64);
  cmd->add_option("--stop-token-id", args->stop_token_ids, "extra stop token ids (besides EOS)")->expected(1, 64);
  cmd->add_flag("--ignore-eos", args->ignore_eos, "keep generating past EOS");
  cmd->add_flag("--keep-special-tokens", args->keep_special_tokens,
                "keep special tokens in the completion's text (vLLM's skip_special_tokens=false; by default they are "
                "left out, as vLLM leaves them out)");
  cmd->add_option("--logprobs", args->logprobs,
                  "per generated token, the log-probs of the sampled token and of the K most likely ones (0-20, vLLM's "
                  "logprobs from the raw logits); output: logprobs, cumulative_logprob (with --prompt the JSON row)");
  cmd->add_option("--prompt-logprobs", args->prompt_logprobs,
                  "per prompt token after the first, its log-prob and those of the K most likely tokens there (0-20, "
                  "vLLM's prompt_logprobs from the raw logits; the prompt is computed, not taken from the prefix "
                  "cache); output: prompt_logprobs, null for the first token");
  cmd->add_option("--precision", args->precision, kPrecisionHelp);
  add_device_option(cmd, args->device);
  cmd->add_option("--max-batch", args->max_batch, "samples decoding at once")->check(positive());
  cmd->callback([args, model_default_flags] {
    args->given = given_fields(model_default_flags);
    run_generate(*args);
  });
}

void register_bench_generate(CLI::App& app) {
  CLI::App* bench = nullptr;
  try {
    bench = app.get_subcommand("bench");
  } catch (const CLI::OptionNotFound&) {
    bench = app.add_subcommand("bench", "throughput and memory benchmarks");
    bench->require_subcommand(1);
  }
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = bench->add_subcommand("generate", "prefill and decode throughput of the inference engine");
  cmd->add_option("--arch", args->arch, "model preset (random weights)");
  cmd->add_option("--model", args->model, "a checkpoint directory instead of --arch");
  cmd->add_option("--batch", args->batch, "prompts decoded together")->check(positive());
  cmd->add_option("--prompt", args->prompt, "prompt tokens")->check(positive());
  cmd->add_option("--prompts", args->prompts, "JSONL of {\"ids\": [...]}: these prompts, decoded together, "
                  "instead of --batch random ones of --prompt tokens");
  cmd->add_option("--new", args->new_tokens, "generated tokens per prompt")->check(positive());
  cmd->add_option("--step-tokens", args->step_tokens, "token rows per engine step")->check(positive());
  cmd->add_option("--precision", args->precision, kPrecisionHelp);
  add_device_option(cmd, args->device);
  cmd->add_flag("--json", args->json, "print one JSON line");
  cmd->add_flag("--profile", args->profile,
                "per-op time of the decode steps (self time, per step; GEMMs = packed gemm rows; a parallel "
                "region's wait for its slowest thread counts in its op): a table on stderr, rows under \"profile\" "
                "in the JSON");
  cmd->callback([args] { run_generate_bench(*args); });
}

}  // namespace tt::cli
