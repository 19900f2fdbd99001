// tinythink score: per-token log-probabilities of token sequences under a checkpoint.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/token_ids.h"
#include "infer/engine.h"
#include "core/error.h"
#include "core/log.h"
#include "io/jsonl.h"
#include "io/output_path.h"
#include "model/scoring.h"

namespace tt::cli {

namespace {

// score_sequences' log-probabilities through the engine on a GPU: each sequence is the continuation
// of its first token.
std::vector<std::vector<float>> score_on_device(Model& model, const std::vector<std::vector<int32_t>>& sequences,
                                                Precision precision, int cuda_device) {
  infer::Engine engine(model, {.precision = precision, .cuda_device = cuda_device});
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> pairs;
  for (const auto& s : sequences) pairs.push_back({{s.front()}, {s.begin() + 1, s.end()}});
  return engine.loglikelihood(pairs);
}

}  // namespace

void register_score(CLI::App& app) {
  struct Args {
    std::string model, input, output, precision = "auto", device;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("score", "per-token log-probabilities and perplexity of token sequences");
  cmd->add_option("--model", args->model, "checkpoint directory or cached hub id")->required();
  cmd->add_option("--input", args->input, "JSONL with {\"ids\": [...]} per line")->required();
  cmd->add_option("--output", args->output, "JSONL: {\"token_logprobs\": [...], \"sum_logprob\": x} per line")->required();
  cmd->add_option("--precision", args->precision, kPrecisionHelp);
  add_device_option(cmd, args->device);
  cmd->callback([args] {
    check_output_file(args->output, "score --output");
    check_output_is_not_input(args->output, "score --output", args->input, "--input");
    check_output_spares_model(args->output, "score --output", args->model);
    Precision precision = parse_precision(args->precision);
    const int cuda_device = choose_inference_device(args->device, "", precision);
    Model model = load_model(args->model);
    // positions past the model's context were scored silently on the CPU (RoPE extrapolated), where
    // the GPU engine refuses them: both refuse, naming the line
    const ModelConfig& c = model.config;
    const int64_t limit = context_limit(c);
    std::vector<std::vector<int32_t>> sequences = read_id_sequences(
        args->input, c.vocab_size, limit,
        limit < c.max_position_embeddings ? "the model's attention_chunk_size" : "the model's max_position_embeddings");
    if (sequences.empty()) fail("score --input {}: no sequences to score", args->input);  // was perplexity 1.000
    auto scores = cuda_device >= 0 ? score_on_device(model, sequences, precision, cuda_device)
                                   : score_sequences(model, sequences, {.precision = precision});
    std::vector<nlohmann::json> rows;
    double total = 0;
    int64_t count = 0;
    for (const auto& s : scores) {
      double sum = 0;
      for (float v : s) sum += v;
      total += sum;
      count += static_cast<int64_t>(s.size());
      rows.push_back({{"token_logprobs", s}, {"sum_logprob", sum}});
    }
    // one-id sequences have no scored token: "perplexity 1.000" over nothing, exit 0
    if (count == 0)
      fail("score --input {}: every sequence has a single id, so no token is scored (a sequence's first id is its "
           "context)", args->input);
    write_jsonl(args->output, rows);
    log_info("scored {} sequences, {} tokens: mean log-prob {:.4f}, perplexity {:.3f}", scores.size(), count,
             count ? total / count : 0.0, count ? std::exp(-total / count) : 1.0);
  });
}

}  // namespace tt::cli
