// Hand-written run and study directories for the report tests (src/report/report_test.cpp and
// tests/report_cli_test.cpp): lm-eval-shaped results.json, TRL-named metrics.jsonl, run.json.
#pragma once
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt::report::testing {

using ojson = nlohmann::ordered_json;

inline void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline double binomial_stderr(double p, int n) { return std::sqrt(p * (1 - p) / (n - 1)); }

// The headline numbers of one checkpoint; NaN leaves the task out of results.json.
struct Scores {
  double gsm8k_flexible, gsm8k_strict, bbh, ifeval, mmlu_stem, arc_norm;
};

// results.json the way lm-eval 0.4 writes it: groups appear in "results" (alias "bbh_zeroshot") and in
// "groups", subtasks with alias " - <name>", keys sorted, "N/A" for a stderr lm-eval cannot compute.
inline ojson lm_eval_results(const Scores& s) {
  ojson results = ojson::object(), groups = ojson::object(), subtasks = ojson::object();
  ojson arc = {{"alias", "arc_challenge"},
               {"acc,none", s.arc_norm - 0.03},
               {"acc_stderr,none", binomial_stderr(s.arc_norm - 0.03, 1172)},
               {"acc_norm,none", s.arc_norm},
               {"acc_norm_stderr,none", binomial_stderr(s.arc_norm, 1172)}};
  results["arc_challenge"] = arc;
  ojson bbh = {{"alias", "bbh_zeroshot"},
               {"exact_match,flexible-extract", s.bbh},
               {"exact_match_stderr,flexible-extract", binomial_stderr(s.bbh, 6511)},
               {"exact_match,strict-match", s.bbh / 2},
               {"exact_match_stderr,strict-match", binomial_stderr(s.bbh / 2, 6511)}};
  results["bbh_zeroshot"] = bbh;
  groups["bbh_zeroshot"] = bbh;
  subtasks["bbh_zeroshot"] = {"bbh_zeroshot_boolean_expressions", "bbh_zeroshot_navigate"};
  results["bbh_zeroshot_boolean_expressions"] = {{"alias", " - bbh_zeroshot_boolean_expressions"},
                                                 {"exact_match,flexible-extract", s.bbh + 0.1},
                                                 {"exact_match_stderr,flexible-extract", 0.03}};
  results["bbh_zeroshot_navigate"] = {{"alias", " - bbh_zeroshot_navigate"},
                                      {"exact_match,flexible-extract", s.bbh - 0.1},
                                      {"exact_match_stderr,flexible-extract", 0.03}};
  results["gsm8k_boxed"] = {{"alias", "gsm8k_boxed"},
                            {"exact_match,strict-match", s.gsm8k_strict},
                            {"exact_match_stderr,strict-match", binomial_stderr(s.gsm8k_strict, 1319)},
                            {"exact_match,flexible-extract", s.gsm8k_flexible},
                            {"exact_match_stderr,flexible-extract", binomial_stderr(s.gsm8k_flexible, 1319)}};
  subtasks["gsm8k_boxed"] = ojson::array();
  if (std::isfinite(s.ifeval))
    results["ifeval"] = {{"alias", "ifeval"},
                         {"prompt_level_strict_acc,none", s.ifeval},
                         {"prompt_level_strict_acc_stderr,none", binomial_stderr(s.ifeval, 541)},
                         {"inst_level_strict_acc,none", s.ifeval + 0.1},
                         {"inst_level_strict_acc_stderr,none", "N/A"},
                         {"prompt_level_loose_acc,none", s.ifeval + 0.02},
                         {"prompt_level_loose_acc_stderr,none", binomial_stderr(s.ifeval + 0.02, 541)}};
  ojson mmlu = {{"alias", "mmlu_stem"}, {"acc,none", s.mmlu_stem}, {"acc_stderr,none", "N/A"}};
  results["mmlu_stem"] = mmlu;
  groups["mmlu_stem"] = mmlu;
  subtasks["mmlu_stem"] = {"mmlu_abstract_algebra", "mmlu_college_physics"};
  results["mmlu_abstract_algebra"] = {{"alias", " - abstract_algebra"}, {"acc,none", 0.22}, {"acc_stderr,none", 0.04}};
  results["mmlu_college_physics"] = {{"alias", " - college_physics"}, {"acc,none", 0.2}, {"acc_stderr,none", 0.04}};
  return {{"results", results},
          {"groups", groups},
          {"group_subtasks", subtasks},
          {"n-samples", {{"gsm8k_boxed", {{"original", 1319}, {"effective", 1319}}}}},
          {"higher_is_better", {{"gsm8k_boxed", {{"exact_match", true}}}}},
          {"config", {{"model", "tinythink"}, {"seed", 1234}}},
          {"date", 1767225600.0}};
}

inline void write_run(const std::string& dir, const ojson& run_json) {
  write_text(dir + "/run.json", run_json.dump(2));
}

inline void write_results(const std::string& dir, const Scores& scores) {
  write_text(dir + "/eval/results.json", lm_eval_results(scores).dump(2));
}

// A training log: SFT rows, or DPO rows (with rewards/*) when `preference`.
inline void write_metrics(const std::string& dir, int steps, bool preference) {
  std::string text;
  for (int step = 1; step <= steps; ++step) {
    ojson row = {{"step", step},
                 {"loss", preference ? 0.69 * std::exp(-0.05 * step) : 2.0 * std::exp(-0.1 * step) + 0.5},
                 {"learning_rate", 1e-6},
                 {"grad_norm", 1.5 + std::sin(step)},
                 {"epoch", step / double(steps)}};
    if (preference) {
      row["rewards/chosen"] = 0.01 * step;
      row["rewards/rejected"] = -0.02 * step;
      row["rewards/margins"] = 0.03 * step;
      row["rewards/accuracies"] = std::min(1.0, 0.5 + 0.03 * step);
      row["logps/chosen"] = -200.0 + step;
      row["logps/rejected"] = -210.0 - step;
    } else {
      row["mean_token_accuracy"] = 0.5 + 0.01 * step;
      row["num_tokens"] = 4096 * step;
    }
    text += row.dump() + "\n";
  }
  write_text(dir + "/metrics.jsonl", text);
}

// A study: base -> sft (sweep sft_lr: sft, sft_lr2e-5) -> dpo_grid (beta × learning_rate, 4 runs, one
// without ifeval), and apo_zero with a training log but no results yet.
struct StudyFixture {
  std::string dir;
  std::vector<std::string> tabled = {"base", "sft", "sft_lr2e-5", "dpo_b0.5_lr1e-6", "dpo_b0.5_lr3e-6",
                                     "dpo_b1_lr1e-6", "dpo_b1_lr3e-6"};
  int benchmarks = 5;         // arc_challenge, bbh_zeroshot, gsm8k_boxed, ifeval, mmlu_stem
  int deltas = 6;             // sft, sft_lr2e-5 (vs base); 4 dpo (vs sft)
  int charts = 1 + 1 + 5 + 2 + 4 * 4 + 4;  // tax, sft_lr line, dpo_grid heat-maps, curves (sft, dpo ×4, apo)
};

inline StudyFixture make_study(const std::string& dir) {
  StudyFixture study;
  study.dir = dir;
  ojson runs = ojson::array();
  auto add = [&](const std::string& name, const ojson& info) {
    write_run(dir + "/runs/" + name, info);
    runs.push_back("runs/" + name);
  };
  add("base", {{"name", "base"}, {"kind", "base"}, {"parent", nullptr}, {"sweep", nullptr}, {"params", ojson::object()}});
  write_results(dir + "/runs/base", {0.0205, 0.0152, 0.2201, 0.1811, 0.2467, 0.2875});

  add("sft", {{"name", "sft"}, {"kind", "sft"}, {"parent", "base"}, {"sweep", "sft_lr"},
              {"params", {{"loss_type", "nll"}, {"learning_rate", 5e-5}}}});
  write_results(dir + "/runs/sft", {0.0804, 0.0713, 0.2384, 0.2163, 0.2541, 0.2901});
  write_metrics(dir + "/runs/sft", 30, false);
  add("sft_lr2e-5", {{"name", "sft_lr2e-5"}, {"kind", "sft"}, {"parent", "base"}, {"sweep", "sft_lr"},
                     {"params", {{"loss_type", "nll"}, {"learning_rate", 2e-5}}}});
  write_results(dir + "/runs/sft_lr2e-5", {0.0652, 0.0601, 0.2290, 0.2005, 0.2588, 0.2850});

  struct Dpo {
    const char* name;
    double beta, lr;
    Scores scores;
  };
  const double no_ifeval = std::nan("");
  std::vector<Dpo> dpo = {{"dpo_b0.5_lr1e-6", 0.5, 1e-6, {0.0850, 0.0790, 0.2011, 0.1850, 0.2500, 0.2880}},
                          {"dpo_b0.5_lr3e-6", 0.5, 3e-6, {0.0826, 0.0801, 0.1201, 0.1608, 0.2490, 0.2866}},
                          {"dpo_b1_lr1e-6", 1.0, 1e-6, {0.0899, 0.0820, 0.1905, 0.1790, 0.2511, 0.2901}},
                          {"dpo_b1_lr3e-6", 1.0, 3e-6, {0.0940, 0.0870, 0.1318, no_ifeval, 0.2470, 0.2823}}};
  for (const auto& d : dpo) {
    add(d.name, {{"name", d.name}, {"kind", "dpo"}, {"parent", "sft"}, {"sweep", "dpo_grid"},
                 {"params", {{"beta", d.beta}, {"learning_rate", d.lr}, {"loss_type", "sigmoid"}}}});
    write_results(dir + "/runs/" + d.name, d.scores);
    write_metrics(dir + "/runs/" + d.name, 25, true);
  }
  add("apo_zero", {{"name", "apo_zero"}, {"kind", "apo_zero"}, {"parent", "sft"}, {"sweep", nullptr},
                   {"params", {{"beta", 0.5}, {"learning_rate", 3e-6}, {"loss_type", "apo_zero"}}}});
  write_metrics(dir + "/runs/apo_zero", 12, true);

  write_text(dir + "/study.json", ojson({{"name", "tiny-think"}, {"runs", runs}}).dump(2));
  return study;
}

}  // namespace tt::report::testing
