// The jobs that call other modules' entry points: the synthetic data generator (data) and the
// report (the evaluation harness is in stages_eval.cpp).
#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "report/report.h"
#include "study/stages.h"
#include "study/synthetic.h"
#include "study/yaml_util.h"

namespace tt::study {

void run_data_job(const Job& job) {
  const std::string generator = config_string(job, "generator", "synthetic");
  if (generator != "synthetic") fail("stage '{}': generator: unknown '{}' (known: synthetic)", job.stage, generator);
  SyntheticOptions o;
  o.out_dir = job.dir;
  o.seed = static_cast<uint64_t>(config_int(job, "seed", static_cast<int64_t>(o.seed)));
  o.pretrain_docs = config_int(job, "pretrain_docs", o.pretrain_docs);
  o.sft_arithmetic = config_int(job, "sft_arithmetic", o.sft_arithmetic);
  o.sft_ifeval = config_int(job, "sft_ifeval", o.sft_ifeval);
  o.sft_bbh_per_task = config_int(job, "sft_bbh_per_task", o.sft_bbh_per_task);
  o.prompts = config_int(job, "prompts", o.prompts);
  o.eval_gsm8k = config_int(job, "eval_gsm8k", o.eval_gsm8k);
  o.eval_ifeval = config_int(job, "eval_ifeval", o.eval_ifeval);
  o.eval_bbh_per_task = config_int(job, "eval_bbh_per_task", o.eval_bbh_per_task);
  o.vocab_size = config_int(job, "vocab_size", o.vocab_size);
  o.arithmetic.max_number = config_int(job, "arithmetic.max_number", o.arithmetic.max_number);
  o.arithmetic.max_factor = config_int(job, "arithmetic.max_factor", o.arithmetic.max_factor);
  o.arithmetic.weight_1 = config_number(job, "arithmetic.weight_1", o.arithmetic.weight_1);
  o.arithmetic.weight_2 = config_number(job, "arithmetic.weight_2", o.arithmetic.weight_2);
  o.arithmetic.weight_3 = config_number(job, "arithmetic.weight_3", o.arithmetic.weight_3);
  SyntheticFiles f = write_synthetic_data(o);
  log_info("{}: {} pretraining documents ({} tokens), {} SFT rows, {} prompts, eval {} gsm8k / {} ifeval / {} bbh "
           "({:.1f} s)",
           job.name, f.pretrain_docs, f.pretrain_tokens_total, f.sft_rows, f.prompt_rows, f.eval_gsm8k, f.eval_ifeval,
           f.eval_bbh, f.seconds);
}

void run_report_job(const Plan& plan, const Job& job) {
  report::ReportOptions o;
  o.out_dir = plan.output_dir;
  bool all = true;
  for (const Job* r : plan.runs()) all = all && std::find(job.deps.begin(), job.deps.end(), r->name) != job.deps.end();
  if (all) {
    o.dirs.push_back(plan.output_dir);  // the study directory: study.json names the runs and the title
  } else {
    for (const Job* r : plan.runs())
      if (std::find(job.deps.begin(), job.deps.end(), r->name) != job.deps.end()) o.dirs.push_back(r->dir);
  }
  if (const YAML::Node m = job.config["metric_overrides"]; m && m.IsMap())
    for (const auto& e : m) o.metric_overrides[e.first.as<std::string>()] = e.second.as<std::string>();
  report::write_report(o);  // logs what it wrote
}

}  // namespace tt::study
