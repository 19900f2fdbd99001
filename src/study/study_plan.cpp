// Planning a study: stages in dependency order, sweeps expanded into runs, references resolved,
// and each job's fingerprint (what decides whether a finished job can be skipped).
#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include <fmt/ranges.h>

#include "core/error.h"
#include "core/content_hash.h"
#include "io/file.h"
#include "study/input_hash.h"
#include "study/study.h"
#include "study/yaml_util.h"

namespace tt::study {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFingerprintVersion = "tinythink-study-1";

// Names inside ${...} of every scalar of a config.
std::vector<std::string> references(const YAML::Node& config) {
  std::vector<std::string> out;
  static const std::regex ref(R"(\$\{([^}]*)\})");
  rewrite_scalars(YAML::Clone(config), [&](const std::string&, const std::string& value) {
    for (std::sregex_iterator it(value.begin(), value.end(), ref), end; it != end; ++it) out.push_back((*it)[1]);
    return value;
  });
  return out;
}

bool is_builtin_reference(const std::string& name) { return name == "from" || name == "out" || name == "study_dir"; }

// Config keys whose values name input files or directories: their contents join the fingerprint.
bool is_path_key(const std::string& key) {
  static const std::set<std::string> leaves = {"path",   "name",       "model_name", "tokenizer_name", "eval_path",
                                               "chat_template", "sources_file", "prompts", "tokenizer", "config",
                                               "data_root"};
  auto dot = key.rfind('.');
  return leaves.count(dot == std::string::npos ? key : key.substr(dot + 1)) > 0;
}

bool is_inside(const fs::path& path, const fs::path& dir) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(path, ec), d = fs::weakly_canonical(dir, ec);
  auto [a, b] = std::mismatch(d.begin(), d.end(), p.begin(), p.end());
  return a == d.end();
}

std::string hex16(uint64_t h) { return fmt::format("{:016x}", h); }

struct StageRuns {
  std::vector<std::string> runs;  // job names of this stage's runs (or its jobs for eval/report)
};

class Planner {
 public:
  Planner(const Study& study, std::string output_dir) : study_(study), out_(std::move(output_dir)) {}

  Plan plan() {
    for (const auto& s : study_.stages) by_name_[s.name] = &s;
    const std::vector<const Stage*> order = stage_order();
    Plan plan;
    plan.study = study_;
    plan.output_dir = out_;
    InputHasher hasher(out_ + "/.input_hashes.json");
    for (const Stage* stage : order) expand(*stage, plan, hasher);
    hasher.save();
    return plan;
  }

 private:
  // Stage names (and run names) a stage needs before it can start.
  std::set<std::string> stage_deps(const Stage& s) const {
    std::set<std::string> deps;
    auto add = [&](const std::string& name, const std::string& what) {
      const std::string stage = stage_of(name);
      if (stage.empty()) fail("{}: {}: no stage or run named '{}' (stages: {})", s.where, what, name, stage_names());
      if (stage == s.name) fail("{}: {}: a stage cannot depend on itself", s.where, what);
      deps.insert(stage);
    };
    if (!s.from.empty()) add(s.from, "from");
    for (const auto& r : references(s.config))
      if (!is_builtin_reference(r)) add(r, "${" + r + "}");
    for (const auto& r : s.runs) add(r, "runs");
    if (s.kind == StageKind::Eval && s.runs.empty())
      for (const auto& other : study_.stages)
        if (produces_model(other.kind)) deps.insert(other.name);
    if (s.kind == StageKind::Report && s.runs.empty())
      for (const auto& other : study_.stages)
        if (other.kind != StageKind::Report) deps.insert(other.name);
    return deps;
  }

  std::string stage_names() const {
    std::vector<std::string> names;
    for (const auto& s : study_.stages) names.push_back(s.name);
    return fmt::format("{}", fmt::join(names, ", "));
  }

  // The stage a name refers to: a stage name, or a run name <stage>_<sweep...> of a sweeping stage.
  std::string stage_of(const std::string& name) const {
    if (by_name_.count(name)) return name;
    for (const auto& s : study_.stages)
      for (const auto& p : s.sweep)
        if (sweep_run_name(s.name, p) == name) return s.name;
    return "";
  }

  // Kahn's algorithm, taking the earliest-listed ready stage each time; a cycle is named in full.
  std::vector<const Stage*> stage_order() {
    std::map<std::string, std::set<std::string>> deps;
    for (const auto& s : study_.stages) deps[s.name] = stage_deps(s);
    std::vector<const Stage*> order;
    std::set<std::string> done;
    while (order.size() < study_.stages.size()) {
      const Stage* next = nullptr;
      for (const auto& s : study_.stages) {
        if (done.count(s.name)) continue;
        if (std::all_of(deps[s.name].begin(), deps[s.name].end(), [&](const auto& d) { return done.count(d) > 0; })) {
          next = &s;
          break;
        }
      }
      if (!next) fail("{}: the stages depend on each other in a cycle: {}", study_.source, find_cycle(deps, done));
      order.push_back(next);
      done.insert(next->name);
    }
    return order;
  }

  std::string find_cycle(const std::map<std::string, std::set<std::string>>& deps, const std::set<std::string>& done) {
    // Walk from any unfinished stage along unfinished dependencies until a stage repeats.
    std::string at;
    for (const auto& s : study_.stages)
      if (!done.count(s.name)) {
        at = s.name;
        break;
      }
    std::vector<std::string> path;
    while (std::find(path.begin(), path.end(), at) == path.end()) {
      path.push_back(at);
      for (const auto& d : deps.at(at))
        if (!done.count(d)) {
          at = d;
          break;
        }
    }
    std::vector<std::string> cycle(std::find(path.begin(), path.end(), at), path.end());
    cycle.push_back(at);
    return fmt::format("{}", fmt::join(cycle, " -> "));
  }

  // The run a name stands for: a run name, or a stage with exactly one run.
  const Job& resolve_run(const std::string& name, const std::string& where, const Plan& plan) const {
    if (const Job* job = plan.find(name); job && job->is_run()) return *job;
    auto it = stage_runs_.find(name);
    if (it != stage_runs_.end()) {
      if (it->second.runs.size() != 1)
        fail("{}: stage '{}' has {} runs ({}); name one of them", where, name, it->second.runs.size(),
             fmt::join(it->second.runs, ", "));
      const Job* job = plan.find(it->second.runs[0]);
      if (!job->is_run()) fail("{}: '{}' is a {} stage, not a run", where, name, stage_kind_name(job->kind));
      return *job;
    }
    fail("{}: no stage or run named '{}'", where, name);
  }

  // Every run a name covers: the runs of a stage, or the one run.
  std::vector<const Job*> covered_runs(const std::string& name, const std::string& where, const Plan& plan) const {
    auto it = stage_runs_.find(name);
    std::vector<const Job*> out;
    if (it != stage_runs_.end()) {
      for (const auto& r : it->second.runs) out.push_back(plan.find(r));
    } else if (const Job* job = plan.find(name)) {
      out.push_back(job);
    } else {
      fail("{}: no stage or run named '{}'", where, name);
    }
    for (const Job* j : out)
      if (!j->is_run()) fail("{}: '{}' is a {} stage, not a run", where, name, stage_kind_name(j->kind));
    return out;
  }

  // ${...} replaced; returns the names of the runs referred to.
  std::vector<std::string> substitute(YAML::Node config, const Job& job, const std::string& where, const Plan& plan) {
    std::vector<std::string> used;
    static const std::regex ref(R"(\$\{([^}]*)\})");
    rewrite_scalars(config, [&](const std::string&, const std::string& value) {
      std::string out;
      size_t last = 0;
      for (std::sregex_iterator it(value.begin(), value.end(), ref), end; it != end; ++it) {
        const std::string name = (*it)[1];
        out += value.substr(last, it->position() - last);
        last = it->position() + it->length();
        if (name == "out") out += out_;
        else if (name == "study_dir") out += study_.base_dir;
        else if (name == "from") {
          if (job.parent.empty()) fail("{}: ${{from}} used without 'from'", where);
          out += plan.find(job.parent)->dir;
        } else {
          const Job& target = resolve_run(name, where + ": ${" + name + "}", plan);
          used.push_back(target.name);
          out += target.dir;
        }
      }
      return out + value.substr(last);
    });
    return used;
  }

  void expand(const Stage& stage, Plan& plan, InputHasher& hasher) {
    StageRuns& mine = stage_runs_[stage.name];
    if (stage.kind == StageKind::Eval) return expand_eval(stage, plan, hasher, mine);
    if (stage.kind == StageKind::Report) return expand_report(stage, plan, mine);
    std::vector<SweepPoint> points = stage.sweep.empty() ? std::vector<SweepPoint>{{}} : stage.sweep;
    for (const auto& point : points) {
      Job job;
      job.stage = stage.name;
      job.kind = stage.kind;
      job.params = point;
      job.name = sweep_run_name(stage.name, point);
      if (plan.find(job.name) || (job.name != stage.name && by_name_.count(job.name)))
        fail("{}: run name '{}' is used twice", stage.where, job.name);
      const std::string where = stage.where + (point.empty() ? "" : " run '" + job.name + "'");
      job.dir = out_ + "/" + job.name;
      job.marker = job.dir + "/.done";
      job.config = YAML::Clone(stage.config);
      for (const auto& [param, value] : point) {
        std::string key = param;
        if (is_training(stage.kind) && key.find('.') == std::string::npos && key != "model_name" && key != "tokenizer_name")
          key = "trainer." + key;
        set_dotted(job.config, key, parse_yaml_text(value, where + ": sweep"), where + ": sweep");
      }
      if (!stage.from.empty()) {
        const Job& parent = resolve_run(stage.from, where + ": from", plan);
        if ((is_training(stage.kind) || stage.kind == StageKind::Pairs) && !produces_model(parent.kind))
          fail("{}: from: '{}' is a {} run, not a model checkpoint", where, parent.name, stage_kind_name(parent.kind));
        job.parent = parent.name;
        job.deps.push_back(parent.name);
      }
      // The fingerprint sees the config as written (references unresolved: the referenced runs'
      // fingerprints stand for them), so moving the output directory changes nothing.
      const std::string written = canonical_text(job.config);
      for (auto& used : substitute(job.config, job, where, plan))
        if (std::find(job.deps.begin(), job.deps.end(), used) == job.deps.end()) job.deps.push_back(used);
      if (is_training(stage.kind)) {
        if (!job.parent.empty()) {
          job.config["model_name"] = plan.find(job.parent)->dir;
          job.config["tokenizer_name"] = plan.find(job.parent)->dir;
        }
        set_dotted(job.config, "trainer.output_dir", YAML::Node(job.dir), where);
      }
      job.fingerprint = fingerprint(job, written, plan, hasher);
      mine.runs.push_back(job.name);
      plan.jobs.push_back(std::move(job));
    }
  }

  void expand_eval(const Stage& stage, Plan& plan, InputHasher& hasher, StageRuns& mine) {
    std::vector<const Job*> targets;
    if (stage.runs.empty()) {
      for (const Job* j : plan.runs())
        if (produces_model(j->kind)) targets.push_back(j);
    } else {
      for (const auto& name : stage.runs)
        for (const Job* j : covered_runs(name, stage.where + ": runs", plan)) {
          if (!produces_model(j->kind))
            fail("{}: runs: '{}' is a {} run; only model runs (init, sft, dpo) can be evaluated", stage.where, j->name,
                 stage_kind_name(j->kind));
          if (std::find(targets.begin(), targets.end(), j) == targets.end()) targets.push_back(j);
        }
    }
    if (targets.empty()) fail("{}: there is no model run to evaluate", stage.where);
    std::vector<Job> jobs;
    for (const Job* target : targets) {
      for (const auto& j : plan.jobs)
        if (j.kind == StageKind::Eval && j.parent == target->name)
          fail("{}: run '{}' is already evaluated by stage '{}' (its results go to {}/eval)", stage.where, target->name,
               j.stage, target->name);
      Job job;
      job.name = stage.name + ":" + target->name;
      job.stage = stage.name;
      job.kind = StageKind::Eval;
      job.dir = target->dir + "/eval";
      job.marker = job.dir + "/.done";
      job.parent = target->name;
      job.deps.push_back(target->name);
      job.config = YAML::Clone(stage.config);
      const std::string written = canonical_text(job.config);
      for (auto& used : substitute(job.config, job, stage.where, plan))
        if (std::find(job.deps.begin(), job.deps.end(), used) == job.deps.end()) job.deps.push_back(used);
      job.fingerprint = fingerprint(job, written, plan, hasher);
      jobs.push_back(std::move(job));
    }
    for (auto& j : jobs) {
      mine.runs.push_back(j.name);
      plan.jobs.push_back(std::move(j));
    }
  }

  void expand_report(const Stage& stage, Plan& plan, StageRuns& mine) {
    Job job;
    job.name = stage.name;
    job.stage = stage.name;
    job.kind = StageKind::Report;
    job.dir = out_;
    job.marker = out_ + "/." + stage.name + ".done";
    job.config = YAML::Clone(stage.config);
    std::vector<const Job*> covered;
    if (stage.runs.empty()) {
      for (const auto& j : plan.jobs) covered.push_back(&j);
    } else {
      for (const auto& name : stage.runs)
        for (const Job* r : covered_runs(name, stage.where + ": runs", plan)) {
          covered.push_back(r);
          for (const auto& j : plan.jobs)  // and the evaluations of those runs
            if (j.kind == StageKind::Eval && j.parent == r->name) covered.push_back(&j);
        }
    }
    for (const Job* j : covered)
      if (std::find(job.deps.begin(), job.deps.end(), j->name) == job.deps.end()) job.deps.push_back(j->name);
    InputHasher none("");
    job.fingerprint = fingerprint(job, canonical_text(job.config), plan, none);
    mine.runs.push_back(job.name);
    plan.jobs.push_back(std::move(job));
  }

  std::string fingerprint(const Job& job, const std::string& written_config, const Plan& plan, InputHasher& hasher) {
    uint64_t h = hash_string(kFingerprintVersion);
    h = hash_string(stage_kind_name(job.kind), h);
    h = hash_string(written_config, h);
    h = hash_string(job.parent, h);
    for (const auto& d : job.deps) h = hash_string(plan.find(d)->fingerprint, hash_string(d, h));
    // Input files named by the config (outside the study's own output) join by content.
    rewrite_scalars(YAML::Clone(job.config), [&](const std::string& key, const std::string& value) {
      if (is_path_key(key) && !value.empty() && fs::exists(value) && !is_inside(value, out_))
        h = hash_string(hasher.hash(value), hash_string(key, h));
      return value;
    });
    return hex16(h);
  }

  const Study& study_;
  std::string out_;
  std::map<std::string, const Stage*> by_name_;
  std::map<std::string, StageRuns> stage_runs_;
};

}  // namespace

Plan plan_study(const Study& study, const std::string& output_dir_override) {
  std::string out = output_dir_override.empty() ? study.output_dir : output_dir_override;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return Planner(study, out).plan();
}

JobState job_state(const Job& job) {
  auto fingerprint_in = [](const std::string& path) -> std::string {
    if (!file_exists(path)) return "";
    try {
      nlohmann::json j = read_json_file(path);
      return j.value("fingerprint", "");
    } catch (const Error&) {
      return "";  // a damaged marker counts as absent
    }
  };
  if (fingerprint_in(job.marker) == job.fingerprint) return JobState::Done;
  if (job.is_run() && (job.kind == StageKind::Sft || job.kind == StageKind::Dpo) &&
      fingerprint_in(job.dir + "/run.json") == job.fingerprint)
    return JobState::Resume;
  return JobState::Fresh;
}

}  // namespace tt::study
