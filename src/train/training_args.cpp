#include "train/training_args.h"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "core/log.h"
#include "core/number.h"
#include "train/sft_data.h"
#include "io/yaml.h"
#include "kernels/device.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"
#include "train/preference.h"
#include "train/preference_loss.h"

namespace tt {

namespace {

// Keys of HF TrainingArguments / TRL configs that only concern the Python stack (devices, workers,
// logging services, the hub). Accepted with a note: they do not change what tinythink computes.
const std::set<std::string>& python_only_keys() {
  static const std::set<std::string> keys = {
      "dataloader_num_workers", "dataloader_persistent_workers", "dataloader_pin_memory",
      "dataloader_prefetch_factor", "report_to", "push_to_hub", "hub_model_id", "hub_strategy", "hub_private_repo",
      "hub_token", "ddp_find_unused_parameters", "ddp_backend", "torch_compile", "tf32", "fp16_full_eval",
      "num_proc", "logging_dir", "eval_accumulation_steps",
      "remove_unused_columns", "optim", "deepspeed", "fsdp", "local_rank", "disable_tqdm", "model_init_kwargs",
      "ref_model_init_kwargs", "use_cpu", "no_cuda", "bf16_full_eval",
      "torch_empty_cache_steps", "gradient_checkpointing_kwargs", "save_safetensors", "save_only_model",
      "include_tokens_per_second", "pad_token", "use_logits_to_keep", "pad_to_multiple_of", "do_train", "do_eval",
      "do_predict", "save_on_each_node", "skip_memory_metrics", "logging_nan_inf_filter", "ddp_timeout",
      "torch_compile_backend", "torch_compile_mode", "include_num_input_tokens_seen", "eval_do_concat_batches",
      "batch_eval_metrics", "accelerator_config", "hub_revision", "use_mps_device", "jit_mode_eval"};
  return keys;
}

// Keys of TRL's SFTConfig / DPOConfig and transformers' TrainingArguments that tinythink does not
// implement, with their default: a config that spells out the default (or null) loads, as TRL's own
// configs and dumps often do; another value is refused, since it would change what is computed.
const std::map<std::string, std::string>& default_only_keys() {
  static const std::map<std::string, std::string> keys = {
      // DPOConfig
      {"generate_during_eval", "false"}, {"tools", "null"}, {"force_use_ref_model", "false"},
      {"model_adapter_name", "null"}, {"ref_adapter_name", "null"}, {"label_pad_token_id", "-100"},
      {"padding_value", "null"}, {"is_encoder_decoder", "null"},
      {"disable_dropout", "true"},
      // SFTConfig
      {"chat_template_path", "null"}, {"dataset_kwargs", "null"}, {"eos_token", "null"}, {"shuffle_dataset", "false"},
      {"activation_offloading", "false"},
      // TrainingArguments
      {"label_smoothing_factor", "0.0"}, {"group_by_length", "false"}, {"auto_find_batch_size", "false"},
      {"ignore_data_skip", "false"},
      {"optim_args", "null"}, {"adafactor", "false"}, {"label_names", "null"},
      {"past_index", "-1"}, {"full_determinism", "false"}, {"prediction_loss_only", "false"},
      {"restore_callback_states_from_checkpoint", "false"}, {"average_tokens_across_devices", "true"}};
  return keys;
}

std::string scalar(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) fail("{}: expected a single value", where);
  return node.Scalar();
}

double as_double(const YAML::Node& node, const std::string& where) {
  std::string s = scalar(node, where);
  const std::optional<double> v = parse_double(s);
  if (!v || !std::isfinite(*v)) fail("{}: expected a number, got '{}'", where, s);
  return *v;
}

int64_t as_int(const YAML::Node& node, const std::string& where) {
  double v = as_double(node, where);
  if (v != std::floor(v)) fail("{}: expected an integer, got '{}'", where, scalar(node, where));
  if (std::fabs(v) > 9007199254740992.0) fail("{}: {} is too large (at most 2^53)", where, scalar(node, where));
  return static_cast<int64_t>(v);
}

bool as_bool(const YAML::Node& node, const std::string& where) {
  std::string s = scalar(node, where);
  if (s == "true" || s == "True" || s == "1") return true;
  if (s == "false" || s == "False" || s == "0") return false;
  fail("{}: expected true or false, got '{}'", where, s);
}

bool is_null(const YAML::Node& node) { return node.IsNull() || (node.IsScalar() && (node.Scalar() == "null" || node.Scalar() == "None" || node.Scalar() == "~")); }

// Keys whose setter reads null itself (TRL's None means none or off, not "the default"), so that
// `--set KEY=null` also undoes a value the YAML gave.
bool reads_null(const std::string& key) {
  return key == "max_prompt_length" || key == "max_completion_length" || key == "loss_weights" || key == "ld_alpha" ||
         key == "rpo_alpha" || key == "precompute_ref_batch_size" || key == "lr_scheduler_kwargs" ||
         key == "metric_for_best_model" || key == "greater_is_better";
}

// Whether `node` is the default `value` of default_only_keys (null, a boolean, a number, a string or {}).
bool is_default_value(const YAML::Node& node, const std::string& value) {
  if (is_null(node)) return true;
  if (value == "{}") return (node.IsMap() || node.IsSequence()) && node.size() == 0;
  if (!node.IsScalar()) return false;
  const std::string& s = node.Scalar();
  if (value == "true" || value == "false") return s == value || s == (value == "true" ? "True" : "False");
  char* end = nullptr;
  const double want = std::strtod(value.c_str(), &end);
  if (end != value.c_str() && *end == 0) {
    const double got = std::strtod(s.c_str(), &end);
    return end != s.c_str() && *end == 0 && got == want;
  }
  return s == value;
}

// lr_scheduler_kwargs: a mapping of scalars, or (as transformers' TrainingArguments takes a str) a JSON
// object in a string; null or {} is none.
std::map<std::string, std::string> scheduler_kwargs(const YAML::Node& node, const std::string& where) {
  std::map<std::string, std::string> out;
  if (is_null(node)) return out;
  if (node.IsMap()) {
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      if (!item.second.IsScalar()) fail("{}.{}: expected a single value", where, key);
      out[key] = item.second.Scalar();
    }
    return out;
  }
  const std::string text = scalar(node, where);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, nullptr, true, false);
  } catch (const nlohmann::json::exception&) {
    fail("{}: expected a mapping or a JSON object, got '{}'", where, text);
  }
  if (!j.is_object()) fail("{}: expected a mapping or a JSON object, got '{}'", where, text);
  for (const auto& [key, value] : j.items()) {
    if (value.is_string()) out[key] = value.get<std::string>();
    else if (value.is_number() || value.is_boolean()) out[key] = value.dump();
    else fail("{}.{}: expected a single value", where, key);
  }
  return out;
}

using Setter = std::function<void(const YAML::Node&, const std::string&)>;

std::map<std::string, Setter> trainer_setters(TrainingArgs& a) {
  std::map<std::string, Setter> s;
  auto integer = [&](int64_t& field) { return [&field](const YAML::Node& n, const std::string& w) { field = as_int(n, w); }; };
  auto number = [&](double& field) { return [&field](const YAML::Node& n, const std::string& w) { field = as_double(n, w); }; };
  auto flag = [&](bool& field) { return [&field](const YAML::Node& n, const std::string& w) { field = as_bool(n, w); }; };
  auto text = [&](std::string& field) { return [&field](const YAML::Node& n, const std::string& w) { field = scalar(n, w); }; };
  s["per_device_train_batch_size"] = integer(a.per_device_train_batch_size);
  s["per_device_eval_batch_size"] = integer(a.per_device_eval_batch_size);
  s["gradient_accumulation_steps"] = integer(a.gradient_accumulation_steps);
  s["num_train_epochs"] = number(a.num_train_epochs);
  s["max_steps"] = integer(a.max_steps);
  s["learning_rate"] = number(a.learning_rate);
  s["lr_scheduler_type"] = text(a.lr_scheduler_type);
  s["warmup_ratio"] = number(a.warmup_ratio);
  s["warmup_steps"] = number(a.warmup_steps);
  s["lr_scheduler_kwargs"] = [&a](const YAML::Node& n, const std::string& w) { a.lr_scheduler_kwargs = scheduler_kwargs(n, w); };
  s["weight_decay"] = number(a.weight_decay);
  s["adam_beta1"] = number(a.adam_beta1);
  s["adam_beta2"] = number(a.adam_beta2);
  s["adam_epsilon"] = number(a.adam_epsilon);
  s["max_grad_norm"] = number(a.max_grad_norm);
  s["max_length"] = integer(a.max_length);
  s["max_seq_length"] = integer(a.max_length);  // the older TRL name
  s["assistant_only_loss"] = flag(a.assistant_only_loss);
  s["completion_only_loss"] = flag(a.completion_only_loss);
  s["dataset_text_field"] = [&a](const YAML::Node& n, const std::string& w) {
    a.dataset_text_field = scalar(n, w);
    if (a.dataset_text_field.empty()) fail("{}: must name a field", w);
  };
  s["loss_type"] = [&a](const YAML::Node& n, const std::string& w) {
    // TRL 0.22+ takes a list of loss types (MPO, weighted by loss_weights); its default is [sigmoid]
    a.loss_types.clear();
    if (n.IsSequence()) {
      if (n.size() == 0) fail("{}: an empty list; give a loss type", w);
      for (size_t i = 0; i < n.size(); ++i) a.loss_types.push_back(scalar(n[i], fmt::format("{}[{}]", w, i)));
    } else {
      a.loss_types.push_back(scalar(n, w));
    }
    a.loss_type = fmt::format("{}", fmt::join(a.loss_types, "+"));
  };
  s["f_divergence_type"] = [&a](const YAML::Node& n, const std::string& w) { a.f_divergence_type = scalar(n, w); };
  s["f_alpha_divergence_coef"] = number(a.f_alpha_divergence_coef);
  s["use_weighting"] = flag(a.use_weighting);
  s["sync_ref_model"] = flag(a.sync_ref_model);
  s["ref_model_mixup_alpha"] = number(a.ref_model_mixup_alpha);
  s["ref_model_sync_steps"] = integer(a.ref_model_sync_steps);
  s["precompute_ref_log_probs"] = flag(a.precompute_ref_log_probs);
  s["precompute_ref_batch_size"] = [&a](const YAML::Node& n, const std::string& w) {
    a.precompute_ref_batch_size = is_null(n) ? std::nullopt : std::optional<int64_t>(as_int(n, w));
    if (a.precompute_ref_batch_size && *a.precompute_ref_batch_size <= 0)
      fail("{}: must be positive, got {}", w, *a.precompute_ref_batch_size);
  };
  s["ld_alpha"] = [&a](const YAML::Node& n, const std::string& w) {
    a.ld_alpha = is_null(n) ? std::nullopt : std::optional<double>(as_double(n, w));
  };
  s["loss_weights"] = [&a](const YAML::Node& n, const std::string& w) {
    a.loss_weights.clear();
    if (is_null(n)) return;
    if (!n.IsSequence()) fail("{}: expected a list of numbers, one per loss_type", w);
    if (n.size() == 0) fail("{}: an empty list; give one weight per loss_type, or null for 1 each", w);
    for (size_t i = 0; i < n.size(); ++i) a.loss_weights.push_back(as_double(n[i], fmt::format("{}[{}]", w, i)));
  };
  s["neftune_noise_alpha"] = number(a.neftune_noise_alpha);
  s["packing"] = flag(a.packing);
  s["packing_strategy"] = [&a](const YAML::Node& n, const std::string& w) {
    a.packing_strategy = scalar(n, w);
    parse_packing_strategy(a.packing_strategy, w);
  };
  s["padding_free"] = flag(a.padding_free);
  s["eval_packing"] = [&a](const YAML::Node& n, const std::string& w) { a.eval_packing = as_bool(n, w); };
  s["dataset_num_proc"] = [&a](const YAML::Node& n, const std::string& w) {
    a.dataset_num_proc = as_int(n, w);
    if (a.dataset_num_proc < 0) fail("{}: must not be negative, got {}", w, a.dataset_num_proc);
  };
  s["seed"] = integer(a.seed);
  s["data_seed"] = integer(a.seed);
  s["dataloader_drop_last"] = flag(a.dataloader_drop_last);
  s["gradient_checkpointing"] = flag(a.gradient_checkpointing);
  s["overwrite_output_dir"] = flag(a.overwrite_output_dir);
  s["bf16"] = flag(a.bf16);
  s["use_liger_kernel"] = flag(a.use_liger_kernel);
  s["fp16"] = [](const YAML::Node& n, const std::string& w) {
    if (as_bool(n, w)) fail("{}: fp16 training is not supported (use bf16: true)", w);
  };
  s["logging_steps"] = number(a.logging_steps);
  s["save_steps"] = number(a.save_steps);
  s["save_total_limit"] = integer(a.save_total_limit);
  s["save_strategy"] = text(a.save_strategy);
  s["metric_for_best_model"] = [&a](const YAML::Node& n, const std::string& w) {
    a.metric_for_best_model = is_null(n) ? "" : scalar(n, w);
  };
  s["greater_is_better"] = [&a](const YAML::Node& n, const std::string& w) {
    a.greater_is_better = is_null(n) ? std::nullopt : std::optional<bool>(as_bool(n, w));
  };
  s["load_best_model_at_end"] = flag(a.load_best_model_at_end);
  s["logging_strategy"] = text(a.logging_strategy);
  s["eval_strategy"] = text(a.eval_strategy);
  s["eval_on_start"] = flag(a.eval_on_start);
  s["eval_delay"] = number(a.eval_delay);
  s["logging_first_step"] = flag(a.logging_first_step);
  s["evaluation_strategy"] = text(a.eval_strategy);
  s["eval_steps"] = number(a.eval_steps);
  s["output_dir"] = text(a.output_dir);
  s["run_name"] = text(a.run_name);
  s["resume_from_checkpoint"] = text(a.resume_from_checkpoint);
  s["log_level"] = text(a.log_level);
  s["device"] = [&a](const YAML::Node& n, const std::string& w) {
    a.device = scalar(n, w);
    parse_device(a.device, w);
  };
  s["zero_stage"] = integer(a.zero_stage);
  s["beta"] = number(a.beta);
  s["label_smoothing"] = number(a.label_smoothing);
  s["reference_free"] = flag(a.reference_free);
  s["simpo_gamma"] = number(a.simpo_gamma);
  s["cpo_alpha"] = number(a.cpo_alpha);
  s["rpo_alpha"] = [&a](const YAML::Node& n, const std::string& w) {
    a.rpo_alpha = is_null(n) ? std::nullopt : std::optional<double>(as_double(n, w));
  };
  s["discopop_tau"] = [&a](const YAML::Node& n, const std::string& w) {
    a.discopop_tau = as_double(n, w);
    if (!(a.discopop_tau > 0)) fail("{}: must be positive, got {}", w, a.discopop_tau);
  };
  // null: none (TRL's None), which the setters below read as -1
  s["max_prompt_length"] = [&a](const YAML::Node& n, const std::string& w) {
    a.max_prompt_length = is_null(n) ? -1 : as_int(n, w);
  };
  s["max_completion_length"] = [&a](const YAML::Node& n, const std::string& w) {
    a.max_completion_length = is_null(n) ? -1 : as_int(n, w);
  };
  s["truncation_mode"] = text(a.truncation_mode);
  return s;
}

std::map<std::string, Setter> dataset_setters(DatasetArgs& d) {
  std::map<std::string, Setter> s;
  auto text = [&](std::string& field) { return [&field](const YAML::Node& n, const std::string& w) { field = scalar(n, w); }; };
  s["name"] = text(d.name);
  s["path"] = text(d.path);
  s["split"] = text(d.split);
  s["config"] = text(d.config);
  s["eval_path"] = text(d.eval_path);
  s["test_size"] = [&d](const YAML::Node& n, const std::string& w) { d.test_size = as_double(n, w); };
  s["sources_file"] = text(d.sources_file);
  s["token_budget"] = [&d](const YAML::Node& n, const std::string& w) { d.token_budget = as_int(n, w); };
  s["chat_template"] = text(d.chat_template);
  s["on_error"] = [&d](const YAML::Node& n, const std::string& w) {
    d.on_error = scalar(n, w);
    if (d.on_error != "fail" && d.on_error != "skip") fail("{}: expected fail or skip, got '{}'", w, d.on_error);
  };
  s["sources"] = [&d](const YAML::Node& n, const std::string& w) {
    if (!n.IsSequence()) fail("{}: expected a list of dataset_source names", w);
    for (const auto& item : n) d.sources.push_back(scalar(item, w));
  };
  s["num_proc"] = [](const YAML::Node&, const std::string&) {};  // preparation uses every core anyway
  return s;
}

// What a key given to the other trainer is, or null when the key is this trainer's (or shared).
const std::string* other_trainers_key(const std::string& key, TrainerKind kind) {
  static const std::map<std::string, std::string> dpo_only = [] {
    std::map<std::string, std::string> m;
    for (const char* k : {"beta", "label_smoothing", "reference_free", "simpo_gamma", "cpo_alpha", "rpo_alpha",
                          "discopop_tau", "loss_weights", "f_divergence_type", "f_alpha_divergence_coef", "ld_alpha",
                          "use_weighting", "precompute_ref_batch_size", "max_prompt_length", "max_completion_length",
                          "sync_ref_model", "ref_model_mixup_alpha", "ref_model_sync_steps",
                          "precompute_ref_log_probs", "truncation_mode"})
      m[std::string("trainer.") + k] = "a DPO option";
    return m;
  }();
  static const std::map<std::string, std::string> sft_only = [] {
    std::map<std::string, std::string> m;
    for (const char* k : {"assistant_only_loss", "completion_only_loss", "dataset_text_field", "packing",
                          "packing_strategy", "eval_packing", "padding_free",
                          "neftune_noise_alpha"})
      m[std::string("trainer.") + k] = "an SFT option";
    for (const char* k : {"sources", "sources_file"})
      m[std::string("dataset.") + k] = "an SFT dataset option";
    return m;
  }();
  const auto& other = kind == TrainerKind::SFT ? dpo_only : sft_only;
  const auto it = other.find(key);
  return it == other.end() ? nullptr : &it->second;
}

void apply(const std::map<std::string, Setter>& setters, const std::string& key, const YAML::Node& value,
           const std::string& where, bool allow_python_only) {
  auto it = setters.find(key);
  if (it != setters.end()) {
    // null is TRL's None: the default, except where None means none (the lengths read it themselves)
    if (key == "max_length" || key == "max_seq_length") {
      if (is_null(value))
        fail("{}: null (TRL: no truncation) is not supported; give the longest sequence to keep (the model's context "
             "at most)",
             where);
    }
    if (!is_null(value) || reads_null(key)) it->second(value, where);
    return;
  }
  if (allow_python_only) {
    if (const auto d = default_only_keys().find(key); d != default_only_keys().end()) {
      if (!is_default_value(value, d->second))
        fail("{}: TRL's {} is not implemented by tinythink: only its default ({}) or null is accepted", where, key,
             d->second);
      return;
    }
  }
  if (allow_python_only && python_only_keys().count(key)) {
    log_info("note: {}: does not apply to tinythink (ignored)", where);
    return;
  }
  fail("{}: unknown key", where);
}

// Numeric ranges: torch.optim.AdamW's and transformers' TrainingArguments' own checks are the
// floor (a beta of 2 or a warmup_ratio of 5 "trains" to NaN weights).
void check_ranges(const TrainConfig& c) {
  const TrainingArgs& a = c.trainer;
  const std::string& f = c.source;
  auto in = [&](const char* key, double v, double lo, double hi, bool hi_open, const char* interval) {
    if (!(v >= lo && (hi_open ? v < hi : v <= hi))) fail("{}: trainer.{} must be in {}, got {}", f, key, interval, v);
  };
  const double inf = std::numeric_limits<double>::infinity();
  in("adam_beta1", a.adam_beta1, 0, 1, true, "[0, 1)");
  in("adam_beta2", a.adam_beta2, 0, 1, true, "[0, 1)");
  in("adam_epsilon", a.adam_epsilon, 0, inf, false, "[0, inf)");
  in("weight_decay", a.weight_decay, 0, inf, false, "[0, inf)");
  in("warmup_ratio", a.warmup_ratio, 0, 1, false, "[0, 1]");
  in("eval_delay", a.eval_delay, 0, inf, false, "[0, inf)");
  in("max_grad_norm", a.max_grad_norm, 0, inf, false, "[0, inf)");
  in("neftune_noise_alpha", a.neftune_noise_alpha, 0, inf, false, "[0, inf)");
  in("num_train_epochs", a.num_train_epochs, 0, 1e9, false, "[0, 1e9]");
  if (a.zero_stage != 0 && a.zero_stage != 1)
    fail("{}: trainer.zero_stage must be 0 (off) or 1 (AdamW state and update sharded over the ranks), got {}", f,
         a.zero_stage);
  if (a.warmup_steps < 0) fail("{}: trainer.warmup_steps must not be negative, got {}", f, a.warmup_steps);
  // transformers' set_seed seeds numpy, which takes 0 to 2^32-1
  if (a.seed < 0 || a.seed > 4294967295LL) fail("{}: trainer.seed must be in [0, 2^32-1], got {}", f, a.seed);
  static const std::set<std::string> log_levels = {"passive", "debug", "info", "warning", "error", "critical"};
  if (!log_levels.count(a.log_level))
    fail("{}: trainer.log_level '{}' (expected passive, debug, info, warning, error or critical)", f, a.log_level);
  if (a.per_device_eval_batch_size <= 0) fail("{}: trainer.per_device_eval_batch_size must be positive", f);
  // HF's step intervals: a ratio of the total steps in (0, 1), or a whole number of steps (1e30 steps
  // used to cast to INT64_MIN and log every step).
  auto interval = [&](const char* key, double v) {
    if (!(v > 0 && (v < 1 || (v <= 1e15 && v == std::floor(v)))))
      fail("{}: trainer.{} must be a ratio in (0, 1) or a whole number of steps up to 1e15, got {}", f, key, v);
  };
  interval("logging_steps", a.logging_steps);
  if (a.save_strategy == "steps") interval("save_steps", a.save_steps);
  if (a.eval_steps != -1 && a.eval_strategy != "no") interval("eval_steps", a.eval_steps);
  if (a.max_prompt_length < 1 && a.max_prompt_length != -1)
    fail("{}: trainer.max_prompt_length must be positive (or -1: none), got {}", f, a.max_prompt_length);
  if (a.max_completion_length < 1 && a.max_completion_length != -1)
    fail("{}: trainer.max_completion_length must be positive (or -1: none), got {}", f, a.max_completion_length);
  const int64_t kMaxBatchRows = int64_t{1} << 24, kMaxLength = int64_t{1} << 24;
  if (a.per_device_train_batch_size > kMaxBatchRows || a.gradient_accumulation_steps > kMaxBatchRows)
    fail("{}: trainer.per_device_train_batch_size x gradient_accumulation_steps is too large (at most {} each)", f, kMaxBatchRows);
  if (a.max_length > kMaxLength) fail("{}: trainer.max_length {} is too large (at most {})", f, a.max_length, kMaxLength);
  if (!(c.dataset.test_size >= 0 && c.dataset.test_size < 1))
    fail("{}: dataset.test_size must be in [0, 1), got {}", f, c.dataset.test_size);
  if (c.dataset.token_budget < 0) fail("{}: dataset.token_budget must not be negative, got {}", f, c.dataset.token_budget);
}

// DPO's loss types (one, or several summed as TRL's MPO) and their options.
void validate_preference_losses(const TrainConfig& c) {
  const TrainingArgs& a = c.trainer;
  const std::string& f = c.source;
  // beta <= 0 used to train (0: a constant loss, no gradient; negative: towards the rejected
  // answers) and label_smoothing 2 made the sigmoid loss unbounded below, all with exit 0
  if (!(a.beta > 0 && a.beta <= 1e6)) fail("{}: trainer.beta must be in (0, 1e6], got {}", f, a.beta);
  if (!(a.label_smoothing >= 0 && a.label_smoothing <= 0.5))
    fail("{}: trainer.label_smoothing must be in [0, 0.5], got {}", f, a.label_smoothing);
  std::set<std::string> seen;
  for (const std::string& name : a.loss_types) {
    const PreferenceLossType* loss = find_preference_loss(name);
    if (!loss) fail("{}: trainer.loss_type '{}' is not a preference loss ({})", f, name,
                    fmt::join(preference_loss_names(), ", "));
    if (!seen.insert(name).second)
      fail("{}: trainer.loss_type lists {} twice; give each loss once (loss_weights sets its weight)", f, name);
    if (a.loss_types.size() > 1 && loss->chosen_nll)
      fail("{}: trainer.loss_type {} is CPOTrainer's and cannot be combined with other losses (DPOTrainer's list)", f,
           name);
    if (a.rpo_alpha && loss->chosen_nll)
      fail("{}: trainer.rpo_alpha is DPOTrainer's; {} (CPOTrainer) weighs the chosen completions' NLL by cpo_alpha", f,
           name);
    if (loss->check)
      if (const std::string why = loss->check(DpoLossConfig::from_args(a)); !why.empty())
        fail("{}: trainer.loss_type {}: {}", f, name, why);
  }
  if (!a.loss_weights.empty()) {
    if (a.loss_weights.size() != a.loss_types.size())
      fail("{}: trainer.loss_weights has {} weights for {} loss types ({}): give one per loss type", f,
           a.loss_weights.size(), a.loss_types.size(), fmt::join(a.loss_types, ", "));
    for (size_t i = 0; i < a.loss_weights.size(); ++i) {
      if (a.loss_weights[i] < 0)
        fail("{}: trainer.loss_weights[{}] is {}: a negative weight trains {} away from the chosen answers (its loss "
             "is unbounded below)", f, i, a.loss_weights[i], a.loss_types[i]);
      if (a.loss_weights[i] > 1e6)  // as beta's bound: past it the gradients overflow before any step
        fail("{}: trainer.loss_weights[{}] must be at most 1e6, got {}", f, i, a.loss_weights[i]);
    }
    if (std::all_of(a.loss_weights.begin(), a.loss_weights.end(), [](double w) { return w == 0; }))
      log_warn("{}: every trainer.loss_weights is 0: the loss is constant and nothing trains", f);
  }
  // CPOTrainer's loss (simpo, alone: checked above) takes none of DPOTrainer's options
  if (preference_loss(a.loss_types[0]).chosen_nll)
    for (const auto& [key, given] : {std::pair<const char*, bool>{"loss_weights", !a.loss_weights.empty()},
                                     {"ld_alpha", a.ld_alpha.has_value()},
                                     {"use_weighting", a.use_weighting},
                                     {"sync_ref_model", a.sync_ref_model},
                                     {"f_divergence_type", a.f_divergence_type != "reverse_kl"}})
      if (given) fail("{}: trainer.{} is DPOTrainer's; {} is CPOTrainer's loss", f, key, a.loss_types[0]);
  // label_smoothing: read by sigmoid, robust, exo_pair, aot, aot_pair and simpo; the others ignore it
  static const std::set<std::string> no_smoothing = {"hinge",    "ipo",      "bco_pair", "sppo_hard", "nca_pair",
                                                    "apo_zero", "apo_down", "discopop", "sft"};
  auto smooths = [&](const std::string& name) { return !no_smoothing.count(name); };
  if (a.label_smoothing > 0 && std::none_of(a.loss_types.begin(), a.loss_types.end(), smooths))
    log_warn("{}: the {} loss does not use label_smoothing ({}): it is ignored, as TRL ignores it (set it to 0.0 "
             "to remove this warning)",
             f, a.loss_type, a.label_smoothing);
  if (a.ld_alpha && !(*a.ld_alpha >= 0 && *a.ld_alpha <= 1))
    fail("{}: trainer.ld_alpha must be in [0, 1] (LD-DPO's weight of the longer completion's tail), got {}", f,
         *a.ld_alpha);
  if (a.use_weighting)
    for (const std::string& name : a.loss_types)
      if (preference_loss(name).micro_batch)  // aot, aot_pair
        fail("{}: trainer.use_weighting with {}: the loss sorts the pairs, so per-pair weights would not follow them "
             "(TRL refuses it too)", f, name);
  if (!(a.ref_model_mixup_alpha >= 0 && a.ref_model_mixup_alpha <= 1))
    fail("{}: trainer.ref_model_mixup_alpha must be in [0, 1] (TR-DPO's weight of the policy in the new reference), "
         "got {}", f, a.ref_model_mixup_alpha);
  if (a.ref_model_sync_steps < 1)
    fail("{}: trainer.ref_model_sync_steps must be at least 1, got {}", f, a.ref_model_sync_steps);
  static const std::set<std::string> liger_losses = {"sigmoid", "apo_zero", "apo_down", "sppo_hard", "nca_pair"};
  if (a.use_liger_kernel && (a.loss_types.size() != 1 || !liger_losses.count(a.loss_types[0])))
    log_warn("{}: trainer.use_liger_kernel with loss_type {}: TRL's DPOTrainer refuses it (its Liger path implements "
             "sigmoid, apo_zero, apo_down, sppo_hard and nca_pair, one at a time); tinythink computes the loss as TRL's "
             "path without Liger", f, a.loss_type);
  if (a.sync_ref_model && a.precompute_ref_log_probs)  // TRL's DPOTrainer refuses it in __init__
    fail("{}: trainer.precompute_ref_log_probs: true with sync_ref_model (TR-DPO): the reference moves during training, "
         "so its log-probs cannot be computed in advance; set precompute_ref_log_probs: false, as TRL asks", f);
  if (a.sync_ref_model && a.reference_free)
    log_warn("{}: trainer.sync_ref_model with reference_free: the loss ignores the reference, which then moves only "
             "the logged rewards", f);
  // TRL 0.27's f-divergences change the margin (dpo_loss's `logits`) of these losses only
  static const std::set<std::string> f_divergence_types = {"reverse_kl", "js_divergence", "alpha_divergence"};
  if (!f_divergence_types.count(a.f_divergence_type))
    fail("{}: trainer.f_divergence_type '{}' is not one of TRL 0.27's (reverse_kl, js_divergence, alpha_divergence)", f,
         a.f_divergence_type);
  if (a.f_divergence_type == "alpha_divergence" && a.f_alpha_divergence_coef == 0)
    fail("{}: trainer.f_alpha_divergence_coef 0: the alpha divergence divides by it (reverse_kl is its limit)", f);
  static const std::set<std::string> reads_logits = {"sigmoid", "robust", "exo_pair", "hinge", "ipo"};
  if (a.f_divergence_type != "reverse_kl" &&
      std::none_of(a.loss_types.begin(), a.loss_types.end(), [&](const std::string& t) { return reads_logits.count(t) > 0; }))
    log_warn("{}: the {} loss does not use f_divergence_type ({}): TRL applies it to sigmoid, robust, exo_pair, hinge "
             "and ipo only, so it is ignored", f, a.loss_type, a.f_divergence_type);
  // TRL's exo_pair replaces a label_smoothing of 0 by 1e-3 in the trainer itself at its first call,
  // so a loss listed with it would see 0, then 1e-3: refused rather than reproduced.
  if (a.label_smoothing == 0 && seen.count("exo_pair"))
    for (const std::string& name : a.loss_types)
      if (name != "exo_pair" && smooths(name))
        fail("{}: trainer.loss_type: exo_pair with label_smoothing 0 sets TRL's label_smoothing to 1e-3 from its first "
             "call on, which {} also reads; set label_smoothing (EXO's paper uses 1e-3)", f, name);
}

void validate(const TrainConfig& c, TrainerKind kind) {
  const TrainingArgs& a = c.trainer;
  const std::string& f = c.source;
  check_ranges(c);
  if (a.per_device_train_batch_size <= 0) fail("{}: trainer.per_device_train_batch_size must be positive", f);
  if (a.gradient_accumulation_steps <= 0) fail("{}: trainer.gradient_accumulation_steps must be positive", f);
  if (a.max_length <= 1) fail("{}: trainer.max_length must be at least 2", f);
  if (a.learning_rate < 0) fail("{}: trainer.learning_rate must not be negative", f);
  if (a.max_steps <= 0 && a.num_train_epochs <= 0) fail("{}: trainer.num_train_epochs must be positive", f);
  try {
    (void)make_schedule(a.lr_scheduler_type, a.lr_scheduler_kwargs, a.learning_rate);
  } catch (const Error& e) {
    fail("{}: trainer.{}", f, e.what());
  }
  if (a.lr_scheduler_type == "reduce_lr_on_plateau" && a.eval_strategy == "no")
    fail("{}: trainer.lr_scheduler_type: reduce_lr_on_plateau requires an eval_strategy (steps or epoch), as "
         "transformers", f);
  if (kind == TrainerKind::SFT) {
    if (a.loss_types.size() != 1) fail("{}: trainer.loss_type: SFT takes one loss (nll, dft), got {}", f, a.loss_types.size());
    if (a.loss_type != "nll" && a.loss_type != "dft")
      fail("{}: trainer.loss_type '{}' is not an SFT loss (nll, dft)", f, a.loss_type);
  }
  if (kind == TrainerKind::DPO) validate_preference_losses(c);
  parse_truncation_mode(a.truncation_mode, f + ": trainer.truncation_mode");
  // transformers' IntervalStrategy: no, steps, epoch; save_strategy also best (SaveStrategy)
  for (const auto& [key, value] : {std::pair<const char*, const std::string&>{"eval_strategy", a.eval_strategy},
                                   {"logging_strategy", a.logging_strategy}})
    if (value != "no" && value != "steps" && value != "epoch")
      fail("{}: trainer.{} '{}' (supported: no, steps, epoch)", f, key, value);
  if (a.save_strategy != "no" && a.save_strategy != "steps" && a.save_strategy != "epoch" && a.save_strategy != "best")
    fail("{}: trainer.save_strategy '{}' (supported: no, steps, epoch, best)", f, a.save_strategy);
  // TrainingArguments.__post_init__: the best model is only known at evaluations that save
  if (a.load_best_model_at_end && a.save_strategy != "best" && a.save_strategy != a.eval_strategy)
    fail("{}: trainer.load_best_model_at_end requires the save and eval strategy to match (save_strategy {}, "
         "eval_strategy {}), as transformers",
         f, a.save_strategy, a.eval_strategy);
  if (a.gradient_checkpointing)
    log_info("note: {}: trainer.gradient_checkpointing: tinythink always stores compact activations (no T x T "
             "attention, no tokens x vocab logits) and recomputes norms and SwiGLU; full layer recompute is not "
             "implemented", f);
  if (c.model_name.empty()) fail("{}: model_name is missing", f);
  if (c.trainer.output_dir.empty()) fail("{}: trainer.output_dir is missing", f);
}

}  // namespace

TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides, TrainerKind kind) {
  YAML::Node root = load_yaml_file(path);
  if (!root.IsMap()) fail("{}: expected a mapping at the top level", path);
  TrainConfig c;
  c.source = path;
  c.trainer.loss_type = kind == TrainerKind::SFT ? "nll" : "sigmoid";
  c.trainer.loss_types = {c.trainer.loss_type};
  if (kind == TrainerKind::DPO) c.trainer.learning_rate = 1e-6;  // DPOConfig's default
  auto trainer = trainer_setters(c.trainer);
  auto dataset = dataset_setters(c.dataset);
  std::map<std::string, Setter> top;
  top["model_name"] = [&](const YAML::Node& n, const std::string& w) { c.model_name = scalar(n, w); };
  top["tokenizer_name"] = [&](const YAML::Node& n, const std::string& w) { c.tokenizer_name = scalar(n, w); };
  std::map<std::string, std::string> given;  // "trainer.packing" -> where it was given
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    const std::string where = path + ": " + key;
    if (key == "trainer" || key == "dataset") {
      if (!entry.second.IsMap()) fail("{}: expected a mapping", where);
      for (const auto& inner : entry.second) {
        const std::string name = inner.first.as<std::string>();
        apply(key == "trainer" ? trainer : dataset, name, inner.second, where + "." + name, key == "trainer");
        given.emplace(key + "." + name, where + "." + name);
      }
      continue;
    }
    apply(top, key, entry.second, where, false);
  }
  for (const auto& item : overrides) {
    auto eq = item.find('=');
    if (eq == std::string::npos) fail("--set {}: expected key=value", item);
    std::string key = item.substr(0, eq);
    const std::string where = "--set " + key;
    YAML::Node value = parse_yaml_text(item.substr(eq + 1), where);
    // `--set dataset.path=` was ignored (the YAML's path was used), and `=null` alike. An explicit null
    // reaches the keys where None means something other than "keep the default" (the lengths: none),
    // and TRL's keys accepted at their default only.
    const std::string bare = key.rfind("trainer.", 0) == 0 ? key.substr(8) : key;
    const bool null_has_a_meaning =
        reads_null(bare) || bare == "max_length" || bare == "max_seq_length" || default_only_keys().count(bare) > 0;
    if (is_null(value) && (item.size() == eq + 1 || !null_has_a_meaning))
      fail("{}: no value (give one, or remove the key from {})", where, path);
    if (key.rfind("dataset.", 0) == 0) {
      apply(dataset, key.substr(8), value, where, false);
      given.emplace(key, where);
    } else if (top.count(key)) {
      apply(top, key, value, where, false);
    } else {  // trainer.KEY, or a bare trainer KEY
      const std::string name = key.rfind("trainer.", 0) == 0 ? key.substr(8) : key;
      apply(trainer, name, value, where, true);
      given.emplace("trainer." + name, where);
    }
  }
  // The other trainer's keys: TRL's config class would refuse them, and this trainer would ignore
  // them (dpo ran with packing, NEFTune, an eval split or on_error it never applied, exit 0).
  for (const auto& [key, where] : given)
    if (const std::string* other = other_trainers_key(key, kind))
      fail("{}: {}, which {} does not apply", where, *other, kind == TrainerKind::SFT ? "sft" : "dpo");
  if (c.tokenizer_name.empty()) c.tokenizer_name = c.model_name;
  validate(c, kind);
  return c;
}

std::string best_metric_key(const TrainingArgs& a) {
  std::string name = a.metric_for_best_model;
  // transformers' TrainingArguments: "loss" when load_best_model_at_end or reduce_lr_on_plateau needs one
  if (name.empty() && (a.load_best_model_at_end || a.save_strategy == "best" || a.lr_scheduler_type == "reduce_lr_on_plateau"))
    name = "loss";
  if (name.empty()) return "";
  return name.rfind("eval_", 0) == 0 ? name : "eval_" + name;
}

bool best_metric_greater_is_better(const TrainingArgs& a) {
  if (a.greater_is_better) return *a.greater_is_better;
  const std::string name = a.metric_for_best_model.empty() ? "loss" : a.metric_for_best_model;
  return !(name.size() >= 4 && name.compare(name.size() - 4, 4, "loss") == 0);
}

StepPlan plan_steps(const TrainingArgs& a, int64_t rows) {
  StepPlan p;
  const int64_t bs = a.per_device_train_batch_size;
  p.micro_batches_per_epoch = a.dataloader_drop_last ? rows / bs : (rows + bs - 1) / bs;
  // transformers' Trainer: the micro-batches left after the last full accumulation group make a
  // final, shorter optimizer step of the epoch (ceil), and the schedule counts it.
  const int64_t ga = a.gradient_accumulation_steps;
  p.steps_per_epoch = std::max<int64_t>(1, (p.micro_batches_per_epoch + ga - 1) / ga);
  p.total_steps = a.max_steps > 0 ? a.max_steps
                                  : static_cast<int64_t>(std::ceil(a.num_train_epochs * p.steps_per_epoch));
  p.warmup_steps = resolve_warmup_steps(a.warmup_steps, a.warmup_ratio, p.total_steps);
  auto resolve = [&](double v) -> int64_t {
    if (v <= 0) return 0;
    if (v < 1) return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(v * p.total_steps)));
    return static_cast<int64_t>(v);
  };
  // "epoch": at the end of every epoch, which is every steps_per_epoch steps ("no" logging: only the
  // last step's row, which the loop always writes)
  p.logging_steps = a.logging_strategy == "epoch" ? p.steps_per_epoch
                    : a.logging_strategy == "no"  ? std::max<int64_t>(1, p.total_steps)
                                                  : std::max<int64_t>(1, resolve(a.logging_steps));
  p.save_steps = a.save_strategy == "no" || a.save_strategy == "best" ? 0  // best: when the metric improves
                 : a.save_strategy == "epoch"                        ? p.steps_per_epoch
                                                                     : resolve(a.save_steps);
  p.eval_steps = a.eval_strategy == "no"      ? 0
                 : a.eval_strategy == "epoch" ? p.steps_per_epoch
                                              : (a.eval_steps > 0 ? resolve(a.eval_steps) : p.logging_steps);
  return p;
}

}  // namespace tt
