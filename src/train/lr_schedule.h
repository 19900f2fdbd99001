// The learning-rate schedules of transformers' get_scheduler (optimization.py), by their
// lr_scheduler_type names, with the lr_scheduler_kwargs each takes, and the Trainer's warmup steps.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt {

enum class ScheduleKind {
  Constant,               // constant
  ConstantWithWarmup,     // constant_with_warmup
  Linear,                 // linear
  Cosine,                 // cosine: num_cycles (0.5)
  CosineWithRestarts,     // cosine_with_restarts: num_cycles (1)
  Polynomial,             // polynomial: lr_end (1e-7), power (1.0)
  InverseSqrt,            // inverse_sqrt (timescale = the warmup steps, or 10000 without warmup)
  CosineWithMinLr,        // cosine_with_min_lr: min_lr or min_lr_rate, num_cycles (0.5)
  CosineWarmupWithMinLr,  // cosine_warmup_with_min_lr: the same and warmup_lr_rate
  WarmupStableDecay,      // warmup_stable_decay: num_decay_steps, num_stable_steps, warmup_type, decay_type,
                          // min_lr_ratio, num_cycles
  ReduceOnPlateau,        // reduce_lr_on_plateau: torch's ReduceLROnPlateau, stepped by each evaluation's
                          // metric (mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps)
};

struct Schedule {
  ScheduleKind kind = ScheduleKind::Linear;
  double num_cycles = 0.5;
  double min_lr_rate = 0.0;
  std::optional<double> warmup_lr_rate;
  double lr_end = 1e-7, power = 1.0, lr_init = 0.0;  // polynomial (lr_init: the learning rate)
  int64_t num_decay_steps = 0;
  std::optional<int64_t> num_stable_steps;  // unset: total - warmup - decay
  std::string warmup_type = "linear", decay_type = "cosine";
  double min_lr_ratio = 0.0;
  // reduce_lr_on_plateau (torch's ReduceLROnPlateau defaults)
  bool plateau_max = false;         // mode: "min" or "max"
  double factor = 0.1;
  int64_t patience = 10;
  double threshold = 1e-4;
  bool threshold_abs = false;       // threshold_mode: "rel" or "abs"
  int64_t cooldown = 0;
  double min_lr = 0.0, eps = 1e-8;
  // lr_scheduler_kwargs that transformers' get_scheduler does not pass to this schedule (constant,
  // constant_with_warmup and inverse_sqrt): read and ignored, as there; the trainer warns.
  std::vector<std::string> ignored_kwargs;
};

// The schedule `name` with `kwargs` (lr_scheduler_kwargs: each value's text), checked as transformers
// checks them: a key the schedule does not take, a missing or doubled min_lr / min_lr_rate, lr_end not
// below the learning rate, an unknown warmup_type or decay_type. Errors start with the key
// ("lr_scheduler_type: ...", "lr_scheduler_kwargs.min_lr: ...").
Schedule make_schedule(const std::string& name, const std::map<std::string, std::string>& kwargs, double learning_rate);

// The multiplier of the base learning rate at optimizer step `step` (0-based), as transformers' lambdas.
double schedule_factor(const Schedule& schedule, int64_t step, int64_t warmup_steps, int64_t total_steps);

// torch's ReduceLROnPlateau as it changes (what transformers' scheduler.pt keeps of it): the
// optimizer's learning rate, the best metric (infinite before the first), the evaluations without
// improvement and the cooldown left.
struct PlateauState {
  double lr = 0;
  double best = 0;
  int64_t num_bad_epochs = 0, cooldown_counter = 0, last_epoch = 0;
};

// The state before any evaluation: `learning_rate`, and the worst metric of the mode.
PlateauState plateau_start(const Schedule& schedule, double learning_rate);
// ReduceLROnPlateau.step(metric): transformers' Trainer calls it after each evaluation (not the one of
// eval_on_start) with metric_for_best_model's value (eval_loss by default). A NaN never improves.
void plateau_step(const Schedule& schedule, PlateauState& state, double metric);
// As trainer_state/state.json keeps it ("best": null while infinite); from_json checks every field
// and names `where` in its errors.
nlohmann::json plateau_to_json(const PlateauState& state);
PlateauState plateau_from_json(const nlohmann::json& json, const Schedule& schedule, const std::string& where);

// transformers: warmup_steps >= 1 is int(warmup_steps); in (0, 1) a ratio of the total (transformers 5),
// ceil(warmup_steps * total_steps); 0 falls back to ceil(warmup_ratio * total_steps) (transformers 4's key).
int64_t resolve_warmup_steps(double warmup_steps, double warmup_ratio, int64_t total_steps);

}  // namespace tt
