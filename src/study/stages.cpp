#include "study/stages.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "core/number.h"
#include "infer/device_engine.h"
#include "io/file.h"
#include "kernels/device.h"
#include "model/checkpoint.h"
#include "study/pairs.h"
#include "study/yaml_util.h"
#include "text/chat_template.h"
#include "text/special_ids.h"
#include "text/tokenizer.h"
#include "train/dpo.h"
#include "train/sft.h"
#include "train/sft_inputs.h"
#include "train/trainer.h"

namespace tt::study {

namespace fs = std::filesystem;

namespace {

std::string where(const Job& job, const std::string& key) { return fmt::format("stage '{}': {}", job.stage, key); }

TrainerKind trainer_kind(const Job& job) { return job.kind == StageKind::Sft ? TrainerKind::SFT : TrainerKind::DPO; }

// The trainers read a YAML file: the resolved config goes to RUN_DIR/config.yaml (which also lets
// `tinythink sft RUN_DIR/config.yaml --resume` continue a run by hand).
TrainConfig training_config(const Job& job, const std::string& path) {
  write_file_atomic(path, to_yaml_text(job.config));
  try {
    return load_train_config(path, {}, trainer_kind(job));
  } catch (const Error& e) {
    fail("stage '{}' run '{}': {}", job.stage, job.name, e.what());
  }
}

// Loads a trainer's inputs and trains: (SftRun, load_sft_inputs, run_sft) or the DPO ones.
template <typename Run, typename Load, typename Train>
void train_job(const Job& job, TrainConfig config, bool resume, Load load, Train train) {
  Run run;
  run.config = std::move(config);
  run.resume = resume;
  load(run);
  const auto r = train(run);
  log_info("{}: {} steps, final loss {:.4f}", job.name, r.steps, r.final_loss);
}

void run_training(const Job& job, bool resume) {
  TrainConfig config = training_config(job, job.dir + "/config.yaml");
  try {
    if (job.kind == StageKind::Sft) train_job<SftRun>(job, std::move(config), resume, load_sft_inputs, run_sft);
    else train_job<DpoRun>(job, std::move(config), resume, load_dpo_inputs, run_dpo);
  } catch (const StoppedBySignal& e) {  // `tinythink run` has no --resume: the study resumes a run by itself
    fail("run '{}': {}: run the study again (the same `tinythink run` command) to continue; it resumes this run "
         "from its newest checkpoint", job.name, e.stopped());
  }
}

// A random-initialised checkpoint: a preset (`arch`) or a config.json (`config`), with `model`
// overriding config.json fields; with a tokenizer, the special token ids and the vocabulary come
// from it so that generation stops where the chat template ends a turn.
void run_init(const Job& job) {
  const std::string arch = config_string(job, "arch", "");
  const std::string config_path = config_string(job, "config", "");
  if (arch.empty() == config_path.empty()) fail("{}: give exactly one of 'arch' (a preset) or 'config'", where(job, "config"));
  ModelConfig config = arch.empty() ? load_model_config(config_path) : preset_config(arch);
  if (const YAML::Node fields = job.config["model"]; fields && fields.IsMap()) {
    nlohmann::json j = config.original.is_object() ? config.original : config_to_json(config);
    for (const auto& e : fields) {
      const std::string key = e.first.as<std::string>();
      nlohmann::json value = nlohmann::json::parse(e.second.Scalar(), nullptr, false);
      j[key] = value.is_discarded() ? nlohmann::json(e.second.Scalar()) : value;
    }
    config = config_from_json(j, where(job, "model"));
  }
  const std::string tokenizer_path = config_string(job, "tokenizer", "");
  if (!tokenizer_path.empty()) {
    Tokenizer tok = Tokenizer::load(tokenizer_path);
    const auto tokens = static_cast<int64_t>(tok.vocab_size());
    if (tokens > config.vocab_size)
      fail("{}: the tokenizer has {} tokens but the model's vocab_size is {}", where(job, "tokenizer"), tokens,
           config.vocab_size);
    // Ids the tokenizer cannot decode would be sampled as well: the model gets the tokenizer's size.
    if (tokens < config.vocab_size) {
      log_info("{}: vocab_size {} -> {}, the tokenizer's size", job.name, config.vocab_size, tokens);
      config.vocab_size = tokens;
    }
    const TokenizerSpecialIds special = tokenizer_special_ids(tok, tokenizer_path);
    if (special.pad) config.pad_token_id = *special.pad;
    if (special.bos >= 0) config.bos_token_id = special.bos;
    if (!special.eos.empty()) config.eos_token_ids = special.eos;
  }
  Model model = init_model(config, static_cast<uint64_t>(config_int(job, "seed", 42)));
  SaveOptions save;
  const std::string dtype = config_string(job, "dtype", "f32");
  if (dtype != "f32" && dtype != "bf16") fail("{}: expected f32 or bf16, got '{}'", where(job, "dtype"), dtype);
  save.dtype = dtype == "bf16" ? DType::BF16 : DType::F32;
  save.tokenizer_source = tokenizer_path;
  write_model_files(model, job.dir, save);
  log_info("{}: {} ({} parameters) -> {}", job.name, arch.empty() ? config_path : arch, parameter_count(config), job.dir);
}

PairsOptions pairs_options(const Plan& plan, const Job& job) {
  PairsOptions o;
  if (job.parent.empty()) fail("{}: a pairs stage samples from a checkpoint: set 'from'", where(job, "from"));
  o.model_dir = plan.find(job.parent)->dir;
  o.prompts_path = config_string(job, "prompts", "");
  if (o.prompts_path.empty()) fail("{}: missing (a JSONL of prompts with answers)", where(job, "prompts"));
  o.output_dir = job.dir;
  o.k = config_int(job, "k", o.k);
  o.pairs_per_prompt = config_int(job, "pairs_per_prompt", o.pairs_per_prompt);
  o.temperature = config_number(job, "temperature", o.temperature);
  o.top_p = config_number(job, "top_p", o.top_p);
  o.max_new_tokens = config_int(job, "max_new_tokens", o.max_new_tokens);
  o.seed = static_cast<uint64_t>(config_int(job, "seed", static_cast<int64_t>(o.seed)));
  o.limit = config_int(job, "limit", o.limit);
  o.default_task = config_string(job, "task", o.default_task);
  o.chat_template = config_string(job, "chat_template", "");
  o.precision = parse_precision(config_string(job, "precision", "bf16"));
  o.max_batch = config_int(job, "max_batch", o.max_batch);
  o.cuda_device = config_device(job, o.precision);
  o.cache_dir = job.dir + "/" + kResponseCache;
  o.cache_holds_one_model = true;
  return o;
}

YAML::Node value_of(const Job& job, const std::string& key) {
  YAML::Node node = get_dotted(job.config, key);
  if (!node || node.IsNull()) return YAML::Node();
  return node;
}

}  // namespace

int config_device(const Job& job, Precision precision) {
  return infer::choose_engine_device(config_string(job, "device", "auto"), where(job, "device"), precision);
}

std::string config_string(const Job& job, const std::string& key, const std::string& fallback) {
  YAML::Node n = value_of(job, key);
  if (!n || n.IsNull()) return fallback;
  if (!n.IsScalar()) fail("{}: expected a single value", where(job, key));
  return n.Scalar();
}

double config_number(const Job& job, const std::string& key, double fallback) {
  YAML::Node n = value_of(job, key);
  if (!n || n.IsNull()) return fallback;
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  if (const std::optional<double> v = parse_double(s)) return *v;
  fail("{}: expected a number, got '{}'", where(job, key), s);
}

int64_t config_int(const Job& job, const std::string& key, int64_t fallback) {
  double v = config_number(job, key, static_cast<double>(fallback));
  if (v != static_cast<double>(static_cast<int64_t>(v))) fail("{}: expected an integer, got {}", where(job, key), v);
  return static_cast<int64_t>(v);
}

bool config_bool(const Job& job, const std::string& key, bool fallback) {
  return config_optional_bool(job, key).value_or(fallback);
}

std::optional<bool> config_optional_bool(const Job& job, const std::string& key) {
  YAML::Node n = value_of(job, key);
  if (!n || n.IsNull()) return std::nullopt;
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  if (s == "true" || s == "True") return true;
  if (s == "false" || s == "False") return false;
  fail("{}: expected true or false, got '{}'", where(job, key), s);
}

std::vector<std::string> config_list(const Job& job, const std::string& key) {
  YAML::Node n = value_of(job, key);
  std::vector<std::string> out;
  if (!n || n.IsNull()) return out;
  if (n.IsScalar()) return {n.Scalar()};
  if (!n.IsSequence()) fail("{}: expected a list", where(job, key));
  for (const auto& item : n) {
    if (!item.IsScalar()) fail("{}: expected a list of single values", where(job, key));
    out.push_back(item.Scalar());
  }
  return out;
}

void validate_job(const Job& job) {
  if (is_training(job.kind)) {
    // The trainers' loader checks keys and values; it reads a file, so give it one.
    const fs::path tmp = fs::temp_directory_path() / fmt::format("tinythink-study-{}-{}.yaml", ::getpid(), job.name);
    try {
      training_config(job, tmp.string());
    } catch (const Error& e) {
      fs::remove(tmp);
      // the message names the temporary file, which is gone: name the stage's run instead
      std::string message = e.what();
      const std::string temp = tmp.string() + ": ";
      for (size_t at = message.find(temp); at != std::string::npos; at = message.find(temp, at))
        message.erase(at, temp.size());
      if (message.rfind("stage '", 0) != 0)
        message = fmt::format("stage '{}'{}: {}", job.stage,
                              job.name == job.stage ? "" : fmt::format(" run '{}'", job.name), message);
      fail("{}", message);
    } catch (...) {
      fs::remove(tmp);
      throw;
    }
    fs::remove(tmp);
    return;
  }
  if (job.kind == StageKind::Data) {
    for (const char* key : {"seed", "pretrain_docs", "sft_arithmetic", "sft_ifeval", "sft_bbh_per_task", "prompts",
                            "eval_gsm8k", "eval_ifeval", "eval_bbh_per_task", "vocab_size", "arithmetic.max_number",
                            "arithmetic.max_factor"})
      config_int(job, key, 0);
    for (const char* key : {"arithmetic.weight_1", "arithmetic.weight_2", "arithmetic.weight_3"}) config_number(job, key, 0);
  }
  if (job.kind == StageKind::Init) {
    if (config_string(job, "arch", "").empty() == config_string(job, "config", "").empty())
      fail("{}: give exactly one of 'arch' (a preset) or 'config'", where(job, "config"));
    config_int(job, "seed", 0);
  }
  if (job.kind == StageKind::Pairs) {
    if (job.parent.empty()) fail("{}: a pairs stage samples from a checkpoint: set 'from'", where(job, "from"));
    if (config_string(job, "prompts", "").empty()) fail("{}: missing (a JSONL of prompts with answers)", where(job, "prompts"));
    for (const char* key : {"k", "pairs_per_prompt", "max_new_tokens", "seed", "limit", "max_batch"}) config_int(job, key, 0);
    for (const char* key : {"temperature", "top_p"}) config_number(job, key, 0);
    parse_precision(config_string(job, "precision", "bf16"));
    parse_device(config_string(job, "device", "auto"), where(job, "device"));
  }
  if (job.kind == StageKind::Eval) {
    if (config_list(job, "tasks").empty()) fail("{}: missing (the tasks to evaluate)", where(job, "tasks"));
    for (const char* key : {"num_fewshot", "seed", "max_batch"}) config_int(job, key, 0);
    if (const double limit = config_number(job, "limit", -1); limit != -1 && !eval::limit_in_range(limit))
      fail("{}: {}: {}", where(job, "limit"), limit, eval::kLimitHint);
    if (eval_samples(job) && config_number(job, "limit", -1) != -1)
      fail("{}: give limit or samples, not both (samples chooses the documents, as lm-eval)", where(job, "samples"));
    eval::EvalOptions prompt_format;
    read_prompt_format(job, prompt_format);
    config_bool(job, "strip_thinking", false);
    eval_gen_kwargs(job);  // a bad key used to pass --dry-run and fail after the training stages
    parse_precision(config_string(job, "precision", "bf16"));
    parse_device(config_string(job, "device", "auto"), where(job, "device"));
  }
}

void execute_job(const Plan& plan, const Job& job, bool resume) {
  switch (job.kind) {
    case StageKind::Data: return run_data_job(job);
    case StageKind::Init: return run_init(job);
    case StageKind::Sft:
    case StageKind::Dpo: return run_training(job, resume);
    case StageKind::Pairs: build_pairs(pairs_options(plan, job)); return;
    case StageKind::Eval: return run_eval_job(job);
    case StageKind::Report: return run_report_job(plan, job);
  }
}

nlohmann::ordered_json key_params(const Job& job) {
  nlohmann::ordered_json p = nlohmann::ordered_json::object();
  auto number = [&](const std::string& key, const std::string& name) {
    YAML::Node n = value_of(job, key);
    if (!n || !n.IsScalar()) return;
    if (const std::optional<double> v = parse_double(n.Scalar())) p[name] = *v;
  };
  auto text = [&](const std::string& key, const std::string& name) {
    YAML::Node n = value_of(job, key);
    if (n && n.IsScalar()) p[name] = n.Scalar();
    if (n && n.IsSequence() && n.size() > 0) p[name] = scalar_or_joined(n);  // DPO's list of loss types
  };
  if (is_training(job.kind)) {
    text("trainer.loss_type", "loss_type");
    number("trainer.learning_rate", "learning_rate");
    if (job.kind == StageKind::Dpo) number("trainer.beta", "beta");
    number("trainer.num_train_epochs", "num_train_epochs");
    number("trainer.max_steps", "max_steps");
  } else if (job.kind == StageKind::Init) {
    text("arch", "arch");
    number("seed", "seed");
  } else if (job.kind == StageKind::Pairs) {
    number("k", "k");
    number("temperature", "temperature");
  }
  return p;
}

}  // namespace tt::study
