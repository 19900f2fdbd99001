// The eval job: the evaluation harness (eval/runner.h) on a run's checkpoint, into <run>/eval.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/number.h"
#include "eval/gen_kwargs.h"
#include "eval/runner.h"
#include "study/stages.h"
#include "study/yaml_util.h"

namespace tt::study {

namespace {

// gen_kwargs: lm-eval's "k=v,k=v" text, or a mapping (passed on as one JSON object: a stop list
// `until: ["\n\n", "Q:"]` keeps its strings as YAML wrote them).
std::string gen_kwargs_text(const Job& job) {
  const YAML::Node n = job.config["gen_kwargs"];
  if (!n || n.IsNull()) return "";
  if (n.IsScalar()) return n.Scalar();
  if (!n.IsMap()) fail("stage '{}': gen_kwargs: expected k=v,... text or a mapping", job.stage);
  const auto scalar = [](const std::string& s) -> nlohmann::json {
    if (s == "true" || s == "True") return true;
    if (s == "false" || s == "False") return false;
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size()) return d;
    return s;
  };
  nlohmann::json out = nlohmann::json::object();
  for (const auto& e : n) {
    const std::string key = e.first.as<std::string>();
    if (e.second.IsScalar()) {
      out[key] = scalar(e.second.Scalar());
    } else if (e.second.IsSequence()) {
      out[key] = nlohmann::json::array();
      for (const auto& item : e.second) {
        if (!item.IsScalar()) fail("stage '{}': gen_kwargs.{}: expected a list of strings", job.stage, key);
        out[key].push_back(item.Scalar());
      }
    } else {
      fail("stage '{}': gen_kwargs.{}: expected a value or a list of strings", job.stage, key);
    }
  }
  return out.dump();
}

}  // namespace

std::string eval_gen_kwargs(const Job& job) {
  const std::string text = gen_kwargs_text(job);
  try {
    (void)eval::parse_gen_kwargs(text);
  } catch (const Error& e) {
    fail("stage '{}': gen_kwargs: {}", job.stage, e.what());
  }
  return text;
}

std::optional<std::map<std::string, std::vector<int64_t>>> eval_samples(const Job& job) {
  const YAML::Node n = job.config["samples"];
  if (!n || n.IsNull()) return std::nullopt;
  // lm-eval's JSON text or file, or a mapping from task to a list of ids (passed on as JSON).
  std::string text;
  if (n.IsScalar()) {
    text = n.Scalar();
  } else if (n.IsMap()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& e : n) {
      const std::string task = e.first.as<std::string>();
      if (!e.second.IsSequence()) fail("stage '{}': samples.{}: expected a list of document ids", job.stage, task);
      j[task] = nlohmann::json::array();
      for (const auto& id : e.second) {
        const std::optional<double> v = id.IsScalar() ? parse_double(id.Scalar()) : std::nullopt;
        if (!v || !(std::abs(*v) < 9.0e18) || *v != std::floor(*v))
          fail("stage '{}': samples.{}: '{}' is not a document id (an integer >= 0)", job.stage, task,
               id.IsScalar() ? id.Scalar() : "a list or mapping");
        j[task].push_back(static_cast<int64_t>(*v));
      }
    }
    text = j.dump();
  } else {
    fail("stage '{}': samples: expected a mapping from task to document ids, or lm-eval's JSON text", job.stage);
  }
  try {
    return eval::parse_samples_option(text);
  } catch (const Error& e) {
    fail("stage '{}': samples: {}", job.stage, e.what());
  }
}

void read_prompt_format(const Job& job, eval::EvalOptions& o) {
  o.apply_chat_template = config_bool(job, "apply_chat_template", o.apply_chat_template);
  o.fewshot_as_multiturn = config_optional_bool(job, "fewshot_as_multiturn");
  o.system_instruction = config_string(job, "system_instruction", "");
  if (o.fewshot_as_multiturn.value_or(false) && !o.apply_chat_template)
    fail("stage '{}': fewshot_as_multiturn: true needs apply_chat_template: true (as lm-eval: few-shot turns exist "
         "only in a chat)",
         job.stage);
}

void run_eval_job(const Job& job) {
  eval::EvalOptions o;
  o.model_dir = job.dir.substr(0, job.dir.size() - std::string("/eval").size());
  o.tasks = config_list(job, "tasks");
  o.limit = config_number(job, "limit", o.limit);
  o.samples = eval_samples(job);
  o.num_fewshot = static_cast<int>(config_int(job, "num_fewshot", o.num_fewshot));
  read_prompt_format(job, o);
  o.strip_thinking = config_bool(job, "strip_thinking", o.strip_thinking);
  o.gen_kwargs = eval_gen_kwargs(job);
  o.seed = static_cast<uint64_t>(config_int(job, "seed", static_cast<int64_t>(o.seed)));
  o.data_root = config_string(job, "data_root", "");
  o.precision = parse_precision(config_string(job, "precision", "bf16"));
  o.max_batch = config_int(job, "max_batch", o.max_batch);
  o.cuda_device = config_device(job, o.precision);
  o.output_dir = job.dir;
  o.cache_dir = job.dir + "/" + kResponseCache;
  o.cache_holds_one_model = true;
  o.progress = ::isatty(2) != 0;
  eval::run_eval(o);
}

}  // namespace tt::study
