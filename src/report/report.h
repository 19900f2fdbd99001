// tinythink report: the capability-tax report across checkpoints (issue 8).
//
// Inputs are run directories (one stage's output) or study directories (study.json {"name", "runs":
// [relative run dirs]}). A run directory may hold
//   run.json            {"name", "kind", "parent", "sweep", "params": {...}}   (optional)
//   metrics.jsonl       training log rows (TRL names: loss, grad_norm, rewards/margins, ...)
//   eval/results.json   lm-eval-shaped results (eval/runner.h)
// Output, written atomically into out_dir: report.md (tables) and report.html (the same tables plus
// inline SVG charts: the capability tax as grouped bars, sweep heat-maps, training curves).
//
//   tt::report::write_report({.dirs = {"out/study"}});
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt::report {

struct ReportOptions {
  std::vector<std::string> dirs;  // run or study directories
  std::string out_dir;            // empty: the single input directory
  // task or group -> "metric,filter" (or just "metric": its first filter), replacing the headline choice.
  std::map<std::string, std::string> metric_overrides;
};

struct ReportSummary {
  std::string title;
  std::string markdown_path, html_path;
  int64_t runs = 0;               // listed runs, with or without results
  int64_t runs_with_results = 0;  // rows of the benchmark table
  int64_t benchmarks = 0;         // columns of the benchmark table
  int64_t deltas = 0;             // capability-tax rows (runs whose parent also has results)
  int64_t charts = 0;             // <svg> elements in report.html
};

// Loads every run, builds the tables and charts, writes report.md and report.html.
// Throws tt::Error (one line naming the file, and the line for JSONL) on bad input.
ReportSummary write_report(const ReportOptions& options);

// ---- The pieces, for tests and for the study runner ------------------------------------------

inline constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

// One number with its standard error; NaN = absent (an error of "N/A" is absent).
struct Score {
  double value = kMissing;
  double error = kMissing;
  bool present() const { return std::isfinite(value); }
};

struct Run {
  std::string name;    // run.json "name", else the directory's basename
  std::string dir;
  std::string kind;    // "" when unknown
  std::string parent;  // "" when none or unknown
  std::string sweep;   // "" when not part of a sweep
  nlohmann::ordered_json params = nlohmann::ordered_json::object();
  bool exists = true;        // false: listed in a study.json but the directory is not there (yet)
  bool has_results = false;  // eval/results.json was read
  nlohmann::ordered_json results;        // eval/results.json, keys in file order
  std::vector<nlohmann::json> metrics;   // metrics.jsonl rows
};

struct Inputs {
  std::string title;  // the study's name, the single run's name, or "N runs"
  std::vector<Run> runs;
};

// Expands study directories and loads each run. A missing input directory, malformed JSON or a
// malformed metrics line is an error; a run without eval/results.json is kept (listed, not tabled).
Inputs load_inputs(const std::vector<std::string>& dirs);
Run load_run(const std::string& dir);

// The headline metric key ("<metric>,<filter>") of a task among the keys its results hold (file
// order): gsm8k*, math*, bbh*: exact_match with flexible-extract, else its first filter; ifeval:
// prompt_level_strict_acc; mmlu*, arc*, and other multiple-choice tasks: acc_norm, else acc;
// otherwise the first metric. "" when there is none.
std::string headline_metric(const std::string& task, const std::vector<std::string>& metric_keys);

struct Benchmark {
  std::string name;        // task or group name
  std::string metric;      // "<metric>,<filter>"
  bool group = false;      // a group (its subtasks are not shown)
  bool percent = true;     // every value lies in [0, 1]: shown ×100
};

// The checkpoints × benchmarks table: one row per run with results.
struct Table {
  std::vector<Benchmark> benchmarks;
  std::vector<size_t> rows;               // indices into the runs
  std::vector<std::vector<Score>> cells;  // [row][benchmark], in the results' units (fractions)
};

// Columns: every group, and every task that is no group's subtask, in the order of first appearance.
Table benchmark_table(const std::vector<Run>& runs, const std::map<std::string, std::string>& metric_overrides);

// A run minus its parent, per benchmark; error = sqrt(a² + b²) of the two standard errors.
struct Delta {
  size_t run = 0, parent = 0;  // indices into the runs
  std::vector<Score> values;   // per benchmark of the table, in the results' units
};
// For every tabled run whose parent is also tabled, in row order.
std::vector<Delta> capability_tax(const std::vector<Run>& runs, const Table& table);

// Runs sharing a "sweep" name, and the params that differ between them (params order of the first run).
struct Sweep {
  std::string name;
  std::vector<size_t> runs;           // tabled runs of the sweep
  std::vector<std::string> varying;   // param names whose values differ
};
std::vector<Sweep> find_sweeps(const std::vector<Run>& runs, const Table& table);

// Formatting shared by report.md and report.html (same doubles, same text).
std::string format_score(const Score& score, bool percent);        // "9.40 ± 0.80", "9.40", "—"
std::string format_delta(const Score& delta, bool percent);        // "+1.36 ± 0.95" (points), "—"
std::string format_param(const nlohmann::ordered_json& value);     // 5e-07 -> "5e-7", "sigmoid"

}  // namespace tt::report
