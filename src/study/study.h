// A study: one YAML file naming the stages of an experiment (data, init, sft, pairs, dpo, eval,
// report), what each starts from, and the sweeps that expand a stage into several runs.
//
//   name: tiny-think
//   output_dir: out/tiny-think
//   stages:
//     - name: sft
//       kind: sft
//       config: sft.yaml                  # a training YAML (relative to the study file), or a mapping
//       set: [trainer.max_length=2048]    # --set-style overrides (a list of key=value, or a mapping)
//       sweep: {loss_type: [nll, dft], learning_rate: [2e-5, 5e-5]}   # cartesian product, or a list
//                                         # of such mappings (their union: grids that are not full)
//     - name: dpo
//       kind: dpo
//       from: sft_loss_typenll_learning_rate2e-5   # the run (or single-run stage) it starts from
//       config: {dataset: {path: ${pairs}/pairs.jsonl}, trainer: {loss_type: sigmoid}}
//     - name: eval
//       kind: eval
//       runs: [sft, dpo]                  # stages or runs to evaluate (default: every model run)
//       config: {tasks: [gsm8k_boxed], limit: 100}
//     - name: report
//       kind: report
//
// A sweep run is named <stage>_<param><value>_... (the param's last dotted component, the value as
// written). `${NAME}` inside config strings is the directory of run (or single-run stage) NAME and
// makes this stage depend on it; `${from}` is the parent's directory, `${out}` the output directory,
// `${study_dir}` the study file's directory.
//
// Output layout (read by the report): OUTPUT/study.json {"name", "runs": [run dirs]}; OUTPUT/<run>/
// holds run.json {"name", "kind", "parent", "sweep", "params", "fingerprint"}, the run's outputs and
// checkpoints, .done (written last) and eval/ (results.json + samples) when evaluated.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace tt::study {

enum class StageKind { Data, Init, Sft, Pairs, Dpo, Eval, Report };
const char* stage_kind_name(StageKind kind);
bool produces_model(StageKind kind);  // init, sft, dpo: a checkpoint directory
bool is_training(StageKind kind);     // sft, dpo: a trainer with a TRL-style config

// One point of a sweep: (param, value as written) in the order the sweep lists them.
using SweepPoint = std::vector<std::pair<std::string, std::string>>;

// <stage>_<param><value>_... with the param's last dotted component; characters other than letters,
// digits and . - + in values become '_'.
std::string sweep_run_name(const std::string& stage, const SweepPoint& point);

struct Stage {
  std::string name;
  StageKind kind = StageKind::Sft;
  std::string from;                  // "" = none
  YAML::Node config;                 // a mapping: the file or inline mapping with `set` applied
  std::string where;                 // "study.yaml: stage 'dpo'" for messages
  std::vector<SweepPoint> sweep;     // empty = one run named after the stage
  std::vector<std::string> runs;     // eval / report: stages or runs it covers (empty = default)
};

struct Study {
  std::string name;
  std::string output_dir;
  std::string source;     // the study file (or "<demo study>")
  std::string base_dir;   // relative config paths and ${study_dir} resolve against it
  std::vector<Stage> stages;  // in file order
};

// Parses a study. Errors name the file and the key: unknown keys, unknown kinds, duplicate names,
// a config file that does not exist, a sweep that is not a mapping of lists.
Study parse_study(const std::string& yaml_text, const std::string& source, const std::string& base_dir);
Study load_study(const std::string& path);

// `tinythink run --set STAGE.KEY=VALUE`: an override of one stage's config, as its `set:` list has
// them (a sweep's values still win over it). Errors name the item.
void apply_stage_override(Study& study, const std::string& item);

// One unit of work: a run (data, init, sft, pairs, dpo), one evaluation of a run, or the report.
struct Job {
  std::string name;        // run name; eval: "<stage>:<run>"; report: the stage name
  std::string stage;
  StageKind kind = StageKind::Sft;
  std::string dir;         // the run directory; eval: <run dir>/eval; report: the output directory
  std::string marker;      // written last when the job completes: {"fingerprint", "seconds"}
  std::string parent;      // run it starts from ("" = none); eval: the evaluated run
  std::vector<std::string> deps;   // job names that must complete first
  SweepPoint params;       // the sweep point ([] when the stage has no sweep)
  YAML::Node config;       // resolved: sweep applied, ${...} substituted
  std::string fingerprint; // 16 hex digits over kind, config, dependencies' fingerprints, input files
  bool is_run() const { return kind != StageKind::Eval && kind != StageKind::Report; }
};

struct Plan {
  Study study;
  std::string output_dir;
  std::vector<Job> jobs;  // in execution order (dependencies first, then file order)
  const Job* find(const std::string& name) const;
  std::vector<const Job*> runs() const;  // the jobs that are runs, in order
};

// Expands sweeps, resolves `from` and ${...} references, orders the jobs and fingerprints them.
// Errors: a `from` or reference naming no stage or run (or a stage with several runs), a cycle
// (named stage by stage), duplicate run names.
Plan plan_study(const Study& study, const std::string& output_dir_override = "");

// The run.json kind of a job: the stage kind, or for dpo the loss ("dpo" for sigmoid, else the
// loss_type, e.g. "apo_zero").
std::string run_kind(const Job& job);

// Where a job stands on disk: done (marker with this fingerprint), resumable (started with this
// fingerprint, not finished), or fresh (nothing, or a different fingerprint: it starts over).
enum class JobState { Done, Resume, Fresh };
JobState job_state(const Job& job);

struct RunOptions {
  bool dry_run = false;      // print the plan with each job's state; run nothing
  std::string only;          // run only this stage (its dependencies must be done)
};

struct RunSummary {
  int64_t ran = 0, skipped = 0;
  std::vector<std::string> ran_jobs;
};

RunSummary run_study(const Plan& plan, const RunOptions& options);

}  // namespace tt::study
