#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <optional>

#include <fmt/ranges.h>

#include "core/communicator.h"
#include "core/error.h"
#include "core/log.h"
#include "core/system.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "model/checkpoint.h"
#include "model/finite_check.h"
#include "train/lr_schedule.h"
#include "train/run_support.h"

namespace tt {

namespace fs = std::filesystem;

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void record_stop_signal(int signal) { g_stop_signal = signal; }

// While it lives, SIGINT and SIGTERM (Ctrl-C, `kill`, a Slurm preemption) only set a flag that the
// loop checks after each step. SA_RESETHAND: a second signal acts as it would without us.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction action {};
    action.sa_handler = record_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int caught() const { return g_stop_signal; }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

// What the loss of a step is averaged over: the units of all its micro-batches, summed over the
// ranks, so N ranks train as one process with N x accumulation.
int64_t step_normaliser(const std::vector<MicroBatch>& micro_batches) {
  int64_t units = 0;
  for (const auto& m : micro_batches) units += m.units;
  Communicator::world().all_reduce_sum(&units, 1);
  return units;
}

// The gradients (ZeRO-1: this rank's slice of them) and metric sums of every rank's micro-batches,
// on every rank; returns the seconds.
double all_reduce_step(TrainState& state, MetricSums& sums) {
  Communicator& world = Communicator::world();
  if (!world.distributed()) return 0;
  const double t0 = now_seconds();
  reduce_gradients(state);
  world.all_reduce_sum(sums.data(), sums.size());
  return now_seconds() - t0;
}

struct StepOutcome {
  double loss = 0, grad_norm = 0;
  MetricSums sums;
  double all_reduce_seconds = 0;
};

// One optimizer step. A step with nothing to learn from (no target token) changes nothing.
StepOutcome optimizer_step(TrainState& state, Objective& objective, const std::vector<MicroBatch>& micro_batches,
                           int64_t step, const AdamWConfig& adamw, double lr, double max_grad_norm) {
  StepGradients gradients = accumulate_step(state, objective, micro_batches, step);
  StepOutcome out;
  out.sums = std::move(gradients.sums);
  out.all_reduce_seconds = gradients.all_reduce_seconds;
  if (gradients.normaliser == 0) return out;
  out.grad_norm = apply_gradients(state, adamw, lr, max_grad_norm);
  if (optimizer_sharded(state)) out.all_reduce_seconds += state.shards.gather_seconds;
  // On a GPU the host copy is stale until a checkpoint; apply_gradients checks the device's gradient norm.
  if (!state.gpu) check_finite_parameters(*state.model, fmt::format("step {}: after the optimizer step (learning rate {})", step + 1, lr));
  out.loss = objective.step_loss(out.sums);
  return out;
}

// The steps since the last log line.
struct LogWindow {
  double loss = 0, grad_norm = 0;
  int64_t steps = 0;
  MetricSums sums;
  void add(const StepOutcome& step) {
    loss += step.loss;
    grad_norm += step.grad_norm;
    ++steps;
    sums.resize(step.sums.size(), 0.0);
    for (size_t i = 0; i < step.sums.size(); ++i) sums[i] += step.sums[i];
  }
};

// The row ids of each step's micro-batches: the epoch's order (a seeded shuffle), kept while the
// epoch lasts, so that any step, also the first after a resume, is recomputed without replay.
class StepRows {
 public:
  StepRows(const TrainingArgs& args, const StepPlan& plan, int64_t rows, bool shuffle)
      : args_(args), plan_(plan), rows_(rows), shuffle_(shuffle) {}
  std::vector<std::vector<int64_t>> of(int64_t step) {
    const int64_t epoch = step / plan_.steps_per_epoch;
    if (epoch != epoch_) {
      order_ = epoch_order(rows_, args_.seed, epoch, shuffle_);
      // dataloader_drop_last: the rows of a last, incomplete micro-batch are not trained on.
      order_.resize(std::min<size_t>(order_.size(), plan_.micro_batches_per_epoch * args_.per_device_train_batch_size));
      epoch_ = epoch;
    }
    return step_micro_batches(order_, step % plan_.steps_per_epoch, args_.per_device_train_batch_size,
                              args_.gradient_accumulation_steps);
  }

 private:
  const TrainingArgs& args_;
  const StepPlan& plan_;
  int64_t rows_;
  bool shuffle_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
};

// The metrics.jsonl row of a logging window (TRL's names) after step `step` (0-based).
nlohmann::json window_row(const Objective& objective, const LogWindow& window, int64_t step, double lr,
                          const CheckpointState& progress, const StepPlan& plan) {
  nlohmann::json row = {{"step", step + 1},
                        {"loss", window.loss / window.steps},
                        {"learning_rate", lr},
                        {"grad_norm", window.grad_norm / window.steps},
                        {"num_tokens", progress.seen_tokens},
                        {"epoch", static_cast<double>(step + 1) / plan.steps_per_epoch}};
  objective.add_metrics(window.sums, row);
  return row;
}

// The progress line: step, loss, lr, grad-norm, the objective's part, tokens/s and ETA since the start.
struct ProgressLine {
  double t_start = now_seconds();
  int64_t first_step = 0;
  double start_tokens = 0;
  void log(const nlohmann::json& row, const std::string& objective_part, double seen_tokens, int64_t total_steps) const {
    const int64_t done = row["step"].get<int64_t>();
    const double elapsed = now_seconds() - t_start;
    log_info("step {}/{}  loss {:.4f}  lr {:.3e}  grad-norm {:.3f}  {}  {:.0f} tokens/s  ETA {:.0f}s", done, total_steps,
             row["loss"].get<double>(), row["learning_rate"].get<double>(), row["grad_norm"].get<double>(),
             objective_part, (seen_tokens - start_tokens) / std::max(1e-9, elapsed),
             elapsed / static_cast<double>(done - first_step) * static_cast<double>(total_steps - done));
  }
};

// What decides the rows of each step (run_support.h's epoch_order and step_micro_batches): a resume
// under another layout continues the schedule over other rows, which HF allows and we only warn of.
nlohmann::json data_layout(const TrainConfig& config, int64_t rows, int world_size) {
  const TrainingArgs& a = config.trainer;
  return {{"rows", rows},
          {"per_device_train_batch_size", a.per_device_train_batch_size},
          {"gradient_accumulation_steps", a.gradient_accumulation_steps},
          {"seed", a.seed},
          {"dataloader_drop_last", a.dataloader_drop_last},
          {"max_length", a.max_length},
          {"packing", a.packing},
          {"packing_strategy", a.packing_strategy},
          {"dataset", config.dataset.path.empty() ? config.dataset.name : config.dataset.path},
          {"ranks", world_size}};
}

void warn_if_layout_changed(const ResumePoint& resume, const nlohmann::json& now) {
  if (resume.from.empty() || !resume.state.layout.is_object() || resume.state.layout.empty()) return;
  std::string changes;
  for (const auto& [key, value] : now.items())
    if (resume.state.layout.contains(key) && resume.state.layout[key] != value)
      changes += fmt::format("{}{} {} -> {}", changes.empty() ? "" : ", ", key, resume.state.layout[key].dump(),
                             value.dump());
  if (!changes.empty())
    log_warn("resume: {} was written under another data layout ({}): the steps from here train on other rows than "
             "the uninterrupted run would",
             resume.from, changes);
}

// transformers' eval_delay: no evaluation before that many steps (eval_strategy steps) or epochs (epoch).
bool past_eval_delay(const TrainingArgs& args, const StepPlan& plan, int64_t steps_done) {
  const double done = args.eval_strategy == "epoch" ? static_cast<double>(steps_done) / plan.steps_per_epoch
                                                    : static_cast<double>(steps_done);
  return done >= args.eval_delay;
}

// The objective's evaluation metrics as a metrics.jsonl row of their own, and a log line.
void evaluate_into(Objective& objective, TrainState& state, int64_t steps_done, std::vector<nlohmann::json>& metrics) {
  const nlohmann::json eval = objective.evaluate(state);
  nlohmann::json row = {{"step", steps_done}};
  row.update(eval);
  metrics.push_back(row);
  std::string text;
  for (const auto& [key, value] : eval.items())
    if (value.is_number()) text += fmt::format("  {} {:.4f}", key, value.get<double>());
  log_info("eval at step {}:{}", steps_done, text);
}

// The trained model into output_dir; with load_best_model_at_end, the best checkpoint's weights when an
// earlier step than the last was best (transformers' _load_best_model, then save_model).
void write_final_model(const TrainingArgs& args, const TrainState& state, const CheckpointState& progress,
                       const std::string& best_key, const std::string& tokenizer_source) {
  const std::string best_dir = args.output_dir + "/checkpoint-" + std::to_string(progress.best_step);
  if (args.load_best_model_at_end && progress.best_step >= 0 && progress.best_step != progress.global_step &&
      file_exists(best_dir + "/trainer_state/state.json")) {
    log_info("loading the best model, {} ({} {:.6g}), as the trained model", best_dir, best_key, progress.best_metric);
    SaveOptions save;
    save.tokenizer_source = tokenizer_source;
    write_model_files(load_model(best_dir), args.output_dir, save);
    return;
  }
  write_trained_model(state, args.output_dir, tokenizer_source);
}

// transformers' _determine_best_metric after an evaluation: the row's best_key value against the best so
// far (strictly better), recorded in `progress`. True when it is a new best.
bool note_best_metric(const nlohmann::json& row, const std::string& best_key, bool greater, const std::string& source,
                      CheckpointState& progress) {
  if (!row.contains(best_key) || !row[best_key].is_number()) {
    std::vector<std::string> available;
    for (const auto& [key, value] : row.items())
      if (key.rfind("eval_", 0) == 0) available.push_back(key);
    fail("{}: trainer.metric_for_best_model: {} is not among the evaluation metrics ({})", source, best_key,
         fmt::join(available, ", "));
  }
  const double value = row[best_key].get<double>();
  const bool better = progress.best_step < 0 || (greater ? value > progress.best_metric : value < progress.best_metric);
  if (better) {
    progress.best_metric = value;
    progress.best_step = progress.global_step;
  }
  return better;
}

// At every save_steps (save_strategy best: at each new best metric) and after the last step:
// metrics.jsonl, then OUTPUT_DIR/checkpoint-STEP.
bool checkpoint_if_due(const TrainingArgs& args, const StepPlan& plan, bool last_step, bool new_best,
                       const std::string& metrics_path, const std::vector<nlohmann::json>& metrics,
                       const TrainState& state, const CheckpointState& progress, const std::string& tokenizer_source) {
  const bool due = (plan.save_steps > 0 && progress.global_step % plan.save_steps == 0) ||
                   (new_best && args.save_strategy == "best");
  if (!due && !last_step) return false;
  if (Communicator::world().is_root()) write_jsonl(metrics_path, metrics);
  save_train_checkpoint(state, args.output_dir, progress, tokenizer_source, args.save_total_limit);
  return true;
}

}  // namespace

namespace {

// TRL users know `nan` losses; here a non-finite loss or gradient stops the run before the
// optimizer step that would spread it into every weight, so the last checkpoint stays the last
// good one.
void stop_if_not_finite(const TrainState& state, const MetricSums& sums, int64_t step, size_t micro, size_t micros) {
  const std::string where = fmt::format("step {}, micro-batch {} of {}", step + 1, micro + 1, micros);
  const char* advice = "; stopped before the optimizer step (weights and checkpoints untouched): lower "
                       "learning_rate, check adam_beta*/max_grad_norm, or look for a bad example in this micro-batch";
  for (double v : sums)
    if (!std::isfinite(v)) fail("{}: the loss is {}{}", where, v, advice);
  if (state.gpu) return;  // the device's gradients: apply_gradients checks their norm
  if (auto i = first_non_finite(state.grads.data(), state.grads.size())) {
    const TensorSlot* slot = nullptr;
    for (const auto& s : state.model->layout.slots)
      if (static_cast<int64_t>(*i) >= s.offset && static_cast<int64_t>(*i) < s.offset + s.numel) slot = &s;
    fail("{}: the gradient of {} is {}{}", where, slot ? slot->name : "a parameter", state.grads[*i], advice);
  }
}

}  // namespace

StepGradients accumulate_step(TrainState& state, Objective& objective, const std::vector<MicroBatch>& micro_batches,
                              int64_t step) {
  StepGradients out;
  out.sums.assign(objective.metric_slots(), 0.0);
  out.normaliser = step_normaliser(micro_batches);
  zero_gradients(state);
  if (out.normaliser == 0) return out;
  for (size_t i = 0; i < micro_batches.size(); ++i) {
    const int64_t index = micro_batches[i].index >= 0 ? micro_batches[i].index : static_cast<int64_t>(i);
    objective.accumulate(state, micro_batches[i], {step, index, out.normaliser}, out.sums);
    stop_if_not_finite(state, out.sums, step, i, micro_batches.size());
  }
  out.all_reduce_seconds = all_reduce_step(state, out.sums);
  objective.pool_step_metrics(out.sums);
  return out;
}

void check_token_ids(const std::vector<int32_t>& ids, const ModelConfig& config, const std::string& source) {
  for (int32_t t : ids)
    if (t >= config.vocab_size) fail("{}: token id {} out of range (vocab size {})", source, t, config.vocab_size);
}

namespace {

// The training arguments of the whole job: N ranks accumulate N x gradient_accumulation_steps
// micro-batches per optimizer step between them.
TrainingArgs global_batch_args(const TrainingArgs& args, int world_size) {
  TrainingArgs global = args;
  global.gradient_accumulation_steps *= world_size;
  return global;
}

// This rank's micro-batches of a step (rank_share of the step's row groups), each knowing its place
// among all of them; `seen_tokens` grows by the input tokens of every rank's.
std::vector<MicroBatch> rank_micro_batches(const Objective& objective, const std::vector<std::vector<int64_t>>& step_rows,
                                           double& seen_tokens) {
  Communicator& world = Communicator::world();
  std::vector<MicroBatch> micro_batches;
  int64_t input_tokens = 0;
  for (size_t k : rank_share(step_rows.size(), world.size(), world.rank())) {
    micro_batches.push_back(objective.micro_batch(step_rows[k]));
    micro_batches.back().index = static_cast<int64_t>(k);
    input_tokens += micro_batches.back().input_tokens;
  }
  world.all_reduce_sum(&input_tokens, 1);
  seen_tokens += static_cast<double>(input_tokens);
  return micro_batches;
}

// Rank 0 loads first: it removes what interrupted checkpoint writes left behind; then the others.
ResumePoint resume_every_rank(const TrainConfig& config, bool requested, Model& model, AdamWState& adam) {
  Communicator& world = Communicator::world();
  ResumePoint point;
  if (world.is_root()) point = resume_if_requested(config, requested, model, adam);
  world.barrier();
  if (!world.is_root()) point = resume_if_requested(config, requested, model, adam);
  return point;
}

}  // namespace

TrainerResult run_trainer(const TrainConfig& config, const TrainerRun& run, Model& model, Objective& objective) {
  Communicator& world = Communicator::world();
  const TrainingArgs& args = config.trainer;
  const TrainingArgs global_args = global_batch_args(args, world.size());
  const StepPlan plan = plan_steps(global_args, objective.rows());
  const Precision precision = args.bf16 ? Precision::BF16 : Precision::FP32;
  const Schedule schedule = make_schedule(args.lr_scheduler_type, args.lr_scheduler_kwargs, args.learning_rate);
  if (!schedule.ignored_kwargs.empty() && world.is_root())
    log_warn("lr_scheduler_kwargs {}: {} takes none; ignored, as transformers' get_scheduler ignores them",
             fmt::join(schedule.ignored_kwargs, ", "), args.lr_scheduler_type);
  const AdamWConfig adamw{args.learning_rate, args.adam_beta1, args.adam_beta2, args.adam_epsilon, args.weight_decay};

  AdamWState adam;
  const ResumePoint resume = resume_every_rank(config, run.resume, model, adam);
  CheckpointState progress = resume.state;
  objective.restore(progress.extra, resume.from);
  TrainState state(model, precision);
  state.adam = std::move(adam);
  // ZeRO-1 first: on a device, its buffers are then created with the moments of this rank's slice only
  if (args.zero_stage == 1) shard_optimizer(state);
  if (run.cuda_device >= 0) {
    // the largest micro-batch: a training or evaluation batch of rows of at most max_length tokens
    const MicroBatchShape largest{
        run.rows_per_example * std::max(args.per_device_train_batch_size, args.per_device_eval_batch_size),
        args.max_length};
    use_cuda_device(state, run.cuda_device, largest);
    // every rank's GPU gradients summed before the device optimizer step (NCCL, rank 0's id via MPI)
    if (world.distributed()) state.device_world = open_nccl_communicator(world, run.cuda_device);
  }
  if (world.is_root()) {
    create_directories_or_fail(args.output_dir, config.source + ": trainer.output_dir");
    mark_training_output(args.output_dir, run.name);  // check_output_dir let this run write here
    remove_interrupted_saves(args.output_dir);  // a run killed mid-save into this directory before
  }
  const std::string metrics_path = args.output_dir + "/metrics.jsonl";
  std::vector<nlohmann::json> metrics = previous_metrics(metrics_path, resume);
  log_info("{}: {}, {} steps ({} per epoch), effective batch {}{}{}, lr {}, {}{}", run.name, objective.describe(),
           plan.total_steps, plan.steps_per_epoch,
           global_args.per_device_train_batch_size * global_args.gradient_accumulation_steps,
           world.distributed() ? fmt::format(" over {} ranks", world.size()) : "",
           optimizer_sharded(state) ? " (ZeRO-1: AdamW state sharded)" : "", args.learning_rate,
           precision_name(precision), resume.from.empty() ? "" : ", resumed from " + resume.from);

  progress.layout = data_layout(config, objective.rows(), world.size());
  if (world.is_root()) warn_if_layout_changed(resume, progress.layout);
  if (!resume.from.empty() && progress.global_step >= plan.total_steps)
    log_info("note: {}: {} is at step {}, at or past this run's {} steps: nothing is left to train, and the model "
             "written is the checkpoint's (raise trainer.max_steps or num_train_epochs to train on)",
             run.name, resume.from, progress.global_step, plan.total_steps);

  const std::string best_key = best_metric_key(args);
  const bool greater_is_better = best_metric_greater_is_better(args);
  // reduce_lr_on_plateau: the optimizer's learning rate, moved by each evaluation's best_key value
  std::optional<PlateauState> plateau_lr;
  if (schedule.kind == ScheduleKind::ReduceOnPlateau) {
    if (!objective.has_eval_data() || plan.eval_steps <= 0)
      fail("{}: trainer.lr_scheduler_type: reduce_lr_on_plateau follows an evaluation metric: it needs an "
           "eval_strategy and evaluation data (dataset.eval_path or dataset.test_size), as transformers requires",
           config.source);
    if (plan.warmup_steps > 0 && world.is_root())
      log_warn("{}: trainer.warmup_steps / warmup_ratio: reduce_lr_on_plateau has no warmup; ignored, as "
               "transformers' get_scheduler ignores it", config.source);
    plateau_lr = progress.lr_scheduler.is_null()
                     ? plateau_start(schedule, args.learning_rate)
                     : plateau_from_json(progress.lr_scheduler, schedule,
                                         resume.from + "/trainer_state/state.json: lr_scheduler");
  }
  if (args.load_best_model_at_end && args.save_strategy == "steps" && plan.eval_steps > 0 &&
      plan.save_steps % plan.eval_steps != 0)
    fail("{}: trainer.load_best_model_at_end requires the saving steps to be a round multiple of the evaluation "
         "steps, but found {}, which is not a round multiple of {} (as transformers)",
         config.source, plan.save_steps, plan.eval_steps);
  if (args.eval_on_start) {
    // transformers' Trainer evaluates before its first step whenever train() starts, a resumed run too
    if (!objective.has_eval_data())
      fail("{}: trainer.eval_on_start: there is no evaluation data (give dataset.eval_path or dataset.test_size)",
           config.source);
    evaluate_into(objective, state, progress.global_step, metrics);
    if (world.is_root()) write_jsonl(metrics_path, metrics);
  }

  StopSignals signals;
  StepRows step_rows(global_args, plan, objective.rows(), run.shuffle);
  LogWindow window;
  const ProgressLine progress_line{.first_step = progress.global_step, .start_tokens = progress.seen_tokens};
  TrainerResult result;
  const double t_loop = now_seconds();
  double all_reduce_seconds = 0;
  for (int64_t step = progress.global_step; step < plan.total_steps; ++step) {
    const std::vector<MicroBatch> micro_batches = rank_micro_batches(objective, step_rows.of(step), progress.seen_tokens);
    const double lr = plateau_lr ? plateau_lr->lr
                                 : args.learning_rate * schedule_factor(schedule, step, plan.warmup_steps, plan.total_steps);
    const StepOutcome outcome = optimizer_step(state, objective, micro_batches, step, adamw, lr, args.max_grad_norm);
    all_reduce_seconds += outcome.all_reduce_seconds;
    window.add(outcome);
    progress.global_step = step + 1;
    objective.step_end(state, progress.global_step);
    const bool last = step + 1 == plan.total_steps;
    // transformers' _maybe_log_save_evaluate: log, then evaluate, then save, each on its own interval
    // (logging_first_step: step 1 too, whatever the logging strategy, as DefaultFlowCallback)
    const bool log_now = (step + 1) % plan.logging_steps == 0 || last || (step == 0 && args.logging_first_step);
    const bool eval_now = plan.eval_steps > 0 && objective.has_eval_data() &&
                          ((step + 1) % plan.eval_steps == 0 || last) && past_eval_delay(args, plan, step + 1);
    if (log_now) {
      const nlohmann::json row = window_row(objective, window, step, lr, progress, plan);
      result.final_loss = row["loss"].get<double>();
      progress_line.log(row, objective.progress(row), progress.seen_tokens, plan.total_steps);
      metrics.push_back(row);
      window = LogWindow{};
    }
    bool new_best = false;
    if (eval_now) {
      evaluate_into(objective, state, step + 1, metrics);
      if (!best_key.empty()) new_best = note_best_metric(metrics.back(), best_key, greater_is_better, config.source, progress);
      // transformers' _evaluate: ReduceLROnPlateau.step(metric) after each evaluation (not eval_on_start's)
      if (plateau_lr) {
        plateau_step(schedule, *plateau_lr, metrics.back()[best_key].get<double>());
        progress.lr_scheduler = plateau_to_json(*plateau_lr);
      }
    }
    if ((log_now || eval_now) && world.is_root()) write_jsonl(metrics_path, metrics);
    progress.extra = objective.state();
    progress.tensors = objective.state_tensors();
    const bool saved =
        checkpoint_if_due(args, plan, last, new_best, metrics_path, metrics, state, progress, run.tokenizer_source);
    // Every rank stops after the same step when any of them caught a signal.
    const int64_t stop_signal = world.all_reduce_max(signals.caught());
    if (stop_signal != 0 && !last) {
      if (!saved) {
        if (world.is_root()) write_jsonl(metrics_path, metrics);
        save_train_checkpoint(state, args.output_dir, progress, run.tokenizer_source, args.save_total_limit);
      }
      world.barrier();  // the checkpoint is whole before any rank ends the job
      throw StoppedBySignal(fmt::format("{}: stopped by signal {} after step {} of {}; checkpoint-{} written in {}",
                                        run.name, stop_signal, step + 1, plan.total_steps, step + 1, args.output_dir));
    }
  }
  if (world.is_root()) write_final_model(args, state, progress, best_key, run.tokenizer_source);
  world.barrier();  // the model is written when any rank returns
  result.steps = progress.global_step;
  log_info("{}: done, {} steps; model written to {}", run.name, result.steps, args.output_dir);
  if (world.distributed())
    log_info("{}: {} ranks; the gradient {} took {:.2f} s of {:.2f} s of training ({:.1f}%)", run.name,
             world.size(), optimizer_sharded(state) ? "reduce-scatter and parameter all-gather" : "all-reduce",
             all_reduce_seconds, now_seconds() - t_loop,
             100.0 * all_reduce_seconds / std::max(1e-9, now_seconds() - t_loop));
  return result;
}

}  // namespace tt
