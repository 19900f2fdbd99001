#include "train/sft.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "core/system.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "train/run_support.h"
#include "train/train_step.h"
#include "train/trainer_state.h"

namespace tt {

namespace fs = std::filesystem;

namespace {

// A training "row" is one example, or one packed group of examples.
struct Rows {
  std::vector<std::vector<const SftExample*>> groups;
  bool packed = false;
  Batch batch(const std::vector<int64_t>& ids, int32_t pad_id) const {
    if (packed) {
      std::vector<std::vector<const SftExample*>> selected;
      for (int64_t id : ids) selected.push_back(groups[id]);
      return make_packed_batch(selected, pad_id);
    }
    std::vector<const SftExample*> selected;
    for (int64_t id : ids) selected.push_back(groups[id][0]);
    return make_padded_batch(selected, pad_id);
  }
};

Rows make_rows(const std::vector<SftExample>& examples, const TrainingArgs& args) {
  Rows rows;
  rows.packed = args.packing;
  if (!args.packing) {
    for (const auto& e : examples) rows.groups.push_back({&e});
    return rows;
  }
  for (const auto& group : pack_examples(examples, args.max_length)) {
    std::vector<const SftExample*> members;
    for (int64_t i : group) members.push_back(&examples[i]);
    rows.groups.push_back(std::move(members));
  }
  return rows;
}

void truncate_examples(std::vector<SftExample>& examples, int64_t max_length) {
  for (auto& e : examples)
    if (static_cast<int64_t>(e.tokens.size()) > max_length) {
      e.tokens.resize(max_length);
      e.loss_mask.resize(max_length);
    }
}

struct EvalResult {
  double loss = 0, accuracy = 0;
};

EvalResult evaluate(TrainState& state, const Rows& rows, const TrainingArgs& args, int32_t pad_id, TokenLoss loss) {
  EvalResult out;
  double sum = 0;
  int64_t tokens = 0, correct = 0;
  const int64_t bs = args.per_device_eval_batch_size;
  Workspace ws;
  for (size_t start = 0; start < rows.groups.size(); start += bs) {
    std::vector<int64_t> ids;
    for (size_t i = start; i < std::min(rows.groups.size(), start + bs); ++i) ids.push_back(static_cast<int64_t>(i));
    Batch batch = rows.batch(ids, pad_id);
    LossResult r = model_loss(state.model->config, state.weights, batch, ws, {.precision = state.precision}, nullptr,
                              loss, nullptr);
    sum += r.loss_sum;
    tokens += r.tokens;
    correct += r.correct;
  }
  if (tokens > 0) out = {sum / tokens, static_cast<double>(correct) / tokens};
  return out;
}

}  // namespace

SftResult run_sft(SftRun& run) {
  const TrainConfig& config = run.config;
  const TrainingArgs& args = config.trainer;
  if (run.train.empty()) fail("{}: the training set is empty", config.source);
  truncate_examples(run.train, args.max_length);
  truncate_examples(run.eval, args.max_length);
  Rows train_rows = make_rows(run.train, args), eval_rows = make_rows(run.eval, args);
  const StepPlan plan = plan_steps(args, static_cast<int64_t>(train_rows.groups.size()));
  const Precision precision = args.bf16 ? Precision::BF16 : Precision::FP32;
  const TokenLoss loss_kind = args.loss_type == "dft" ? TokenLoss::DFT : TokenLoss::NLL;
  const ScheduleKind schedule = parse_schedule(args.lr_scheduler_type);

  Model model = load_model(config.model_name);
  for (const auto& e : run.train)
    for (int32_t t : e.tokens)
      if (t >= model.config.vocab_size) fail("{}: token id {} out of range (vocab size {})", config.source, t, model.config.vocab_size);
  AdamWState adam;
  const ResumePoint resume = resume_if_requested(config, run.resume, model, adam);
  CheckpointState ckpt = resume.state;
  TrainState state(model, precision);
  state.adam = std::move(adam);
  fs::create_directories(args.output_dir);
  const std::string metrics_path = args.output_dir + "/metrics.jsonl";
  std::vector<nlohmann::json> metrics = previous_metrics(metrics_path, resume);

  log_info("sft: {} rows ({} examples{}), {} steps ({} per epoch), effective batch {}, lr {}, {} {}{}",
           train_rows.groups.size(), run.train.size(), args.packing ? ", packed" : "", plan.total_steps,
           plan.steps_per_epoch, args.per_device_train_batch_size * args.gradient_accumulation_steps,
           args.learning_rate, args.loss_type, precision_name(precision),
           resume.from.empty() ? "" : ", resumed from " + resume.from);

  StepOptions step_options;
  step_options.adamw = {args.learning_rate, args.adam_beta1, args.adam_beta2, args.adam_epsilon, args.weight_decay};
  step_options.max_grad_norm = args.max_grad_norm;
  step_options.loss = loss_kind;
  step_options.neftune_alpha = static_cast<float>(args.neftune_noise_alpha);

  // logging window (since the last log line)
  double window_loss = 0, window_norm = 0;
  int64_t window_steps = 0, window_tokens = 0, window_correct = 0;
  double t_start = now_seconds();
  const int64_t first_step = ckpt.global_step;
  const double start_tokens = ckpt.seen_tokens;
  int64_t cached_epoch = -1;
  std::vector<int64_t> order;
  SftResult result;
  result.output_dir = args.output_dir;
  for (int64_t step = ckpt.global_step; step < plan.total_steps; ++step) {
    const int64_t epoch = step / plan.steps_per_epoch, index = step % plan.steps_per_epoch;
    if (epoch != cached_epoch) {
      order = epoch_order(static_cast<int64_t>(train_rows.groups.size()), args.seed, epoch, run.shuffle);
      cached_epoch = epoch;
    }
    std::vector<Batch> micro_batches;
    for (const auto& ids : step_micro_batches(order, index, args.per_device_train_batch_size,
                                              args.gradient_accumulation_steps)) {
      for (int64_t id : ids)
        for (const auto* e : train_rows.groups[id]) ckpt.seen_tokens += static_cast<double>(e->tokens.size());
      micro_batches.push_back(train_rows.batch(ids, run.pad_id));
    }
    step_options.learning_rate = args.learning_rate * schedule_factor(schedule, step, plan.warmup_steps, plan.total_steps);
    step_options.neftune_seed = static_cast<uint64_t>(args.seed) * 1000003ull + static_cast<uint64_t>(step);
    StepResult r = train_step(state, micro_batches, step_options);
    ckpt.global_step = step + 1;
    window_loss += r.loss;
    window_norm += r.grad_norm;
    window_tokens += r.tokens;
    window_correct += r.correct;
    ++window_steps;
    const bool last = step + 1 == plan.total_steps;
    if ((step + 1) % plan.logging_steps == 0 || last) {
      const double elapsed = now_seconds() - t_start;
      const double done = static_cast<double>(step + 1 - first_step);
      nlohmann::json row = {{"step", step + 1},
                            {"loss", window_loss / window_steps},
                            {"learning_rate", step_options.learning_rate},
                            {"grad_norm", window_norm / window_steps},
                            {"mean_token_accuracy", window_tokens ? static_cast<double>(window_correct) / window_tokens : 0.0},
                            {"num_tokens", ckpt.seen_tokens},
                            {"epoch", static_cast<double>(step + 1) / plan.steps_per_epoch}};
      result.final_loss = window_loss / window_steps;
      log_info("step {}/{}  loss {:.4f}  lr {:.3e}  grad-norm {:.3f}  acc {:.3f}  {:.0f} tokens/s  ETA {:.0f}s", step + 1,
               plan.total_steps, row["loss"].get<double>(), step_options.learning_rate, row["grad_norm"].get<double>(),
               row["mean_token_accuracy"].get<double>(), (ckpt.seen_tokens - start_tokens) / std::max(1e-9, elapsed),
               elapsed / done * static_cast<double>(plan.total_steps - step - 1));
      metrics.push_back(row);
      window_loss = window_norm = 0;
      window_steps = window_tokens = window_correct = 0;
      if (plan.eval_steps > 0 && !eval_rows.groups.empty() && ((step + 1) % plan.eval_steps == 0 || last)) {
        EvalResult e = evaluate(state, eval_rows, args, run.pad_id, loss_kind);
        metrics.push_back({{"step", step + 1}, {"eval_loss", e.loss}, {"eval_mean_token_accuracy", e.accuracy}});
        log_info("eval at step {}: loss {:.4f}  accuracy {:.3f}", step + 1, e.loss, e.accuracy);
      }
      write_jsonl(metrics_path, metrics);
    }
    checkpoint_if_due(args, plan, last, metrics_path, metrics, model, state.adam, ckpt, run.tokenizer_source);
  }
  write_final_model(model, args.output_dir, run.tokenizer_source);
  result.steps = ckpt.global_step;
  log_info("sft: done, {} steps; model written to {}", result.steps, args.output_dir);
  return result;
}

}  // namespace tt
