// The report's data: loading run and study directories, choosing each benchmark's headline metric,
// the checkpoints × benchmarks table, the capability tax and the sweeps.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/log.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "report/report.h"
#include "report/svg.h"

namespace tt::report {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

std::string strip_json_tag(const std::string& what) {
  if (!what.empty() && what[0] == '[') {
    size_t close = what.find("] ");
    if (close != std::string::npos) return what.substr(close + 2);
  }
  return what;
}

// Python's json.dumps writes NaN, Infinity and -Infinity as bare words (allow_nan is its default), and
// lm-eval's results.json carries them (a metric or stderr of an empty or degenerate task). They are
// read as null, a value the report shows as missing; words inside strings are left alone.
std::string python_non_finite_as_null(std::string text) {
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    for (std::string_view word : {"-Infinity", "Infinity", "NaN"}) {
      if (text.compare(i, word.size(), word) != 0) continue;
      text.replace(i, word.size(), "null");
      i += 3;
      break;
    }
  }
  return text;
}

// Like read_json_file, but keeping the file's key order (benchmark columns follow it).
ojson read_ordered_json(const std::string& path) {
  std::string text = python_non_finite_as_null(read_file(path));
  try {
    return ojson::parse(text);
  } catch (const ojson::exception& e) {
    fail("{}: invalid JSON: {}", path, strip_json_tag(e.what()));
  }
}

std::string dir_basename(const std::string& dir) {
  fs::path path = fs::path(dir).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  std::string name = path.filename().string();
  if (name.empty() || name == ".") name = fs::absolute(path).lexically_normal().filename().string();
  return name;
}

// A string field, or "" for null/absent; anything else is an error naming the file and key.
std::string optional_string(const ojson& object, const char* key, const std::string& path) {
  if (!object.contains(key) || object[key].is_null()) return "";
  if (!object[key].is_string()) fail("{}: '{}' must be a string or null", path, key);
  return object[key].get<std::string>();
}

void validate_results(const ojson& results, const std::string& path) {
  if (!results.is_object()) fail("{}: expected a JSON object", path);
  if (!results.contains("results") || !results["results"].is_object())
    fail("{}: no \"results\" object (expected lm-eval's results.json shape)", path);
  for (const char* section : {"results", "groups"}) {
    if (!results.contains(section)) continue;
    if (!results[section].is_object()) fail("{}: \"{}\" must be an object", path, section);
    for (const auto& [name, entry] : results[section].items())
      if (!entry.is_object()) fail("{}: {}.{} must be an object of metrics", path, section, name);
  }
  if (results.contains("group_subtasks")) {
    const auto& subtasks = results["group_subtasks"];
    if (!subtasks.is_object()) fail("{}: \"group_subtasks\" must be an object", path);
    for (const auto& [group, list] : subtasks.items()) {
      if (!list.is_array()) fail("{}: group_subtasks.{} must be a list of task names", path, group);
      for (const auto& task : list)
        if (!task.is_string()) fail("{}: group_subtasks.{} holds a value that is not a task name", path, group);
    }
  }
}

// Columns of the training curves: a value present in a row must be a number (or null: not logged).
void validate_metrics_row(const std::string& path, int64_t line, const nlohmann::json& row) {
  for (const char* key : {"step", "loss", "grad_norm", "rewards/margins", "rewards/accuracies"})
    if (row.contains(key) && !row[key].is_null() && !row[key].is_number())
      fail_at_line(path, line, fmt::format("'{}' is not a number", key));
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string metric_name(const std::string& key) { return key.substr(0, key.find(',')); }

// "<metric>,<filter>" -> "<metric>_stderr,<filter>"
std::string stderr_key(const std::string& key) {
  size_t comma = key.find(',');
  if (comma == std::string::npos) return key + "_stderr";
  return key.substr(0, comma) + "_stderr" + key.substr(comma);
}

bool is_metric_key(const std::string& key) {
  return key.find(',') != std::string::npos && metric_name(key).find("_stderr") == std::string::npos;
}

const ojson* entry_of(const Run& run, const std::string& name) {
  if (!run.has_results) return nullptr;
  const auto& r = run.results;
  if (r.contains("groups") && r["groups"].contains(name)) return &r["groups"][name];
  if (r["results"].contains(name)) return &r["results"][name];
  return nullptr;
}

double number_or_missing(const ojson& entry, const std::string& key) {
  if (!entry.contains(key) || !entry[key].is_number()) return kMissing;  // absent, "N/A", null
  return entry[key].get<double>();
}

}  // namespace

Run load_run(const std::string& dir) {
  Run run;
  run.dir = dir;
  run.name = dir_basename(dir);
  if (!fs::exists(dir)) fail("{}: no such directory", dir);
  if (!fs::is_directory(dir)) fail("{}: not a directory", dir);

  std::string run_json = (fs::path(dir) / "run.json").string();
  if (fs::exists(run_json)) {
    ojson info = read_ordered_json(run_json);
    if (!info.is_object()) fail("{}: expected a JSON object", run_json);
    if (std::string name = optional_string(info, "name", run_json); !name.empty()) run.name = name;
    run.kind = optional_string(info, "kind", run_json);
    run.parent = optional_string(info, "parent", run_json);
    run.sweep = optional_string(info, "sweep", run_json);
    if (info.contains("params") && !info["params"].is_null()) {
      if (!info["params"].is_object()) fail("{}: 'params' must be an object", run_json);
      run.params = info["params"];
    }
  }

  std::string metrics_path = (fs::path(dir) / "metrics.jsonl").string();
  if (fs::exists(metrics_path)) {
    read_jsonl(metrics_path, [&](int64_t line, const nlohmann::json& row) {
      validate_metrics_row(metrics_path, line, row);
      run.metrics.push_back(row);
    });
  }

  std::string results_path = (fs::path(dir) / "eval" / "results.json").string();
  if (fs::exists(results_path)) {
    run.results = read_ordered_json(results_path);
    validate_results(run.results, results_path);
    run.has_results = true;
  }
  return run;
}

Inputs load_inputs(const std::vector<std::string>& dirs) {
  if (dirs.empty()) fail("report: no run or study directories given");
  Inputs inputs;
  std::vector<std::string> study_names;
  for (const auto& dir : dirs) {
    if (!fs::exists(dir)) fail("{}: no such directory", dir);
    if (!fs::is_directory(dir)) fail("{}: not a directory", dir);
    std::string study_json = (fs::path(dir) / "study.json").string();
    if (!fs::exists(study_json)) {
      bool looks_like_run = fs::exists(fs::path(dir) / "run.json") || fs::exists(fs::path(dir) / "metrics.jsonl") ||
                            fs::exists(fs::path(dir) / "eval" / "results.json");
      if (!looks_like_run)
        fail("{}: neither a run directory (no run.json, metrics.jsonl or eval/results.json) nor a study (no study.json)",
             dir);
      inputs.runs.push_back(load_run(dir));
      continue;
    }
    ojson study = read_ordered_json(study_json);
    if (!study.is_object() || !study.contains("runs") || !study["runs"].is_array())
      fail("{}: expected {{\"name\": ..., \"runs\": [run directories]}}", study_json);
    std::string name = optional_string(study, "name", study_json);
    study_names.push_back(name.empty() ? dir_basename(dir) : name);
    for (const auto& entry : study["runs"]) {
      if (!entry.is_string()) fail("{}: 'runs' holds a value that is not a directory name", study_json);
      fs::path run_dir = entry.get<std::string>();
      if (run_dir.is_relative()) run_dir = fs::path(dir) / run_dir;
      if (!fs::exists(run_dir)) {
        // A study still in progress lists stages that have not started: list them, do not fail.
        log_warn("{}: run directory {} does not exist (not run yet?)", study_json, run_dir.string());
        Run missing;
        missing.name = dir_basename(run_dir.string());
        missing.dir = run_dir.string();
        missing.exists = false;
        inputs.runs.push_back(std::move(missing));
        continue;
      }
      inputs.runs.push_back(load_run(run_dir.string()));
    }
  }

  std::map<std::string, std::string> seen;
  for (const auto& run : inputs.runs) {
    auto [it, inserted] = seen.emplace(run.name, run.dir);
    if (!inserted && fs::weakly_canonical(it->second) != fs::weakly_canonical(run.dir))
      fail("report: two runs are named '{}' ({} and {}); run names must be unique", run.name, it->second, run.dir);
  }
  // The same directory given twice (or through two studies) is reported once.
  std::set<std::string> dirs_seen;
  std::erase_if(inputs.runs, [&](const Run& run) {
    return !dirs_seen.insert(fs::weakly_canonical(run.dir).string()).second;
  });

  if (study_names.size() == 1 && dirs.size() == 1) inputs.title = study_names[0];
  else if (inputs.runs.size() == 1) inputs.title = inputs.runs[0].name;
  else inputs.title = fmt::format("{} runs", inputs.runs.size());
  return inputs;
}

std::string headline_metric(const std::string& task, const std::vector<std::string>& metric_keys) {
  std::string name = task;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  auto exact = [&](const std::string& key) {
    return std::find(metric_keys.begin(), metric_keys.end(), key) != metric_keys.end() ? key : std::string();
  };
  auto first_of = [&](const std::string& metric) {
    for (const auto& key : metric_keys)
      if (metric_name(key) == metric) return key;
    return std::string();
  };
  auto first_found = [](std::initializer_list<std::string> candidates) {
    for (const auto& c : candidates)
      if (!c.empty()) return c;
    return std::string();
  };

  std::string chosen;
  bool generative = starts_with(name, "gsm8k") || starts_with(name, "math") || name.find("bbh") != std::string::npos;
  if (generative) {
    chosen = first_found({exact("exact_match,flexible-extract"), first_of("exact_match"), first_of("math_verify")});
  } else if (name.find("ifeval") != std::string::npos) {
    chosen = first_of("prompt_level_strict_acc");
  }
  // Multiple-choice tasks (mmlu*, arc*, piqa, openbookqa, gpqa, ...) and everything else.
  if (chosen.empty())
    chosen = first_found({first_of("acc_norm"), first_of("acc"), exact("exact_match,flexible-extract"),
                          first_of("exact_match")});
  if (chosen.empty() && !metric_keys.empty()) chosen = metric_keys.front();
  return chosen;
}

Table benchmark_table(const std::vector<Run>& runs, const std::map<std::string, std::string>& metric_overrides) {
  Table table;
  // Subtasks of any group, in any run, are hidden behind their group.
  std::set<std::string> hidden, group_names;
  for (const auto& run : runs) {
    if (!run.has_results) continue;
    if (run.results.contains("group_subtasks"))
      for (const auto& [group, subtasks] : run.results["group_subtasks"].items()) {
        if (!subtasks.empty()) group_names.insert(group);
        for (const auto& task : subtasks) hidden.insert(task.get<std::string>());
      }
    if (run.results.contains("groups"))
      for (const auto& [group, entry] : run.results["groups"].items()) group_names.insert(group);
  }

  std::vector<std::string> names;
  std::map<std::string, std::vector<std::string>> keys;  // benchmark -> metric keys, first-seen order
  auto add = [&](const std::string& name, const ojson& entry) {
    if (hidden.count(name)) return;
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    auto& list = keys[name];
    for (const auto& [key, value] : entry.items())
      if (is_metric_key(key) && std::find(list.begin(), list.end(), key) == list.end()) list.push_back(key);
  };
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& run = runs[i];
    if (!run.has_results) continue;
    table.rows.push_back(i);
    for (const auto& [name, entry] : run.results["results"].items()) add(name, *entry_of(run, name));
    if (run.results.contains("groups"))
      for (const auto& [name, entry] : run.results["groups"].items()) add(name, entry);
  }

  for (const auto& [task, key] : metric_overrides) {
    if (!keys.count(task)) {
      std::string reason = hidden.count(task) ? " (it is a group's subtask; override the group)" : "";
      fail("--metric {}={}: no benchmark '{}' in the results{}; benchmarks: {}", task, key, task, reason,
           fmt::join(names, ", "));
    }
  }

  for (const auto& name : names) {
    const auto& list = keys[name];
    Benchmark b;
    b.name = name;
    b.group = group_names.count(name) > 0;
    if (auto it = metric_overrides.find(name); it != metric_overrides.end()) {
      const std::string& wanted = it->second;
      for (const auto& key : list)
        if (key == wanted || (wanted.find(',') == std::string::npos && metric_name(key) == wanted)) {
          b.metric = key;
          break;
        }
      if (b.metric.empty())
        fail("--metric {}={}: no run has that metric for {}; it has: {}", name, wanted, name, fmt::join(list, ", "));
    } else {
      b.metric = headline_metric(name, list);
    }
    if (b.metric.empty()) {
      log_warn("report: '{}' has no metrics; left out of the table", name);
      continue;
    }
    table.benchmarks.push_back(b);
  }

  for (size_t row : table.rows) {
    std::vector<Score> cells;
    for (auto& b : table.benchmarks) {
      Score score;
      if (const ojson* entry = entry_of(runs[row], b.name)) {
        score.value = number_or_missing(*entry, b.metric);
        score.error = number_or_missing(*entry, stderr_key(b.metric));
        if (!score.present()) score.error = kMissing;
      }
      if (score.present() && (score.value < 0 || score.value > 1)) b.percent = false;
      cells.push_back(score);
    }
    table.cells.push_back(std::move(cells));
  }
  return table;
}

std::vector<Delta> capability_tax(const std::vector<Run>& runs, const Table& table) {
  std::map<std::string, size_t> row_of;  // run name -> table row
  for (size_t r = 0; r < table.rows.size(); ++r) row_of[runs[table.rows[r]].name] = r;
  std::vector<Delta> deltas;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const Run& run = runs[table.rows[r]];
    if (run.parent.empty() || run.parent == run.name) continue;
    auto parent = row_of.find(run.parent);
    if (parent == row_of.end()) continue;
    Delta delta{table.rows[r], table.rows[parent->second], {}};
    for (size_t b = 0; b < table.benchmarks.size(); ++b) {
      const Score& child = table.cells[r][b];
      const Score& base = table.cells[parent->second][b];
      Score d;
      if (child.present() && base.present()) {
        d.value = child.value - base.value;
        if (std::isfinite(child.error) && std::isfinite(base.error)) d.error = std::hypot(child.error, base.error);
      }
      delta.values.push_back(d);
    }
    deltas.push_back(std::move(delta));
  }
  return deltas;
}

std::vector<Sweep> find_sweeps(const std::vector<Run>& runs, const Table& table) {
  std::vector<Sweep> sweeps;
  for (size_t row : table.rows) {
    const Run& run = runs[row];
    if (run.sweep.empty()) continue;
    auto it = std::find_if(sweeps.begin(), sweeps.end(), [&](const Sweep& s) { return s.name == run.sweep; });
    if (it == sweeps.end()) {
      sweeps.push_back({run.sweep, {}, {}});
      it = sweeps.end() - 1;
    }
    it->runs.push_back(row);
  }
  for (auto& sweep : sweeps) {
    std::vector<std::string> param_names;
    for (size_t i : sweep.runs)
      for (const auto& [key, value] : runs[i].params.items())
        if (std::find(param_names.begin(), param_names.end(), key) == param_names.end()) param_names.push_back(key);
    for (const auto& key : param_names) {
      std::set<std::string> values;
      for (size_t i : sweep.runs) values.insert(runs[i].params.contains(key) ? runs[i].params[key].dump() : "<absent>");
      if (values.size() > 1) sweep.varying.push_back(key);
    }
  }
  return sweeps;
}

namespace {

// "value ± error" (or the value alone when the error is not finite): two decimals of a percentage,
// or four of the raw value; `sign` writes a '+' before positive values.
std::string format_value_error(const Score& score, bool percent, bool sign) {
  if (!score.present()) return "—";
  const double scale = percent ? 100.0 : 1.0;
  const int digits = percent ? 2 : 4;
  const std::string value = sign ? fmt::format("{:+.{}f}", score.value * scale, digits)
                                 : fmt::format("{:.{}f}", score.value * scale, digits);
  if (!std::isfinite(score.error)) return value;
  return fmt::format("{} ± {:.{}f}", value, score.error * scale, digits);
}

}  // namespace

std::string format_score(const Score& score, bool percent) { return format_value_error(score, percent, false); }

std::string format_delta(const Score& delta, bool percent) { return format_value_error(delta, percent, true); }

std::string format_param(const ojson& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  if (value.is_number()) return svg::format_tick(value.get<double>());
  if (value.is_null()) return "—";
  return value.dump();
}

}  // namespace tt::report
