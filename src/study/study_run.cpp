// Running a planned study: each job in order, skipped when done with the same fingerprint, resumed
// from its checkpoints when it was started with the same fingerprint, otherwise started over.
#include <filesystem>
#include <set>

#include <fmt/ranges.h>

#include "core/error.h"
#include "core/log.h"
#include "core/number.h"
#include "core/system.h"
#include "io/file.h"
#include "study/stages.h"
#include "study/study.h"
#include "study/yaml_util.h"

namespace tt::study {

namespace fs = std::filesystem;

namespace {

const char* state_name(JobState s) {
  switch (s) {
    case JobState::Done: return "done";
    case JobState::Resume: return "resume";
    case JobState::Fresh: return "to run";
  }
  return "?";
}

nlohmann::ordered_json params_json(const SweepPoint& point) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [param, value] : point) {
    // numbers as numbers, so the report can order a sweep's axis
    nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_number()) out[param] = parsed;
    else if (const std::optional<double> v = parse_double(value)) {
      out[param] = *v;
    } else {
      out[param] = value;
    }
  }
  return out;
}

// run.json: what the report reads about a run.
nlohmann::ordered_json run_json(const Plan& plan, const Job& job) {
  nlohmann::ordered_json j;
  j["name"] = job.name;
  j["kind"] = run_kind(job);
  j["stage"] = job.stage;
  j["parent"] = job.parent.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(job.parent);
  const Stage* stage = nullptr;
  for (const auto& s : plan.study.stages)
    if (s.name == job.stage) stage = &s;
  j["sweep"] = stage && !stage->sweep.empty() ? nlohmann::ordered_json(job.stage) : nlohmann::ordered_json(nullptr);
  nlohmann::ordered_json params = params_json(job.params);
  const nlohmann::ordered_json key = key_params(job);
  for (const auto& [name, value] : key.items())
    if (!params.contains(name)) params[name] = value;
  j["params"] = params;
  j["fingerprint"] = job.fingerprint;
  return j;
}

// A directory the study may delete: one it made (run.json inside), or an empty one. The response
// cache of an eval or pairs job stays: its answers are keyed by the model and the request, and a
// rerun (after a kill, or with a larger limit, more tasks or prompts) takes what it shares from there.
void clear_run_dir(const Job& job) {
  if (!fs::exists(job.dir)) return;
  const bool keeps_cache = job.kind == StageKind::Eval || job.kind == StageKind::Pairs;
  if (job.kind == StageKind::Eval || fs::exists(job.dir + "/run.json") || fs::is_empty(job.dir)) {
    for (const auto& e : fs::directory_iterator(job.dir))
      if (!keeps_cache || e.path().filename() != kResponseCache || !e.is_directory()) fs::remove_all(e.path());
    return;
  }
  fail("{}: exists and is not a run of this study (no run.json); move it away or choose another --out", job.dir);
}

// OUTPUT/study.json is replaced only when it is this study's, from an earlier run (its name): a file of
// that name that the user keeps there, or another study's, is never overwritten.
void check_study_json_is_ours(const Plan& plan) {
  const std::string path = plan.output_dir + "/study.json";
  if (!fs::exists(path)) return;
  const nlohmann::json existing = nlohmann::json::parse(read_file(path), nullptr, false);
  const bool a_study = existing.is_object() && existing.contains("name") && existing["name"].is_string() &&
                       existing.contains("runs") && existing["runs"].is_array();
  if (a_study && existing["name"] == plan.study.name) return;
  if (a_study)
    fail("{}: holds study '{}', not '{}'; move it away or choose another output_dir", path,
         existing["name"].get<std::string>(), plan.study.name);
  fail("{}: exists and is not a study.json written by tinythink; move it away or choose another output_dir", path);
}

void write_study_json(const Plan& plan) {
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  for (const Job* j : plan.runs()) runs.push_back(fs::relative(j->dir, plan.output_dir).string());
  nlohmann::ordered_json study = {{"name", plan.study.name}, {"source", plan.study.source}, {"runs", runs}};
  write_file_atomic(plan.output_dir + "/study.json", study.dump(2) + "\n");
}

}  // namespace

RunSummary run_study(const Plan& plan, const RunOptions& options) {
  if (!options.only.empty()) {
    bool found = false;
    for (const auto& s : plan.study.stages) found |= s.name == options.only;
    if (!found) fail("--only {}: no such stage in {}", options.only, plan.study.source);
  }
  // Check every stage's configuration before anything runs: a typo in the last stage should not
  // surface after an hour of training.
  for (const auto& job : plan.jobs) {
    try {
      validate_job(job);
    } catch (const Error& e) {
      const std::string message = e.what();  // "stage 'x' ...": name the study file too
      if (message.rfind("stage '", 0) == 0) fail("{}: {}", plan.study.source, message);
      throw;
    }
  }

  std::vector<JobState> states;
  for (const auto& job : plan.jobs) states.push_back(job_state(job));
  if (options.dry_run) {
    log_info("study {} ({}): {} jobs -> {}", plan.study.name, plan.study.source, plan.jobs.size(), plan.output_dir);
    for (size_t i = 0; i < plan.jobs.size(); ++i) {
      const Job& job = plan.jobs[i];
      std::string params;
      for (const auto& [p, v] : job.params) params += fmt::format(" {}={}", p, v);
      std::string line = fmt::format("  {:<8} {:<40} {:<9}{}{}", state_name(states[i]), job.name, run_kind(job),
                                     job.parent.empty() ? "" : " from " + job.parent, params);
      log_info("{}", line.substr(0, line.find_last_not_of(' ') + 1));
    }
    return {};
  }

  check_study_json_is_ours(plan);
  create_directories_or_fail(plan.output_dir, "study output_dir");
  write_study_json(plan);
  RunSummary summary;
  std::set<std::string> completed;
  const double t_start = now_seconds();
  for (size_t i = 0; i < plan.jobs.size(); ++i) {
    const Job& job = plan.jobs[i];
    const bool selected = options.only.empty() || job.stage == options.only;
    if (states[i] == JobState::Done) {
      completed.insert(job.name);
      if (selected) {
        ++summary.skipped;
        log_info("[{}/{}] {}: done, skipped (fingerprint {})", i + 1, plan.jobs.size(), job.name, job.fingerprint);
      }
      continue;
    }
    if (!selected) continue;
    for (const auto& d : job.deps)
      if (!completed.count(d))
        fail("{}: needs '{}', which has not completed (run without --only, or --only {} first)", job.name, d,
             plan.find(d)->stage);
    const bool resume = states[i] == JobState::Resume;
    log_info("[{}/{}] {} ({}{}){}", i + 1, plan.jobs.size(), job.name, run_kind(job),
             job.parent.empty() ? "" : " from " + job.parent, resume ? ": resuming" : "");
    if (!resume && job.kind != StageKind::Report) clear_run_dir(job);
    create_directories_or_fail(job.dir, job.name + ":");
    if (job.is_run()) write_file_atomic(job.dir + "/run.json", run_json(plan, job).dump(2) + "\n");
    const double t0 = now_seconds();
    execute_job(plan, job, resume);
    const double seconds = now_seconds() - t0;
    nlohmann::ordered_json marker = {{"fingerprint", job.fingerprint}, {"seconds", seconds}};
    write_file_atomic(job.marker, marker.dump(2) + "\n");  // last: the job counts as done from here on
    log_info("[{}/{}] {}: finished in {:.1f} s", i + 1, plan.jobs.size(), job.name, seconds);
    completed.insert(job.name);
    summary.ran_jobs.push_back(job.name);
    ++summary.ran;
  }
  log_info("study {}: {} jobs run, {} skipped, {:.1f} s -> {}", plan.study.name, summary.ran, summary.skipped,
           now_seconds() - t_start, plan.output_dir);
  return summary;
}

}  // namespace tt::study
