#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include <fmt/ranges.h>

#include "core/error.h"
#include "core/number.h"

namespace tt {

namespace {

struct ScheduleName {
  const char* name;
  ScheduleKind kind;
  std::vector<std::string> kwargs;  // its parameters
  bool passes_kwargs = true;         // false: get_scheduler does not pass lr_scheduler_kwargs to it
};

const std::vector<ScheduleName>& schedule_names() {
  static const std::vector<ScheduleName> names = {
      {"constant", ScheduleKind::Constant, {}, false},
      {"constant_with_warmup", ScheduleKind::ConstantWithWarmup, {}, false},
      {"linear", ScheduleKind::Linear, {}},
      {"cosine", ScheduleKind::Cosine, {"num_cycles"}},
      {"cosine_with_restarts", ScheduleKind::CosineWithRestarts, {"num_cycles"}},
      {"polynomial", ScheduleKind::Polynomial, {"lr_end", "power"}},
      {"inverse_sqrt", ScheduleKind::InverseSqrt, {}, false},
      {"cosine_with_min_lr", ScheduleKind::CosineWithMinLr, {"num_cycles", "min_lr", "min_lr_rate"}},
      {"cosine_warmup_with_min_lr", ScheduleKind::CosineWarmupWithMinLr,
       {"num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate"}},
      {"warmup_stable_decay", ScheduleKind::WarmupStableDecay,
       {"num_decay_steps", "num_stable_steps", "warmup_type", "decay_type", "min_lr_ratio", "num_cycles"}},
      {"reduce_lr_on_plateau", ScheduleKind::ReduceOnPlateau,
       {"mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps"}},
  };
  return names;
}

double kwarg_number(const std::string& key, const std::string& text) {
  const std::optional<double> v = parse_double(text);
  if (!v || !std::isfinite(*v)) fail("lr_scheduler_kwargs.{}: expected a number, got '{}'", key, text);
  return *v;
}

int64_t kwarg_steps(const std::string& key, const std::string& text) {
  const double v = kwarg_number(key, text);
  if (v < 0 || v != std::floor(v) || v > 9.0e15)
    fail("lr_scheduler_kwargs.{}: expected a whole number of steps, got '{}'", key, text);
  return static_cast<int64_t>(v);
}

// warmup_type / decay_type of warmup_stable_decay
std::string kwarg_shape(const std::string& key, const std::string& text) {
  if (text != "linear" && text != "cosine" && text != "1-sqrt")
    fail("lr_scheduler_kwargs.{}: '{}' (transformers takes linear, cosine or 1-sqrt)", key, text);
  return text;
}

// warmup_stable_decay's curves: `progress` in [0, 1) of the warmup (rising) or the decay (falling).
double wsd_curve(const std::string& shape, double progress, bool rising, double num_cycles) {
  if (rising) {
    if (shape == "cosine") return 0.5 * (1.0 - std::cos(std::numbers::pi * progress));
    if (shape == "1-sqrt") return 1.0 - std::sqrt(1.0 - progress);
    return progress;
  }
  if (shape == "cosine") return 0.5 * (1.0 + std::cos(std::numbers::pi * num_cycles * 2.0 * progress));
  if (shape == "1-sqrt") return 1.0 - std::sqrt(progress);
  return 1.0 - progress;
}

// A reduce_lr_on_plateau kwarg, checked as torch's ReduceLROnPlateau checks it.
void read_plateau_kwarg(Schedule& s, const std::string& key, const std::string& text) {
  if (key == "mode") {
    if (text != "min" && text != "max") fail("lr_scheduler_kwargs.mode: '{}' is unknown (torch takes min or max)", text);
    s.plateau_max = text == "max";
  } else if (key == "threshold_mode") {
    if (text != "rel" && text != "abs")
      fail("lr_scheduler_kwargs.threshold_mode: '{}' is unknown (torch takes rel or abs)", text);
    s.threshold_abs = text == "abs";
  } else if (key == "factor") {
    s.factor = kwarg_number(key, text);
    if (!(s.factor < 1.0)) fail("lr_scheduler_kwargs.factor: {} should be < 1.0 (as torch)", s.factor);
    if (!(s.factor >= 0.0)) fail("lr_scheduler_kwargs.factor: {} must not be negative", s.factor);
  } else if (key == "patience" || key == "cooldown") {
    (key == "patience" ? s.patience : s.cooldown) = kwarg_steps(key, text);
  } else {
    const double v = kwarg_number(key, text);
    if (v < 0) fail("lr_scheduler_kwargs.{}: {} must not be negative", key, v);
    (key == "threshold" ? s.threshold : key == "min_lr" ? s.min_lr : s.eps) = v;
  }
}

}  // namespace

Schedule make_schedule(const std::string& name, const std::map<std::string, std::string>& kwargs, double learning_rate) {
  const ScheduleName* found = nullptr;
  std::string supported;
  for (const auto& n : schedule_names()) {
    if (n.name == name) found = &n;
    supported += std::string(supported.empty() ? "" : ", ") + n.name;
  }
  if (!found) fail("lr_scheduler_type: unsupported '{}' (supported: {})", name, supported);
  Schedule s;
  s.kind = found->kind;
  s.lr_init = learning_rate;
  if (s.kind == ScheduleKind::CosineWithRestarts) s.num_cycles = 1.0;
  std::optional<double> min_lr, min_lr_rate;
  for (const auto& [key, text] : kwargs) {
    if (!found->passes_kwargs) {
      s.ignored_kwargs.push_back(key);
      continue;
    }
    if (std::find(found->kwargs.begin(), found->kwargs.end(), key) == found->kwargs.end())
      fail("lr_scheduler_kwargs.{}: not a parameter of {} (it takes {})", key, name,
           found->kwargs.empty() ? std::string("none") : fmt::format("{}", fmt::join(found->kwargs, ", ")));
    if (s.kind == ScheduleKind::ReduceOnPlateau) {
      read_plateau_kwarg(s, key, text);
      continue;
    }
    if (key == "num_cycles") s.num_cycles = kwarg_number(key, text);
    else if (key == "min_lr") min_lr = kwarg_number(key, text);
    else if (key == "min_lr_rate") min_lr_rate = kwarg_number(key, text);
    else if (key == "warmup_lr_rate") s.warmup_lr_rate = kwarg_number(key, text);
    else if (key == "lr_end") s.lr_end = kwarg_number(key, text);
    else if (key == "power") s.power = kwarg_number(key, text);
    else if (key == "num_decay_steps") s.num_decay_steps = kwarg_steps(key, text);
    else if (key == "num_stable_steps") s.num_stable_steps = kwarg_steps(key, text);
    else if (key == "warmup_type") s.warmup_type = kwarg_shape(key, text);
    else if (key == "decay_type") s.decay_type = kwarg_shape(key, text);
    else if (key == "min_lr_ratio") s.min_lr_ratio = kwarg_number(key, text);
  }
  if (s.kind == ScheduleKind::CosineWithMinLr || s.kind == ScheduleKind::CosineWarmupWithMinLr) {
    if (min_lr && min_lr_rate) fail("lr_scheduler_kwargs: give one of min_lr or min_lr_rate, not both (as transformers)");
    if (!min_lr && !min_lr_rate)
      fail("lr_scheduler_kwargs: {} needs min_lr or min_lr_rate (as transformers)", name);
    if (min_lr && learning_rate <= 0)
      fail("lr_scheduler_kwargs.min_lr: needs a positive learning_rate (it is min_lr / learning_rate)");
    s.min_lr_rate = min_lr ? *min_lr / learning_rate : *min_lr_rate;
  }
  if (s.kind == ScheduleKind::Polynomial && !(learning_rate > s.lr_end))
    fail("lr_scheduler_kwargs.lr_end: {} must be smaller than the learning rate ({}), as transformers requires",
         s.lr_end, learning_rate);
  if (s.kind == ScheduleKind::WarmupStableDecay && !kwargs.count("num_decay_steps"))
    fail("lr_scheduler_kwargs: warmup_stable_decay needs num_decay_steps (as transformers)");
  return s;
}

PlateauState plateau_start(const Schedule& schedule, double learning_rate) {
  PlateauState st;
  st.lr = learning_rate;
  st.best = schedule.plateau_max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  return st;
}

void plateau_step(const Schedule& sc, PlateauState& st, double metric) {
  st.last_epoch += 1;
  const double rel = sc.plateau_max ? 1.0 + sc.threshold : 1.0 - sc.threshold;
  const bool better = sc.plateau_max ? (sc.threshold_abs ? metric > st.best + sc.threshold : metric > st.best * rel)
                                     : (sc.threshold_abs ? metric < st.best - sc.threshold : metric < st.best * rel);
  if (better) {
    st.best = metric;
    st.num_bad_epochs = 0;
  } else {
    st.num_bad_epochs += 1;
  }
  if (st.cooldown_counter > 0) {
    st.cooldown_counter -= 1;
    st.num_bad_epochs = 0;
  }
  if (st.num_bad_epochs > sc.patience) {
    const double reduced = std::max(st.lr * sc.factor, sc.min_lr);
    if (st.lr - reduced > sc.eps) st.lr = reduced;
    st.cooldown_counter = sc.cooldown;
    st.num_bad_epochs = 0;
  }
}

nlohmann::json plateau_to_json(const PlateauState& st) {
  return {{"lr", st.lr},
          {"best", std::isfinite(st.best) ? nlohmann::json(st.best) : nlohmann::json(nullptr)},
          {"num_bad_epochs", st.num_bad_epochs},
          {"cooldown_counter", st.cooldown_counter},
          {"last_epoch", st.last_epoch}};
}

PlateauState plateau_from_json(const nlohmann::json& j, const Schedule& schedule, const std::string& where) {
  PlateauState st = plateau_start(schedule, 0.0);
  if (!j.is_object()) fail("{}: expected the reduce_lr_on_plateau state (an object)", where);
  const auto number = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_number() || !std::isfinite(j[key].get<double>()))
      fail("{}: '{}' must be a finite number", where, key);
    return j[key].get<double>();
  };
  const auto count = [&](const char* key) {
    const double v = number(key);
    if (v < 0 || v != std::floor(v) || v > 9.0e15) fail("{}: '{}' must be a whole number >= 0", where, key);
    return static_cast<int64_t>(v);
  };
  st.lr = number("lr");
  if (st.lr < 0) fail("{}: 'lr' must not be negative", where);
  if (j.contains("best") && !j["best"].is_null()) st.best = number("best");
  st.num_bad_epochs = count("num_bad_epochs");
  st.cooldown_counter = count("cooldown_counter");
  st.last_epoch = count("last_epoch");
  return st;
}

double schedule_factor(const Schedule& sc, int64_t step, int64_t warmup, int64_t total) {
  const double s = static_cast<double>(step), w = static_cast<double>(warmup), t = static_cast<double>(total);
  const double linear_warmup = s / static_cast<double>(std::max<int64_t>(1, warmup));
  const double progress = (s - w) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  switch (sc.kind) {
    case ScheduleKind::Constant:
      return 1.0;
    case ScheduleKind::ConstantWithWarmup:
      return step < warmup ? linear_warmup : 1.0;
    case ScheduleKind::Linear:
      return step < warmup ? linear_warmup : std::max(0.0, (t - s) / static_cast<double>(std::max<int64_t>(1, total - warmup)));
    case ScheduleKind::Cosine:
    case ScheduleKind::CosineWithMinLr: {
      if (step < warmup) return linear_warmup;
      const double factor = 0.5 * (1.0 + std::cos(std::numbers::pi * sc.num_cycles * 2.0 * progress));
      return std::max(0.0, factor * (1.0 - sc.min_lr_rate) + sc.min_lr_rate);
    }
    case ScheduleKind::CosineWithRestarts:
      if (step < warmup) return linear_warmup;
      if (progress >= 1.0) return 0.0;
      return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * std::fmod(sc.num_cycles * progress, 1.0))));
    case ScheduleKind::Polynomial: {
      if (step < warmup) return linear_warmup;
      if (step > total) return sc.lr_end / sc.lr_init;
      const double remaining = 1.0 - (s - w) / (t - w);
      return ((sc.lr_init - sc.lr_end) * std::pow(remaining, sc.power) + sc.lr_end) / sc.lr_init;
    }
    case ScheduleKind::InverseSqrt: {
      if (step < warmup) return linear_warmup;
      const double timescale = warmup > 0 ? w : 10000.0;
      return 1.0 / std::sqrt((s + timescale - w) / timescale);
    }
    case ScheduleKind::CosineWarmupWithMinLr: {
      if (step < warmup) {
        if (!sc.warmup_lr_rate) return (s + 1.0) / std::max(1.0, w);
        return *sc.warmup_lr_rate + (1.0 - *sc.warmup_lr_rate) * s / std::max(1.0, w - 1.0);
      }
      const double p = (s - w + 1.0) / std::max(1.0, t - w);
      const double factor = 0.5 * (1.0 + std::cos(std::numbers::pi * sc.num_cycles * 2.0 * p));
      return std::max(0.0, factor * (1.0 - sc.min_lr_rate) + sc.min_lr_rate);
    }
    case ScheduleKind::ReduceOnPlateau:
      return 1.0;  // moved by evaluations, not steps: plateau_step
    case ScheduleKind::WarmupStableDecay: {
      const int64_t stable = sc.num_stable_steps ? *sc.num_stable_steps : total - warmup - sc.num_decay_steps;
      if (step < warmup)
        return std::max(0.0, wsd_curve(sc.warmup_type, linear_warmup, true, sc.num_cycles) * (1.0 - sc.min_lr_ratio) +
                                 sc.min_lr_ratio);
      if (step < warmup + stable) return 1.0;
      if (step < warmup + stable + sc.num_decay_steps) {
        const double p = (s - w - static_cast<double>(stable)) / static_cast<double>(std::max<int64_t>(1, sc.num_decay_steps));
        return std::max(0.0, wsd_curve(sc.decay_type, p, false, sc.num_cycles) * (1.0 - sc.min_lr_ratio) + sc.min_lr_ratio);
      }
      return sc.min_lr_ratio;
    }
  }
  return 1.0;
}

int64_t resolve_warmup_steps(double warmup_steps, double warmup_ratio, int64_t total_steps) {
  const double total = static_cast<double>(total_steps);
  if (warmup_steps >= 1) return static_cast<int64_t>(warmup_steps);
  if (warmup_steps > 0) return static_cast<int64_t>(std::ceil(warmup_steps * total));
  return static_cast<int64_t>(std::ceil(warmup_ratio * total));
}

}  // namespace tt
