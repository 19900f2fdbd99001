#include "study/demo.h"

#include <filesystem>

#include "core/log.h"
#include "core/rng.h"
#include "core/system.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "model/scoring.h"
#include "train/train_step.h"

namespace tt {

namespace {

// The synthetic task: arithmetic progressions a, a+d, a+2d, ... over the first 256 token ids, with
// d in {1, 2, 3}. The first two tokens of a row are unpredictable; every later one follows from them,
// so a model that learns the rule gets most tokens right and a random one almost none.
constexpr int32_t kTaskVocab = 256;

std::vector<int32_t> progression(Rng& rng, int64_t length) {
  int32_t a = static_cast<int32_t>(rng.below(kTaskVocab));
  int32_t d = 1 + static_cast<int32_t>(rng.below(3));
  std::vector<int32_t> seq(length);
  for (int64_t i = 0; i < length; ++i) seq[i] = static_cast<int32_t>((a + d * i) % kTaskVocab);
  return seq;
}

Batch make_batch(Rng& rng, int64_t rows, int64_t seq) {
  Batch batch;
  batch.rows = rows;
  batch.seq = seq;
  for (int64_t r = 0; r < rows; ++r) {
    auto s = progression(rng, seq + 1);
    batch.tokens.insert(batch.tokens.end(), s.begin(), s.end() - 1);
    batch.targets.insert(batch.targets.end(), s.begin() + 1, s.end());
  }
  return batch;
}

struct HeldOut {
  double mean_logprob = 0, accuracy = 0;
};

HeldOut evaluate(Model& model, const std::vector<std::vector<int32_t>>& sequences, Precision precision) {
  auto scores = score_sequences(model, sequences, {.precision = precision});
  double sum = 0;
  int64_t count = 0, confident = 0;
  for (const auto& s : scores)
    for (size_t j = 1; j < s.size(); ++j) {  // skip the first target: it is random by construction
      sum += s[j];
      confident += s[j] > std::log(0.5);    // the model puts more than half its mass on the right token
      ++count;
    }
  return {sum / count, static_cast<double>(confident) / count};
}

}  // namespace

DemoSummary run_demo(const DemoOptions& options) {
  namespace fs = std::filesystem;
  fs::create_directories(options.out_dir);
  Model model = init_model(preset_config(options.arch), options.seed);
  log_info("demo: {} ({} parameters), {} steps of {} x {} tokens, {} on {} threads ({})", options.arch,
           parameter_count(model.config), options.steps, options.batch, options.seq, precision_name(options.precision),
           thread_count(), cpu_model_name());
  save_model(model, options.out_dir + "/base");

  Rng heldout_rng(options.seed + 1000);
  std::vector<std::vector<int32_t>> heldout;
  for (int i = 0; i < 64; ++i) heldout.push_back(progression(heldout_rng, options.seq));
  DemoSummary summary;
  HeldOut before = evaluate(model, heldout, options.precision);

  TrainState state(model, options.precision);
  StepOptions step;
  step.adamw = {.learning_rate = options.learning_rate, .beta1 = 0.9, .beta2 = 0.95, .epsilon = 1e-8, .weight_decay = 0.0};
  const int64_t warmup = resolve_warmup_steps(0, 0.1, options.steps);
  Rng data_rng(options.seed);
  std::vector<nlohmann::json> metrics;
  int64_t seen_tokens = 0;
  const double t0 = now_seconds();
  for (int64_t s = 0; s < options.steps; ++s) {
    step.learning_rate = options.learning_rate * schedule_factor(ScheduleKind::Cosine, s, warmup, options.steps);
    std::vector<Batch> batches = {make_batch(data_rng, options.batch, options.seq)};
    StepResult r = train_step(state, batches, step);
    seen_tokens += r.tokens;
    summary.final_train_loss = r.loss;
    if ((s + 1) % 10 == 0 || s == 0 || s + 1 == options.steps) {
      double elapsed = now_seconds() - t0;
      metrics.push_back({{"step", s + 1},
                         {"loss", r.loss},
                         {"learning_rate", step.learning_rate},
                         {"grad_norm", r.grad_norm},
                         {"mean_token_accuracy", static_cast<double>(r.correct) / r.tokens},
                         {"num_tokens", seen_tokens},
                         {"epoch", static_cast<double>(s + 1) / options.steps}});
      log_info("step {:>4}/{}  loss {:.4f}  lr {:.2e}  grad-norm {:.3f}  {:.0f} tokens/s  ETA {:.0f} s", s + 1,
               options.steps, r.loss, step.learning_rate, r.grad_norm, seen_tokens / elapsed,
               elapsed / (s + 1) * (options.steps - s - 1));
    }
  }
  write_jsonl(options.out_dir + "/metrics.jsonl", metrics);
  save_model(model, options.out_dir + "/final");
  HeldOut after = evaluate(model, heldout, options.precision);
  summary.heldout_logprob_before = before.mean_logprob;
  summary.heldout_logprob_after = after.mean_logprob;
  summary.heldout_accuracy_before = before.accuracy;
  summary.heldout_accuracy_after = after.accuracy;
  nlohmann::json json = {{"arch", options.arch},
                         {"steps", options.steps},
                         {"final_train_loss", summary.final_train_loss},
                         {"heldout_mean_logprob_before", before.mean_logprob},
                         {"heldout_mean_logprob_after", after.mean_logprob},
                         {"heldout_confident_accuracy_before", before.accuracy},
                         {"heldout_confident_accuracy_after", after.accuracy},
                         {"seconds", now_seconds() - t0},
                         {"cpu", cpu_model_name()},
                         {"threads", thread_count()}};
  write_json_file(options.out_dir + "/summary.json", json);
  log_info("\nheld-out (64 sequences)       before      after");
  log_info("mean log-prob per token   {:>10.4f} {:>10.4f}", before.mean_logprob, after.mean_logprob);
  log_info("perplexity                {:>10.3f} {:>10.3f}", std::exp(-before.mean_logprob), std::exp(-after.mean_logprob));
  log_info("tokens predicted (p>0.5)  {:>9.1f}% {:>9.1f}%", 100 * before.accuracy, 100 * after.accuracy);
  log_info("wrote {}/{{base,final,metrics.jsonl,summary.json}}", options.out_dir);
  return summary;
}

}  // namespace tt
