// Parsing a study file and planning its jobs: sweeps, references, dependency order, fingerprints.
#include "study/study.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/ranges.h>

#include "core/error.h"
#include "io/file.h"
#include "study/yaml_util.h"

namespace tt::study {

namespace fs = std::filesystem;

namespace {

struct KindInfo {
  StageKind kind;
  const char* name;
};
constexpr KindInfo kKinds[] = {{StageKind::Data, "data"}, {StageKind::Init, "init"},   {StageKind::Sft, "sft"},
                               {StageKind::Pairs, "pairs"}, {StageKind::Dpo, "dpo"}, {StageKind::Eval, "eval"},
                               {StageKind::Report, "report"}};

StageKind parse_kind(const std::string& name, const std::string& where) {
  for (const auto& k : kKinds)
    if (name == k.name) return k.kind;
  fail("{}: unknown kind '{}' (known: data, init, sft, pairs, dpo, eval, report)", where, name);
}

// Keys a stage's config may hold, for the kinds whose config the study runner reads itself
// (training configs are checked by the trainers' own loader, which knows TRL's names).
const std::set<std::string>& config_keys(StageKind kind) {
  static const std::map<StageKind, std::set<std::string>> keys = {
      {StageKind::Data, {"generator", "seed", "pretrain_docs", "sft_arithmetic", "sft_ifeval", "sft_bbh_per_task",
                         "prompts", "eval_gsm8k", "eval_ifeval", "eval_bbh_per_task", "vocab_size", "arithmetic"}},
      {StageKind::Init, {"arch", "config", "model", "seed", "dtype", "tokenizer"}},
      {StageKind::Pairs, {"prompts", "k", "pairs_per_prompt", "temperature", "top_p", "max_new_tokens", "seed", "limit",
                          "task", "precision", "max_batch", "chat_template", "device"}},
      {StageKind::Eval, {"tasks", "limit", "samples", "num_fewshot", "apply_chat_template", "fewshot_as_multiturn",
                         "system_instruction", "strip_thinking", "gen_kwargs", "seed", "data_root", "precision",
                         "max_batch", "device"}},
      {StageKind::Report, {"metric_overrides"}},
  };
  static const std::set<std::string> none;
  auto it = keys.find(kind);
  return it == keys.end() ? none : it->second;
}

// Training configs: an undotted key that is not a top-level one is a trainer key (as --set has it).
std::string training_key(const std::string& key) {
  if (key.find('.') != std::string::npos || key == "model_name" || key == "tokenizer_name") return key;
  return "trainer." + key;
}

// Runs one stage may sweep: each is a training run, so a product past this is a typo, refused
// before the product is built (10^8 points would take gigabytes even for --dry-run).
constexpr size_t kMaxSweepRuns = 10000;

std::vector<SweepPoint> parse_sweep_mapping(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap() || node.size() == 0) fail("{}: expected a mapping of param: [values]", where);
  std::vector<SweepPoint> points = {{}};
  for (const auto& entry : node) {
    const std::string param = entry.first.as<std::string>();
    std::vector<std::string> values;
    if (entry.second.IsScalar()) {
      values.push_back(entry.second.Scalar());
    } else if (entry.second.IsSequence() && entry.second.size() > 0) {
      for (const auto& v : entry.second) {
        if (!v.IsScalar()) fail("{}.{}: sweep values must be single values", where, param);
        values.push_back(v.Scalar());
      }
    } else {
      fail("{}.{}: expected a non-empty list of values", where, param);
    }
    if (points.size() * values.size() > kMaxSweepRuns)
      fail("{}.{}: the sweep has {} or more runs, beyond tinythink's limit of {} per stage", where, param,
           points.size() * values.size(), kMaxSweepRuns);
    std::vector<SweepPoint> next;
    for (const auto& p : points)
      for (const auto& v : values) {
        SweepPoint q = p;
        q.emplace_back(param, v);
        next.push_back(std::move(q));
      }
    points = std::move(next);
  }
  return points;
}

std::vector<SweepPoint> parse_sweep(const YAML::Node& node, const std::string& where) {
  if (node.IsMap()) return parse_sweep_mapping(node, where);
  if (!node.IsSequence() || node.size() == 0) fail("{}: expected a mapping of param: [values], or a list of them", where);
  std::vector<SweepPoint> all;
  for (size_t i = 0; i < node.size(); ++i)
    for (auto& p : parse_sweep_mapping(node[i], fmt::format("{}[{}]", where, i))) {
      all.push_back(std::move(p));
      if (all.size() > kMaxSweepRuns)
        fail("{}: the sweep has more than {} runs, tinythink's limit per stage", where, kMaxSweepRuns);
    }
  return all;
}

std::string param_label(const std::string& param) {
  auto dot = param.rfind('.');
  return dot == std::string::npos ? param : param.substr(dot + 1);
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+') ? c : '_';
  return out;
}

void apply_overrides(YAML::Node config, const YAML::Node& set, StageKind kind, const std::string& where) {
  auto put = [&](const std::string& key, const YAML::Node& value) {
    set_dotted(config, is_training(kind) ? training_key(key) : key, value, where);
  };
  if (set.IsMap()) {
    for (const auto& entry : set) put(entry.first.as<std::string>(), entry.second);
  } else if (set.IsSequence()) {
    for (const auto& item : set) {
      if (!item.IsScalar()) fail("{}: expected key=value items", where);
      const std::string text = item.Scalar();
      auto eq = text.find('=');
      if (eq == std::string::npos || eq == 0) fail("{}: '{}': expected key=value", where, text);
      put(text.substr(0, eq), parse_yaml_text(text.substr(eq + 1), where));
    }
  } else if (!set.IsNull()) {
    fail("{}: expected a list of key=value items or a mapping", where);
  }
}

void check_config_keys(const Stage& stage, const std::string& where) {
  if (is_training(stage.kind)) return;
  const auto& allowed = config_keys(stage.kind);
  for (const auto& entry : stage.config) {
    const std::string key = entry.first.as<std::string>();
    if (!allowed.count(key))
      fail("{}: unknown key '{}' for the {} stage kind (known: {})", where, key, stage_kind_name(stage.kind),
           fmt::join(allowed, ", "));
  }
}

Stage parse_stage(const YAML::Node& node, size_t index, const Study& study, std::set<std::string>& names) {
  const std::string at = fmt::format("{}: stages[{}]", study.source, index);
  if (!node.IsMap()) fail("{}: expected a mapping with name and kind", at);
  Stage stage;
  if (!node["name"] || !node["name"].IsScalar()) fail("{}: missing 'name'", at);
  stage.name = node["name"].Scalar();
  if (stage.name.empty() || sanitize(stage.name) != stage.name)
    fail("{}: name '{}' must be letters, digits, '.', '-', '_' or '+'", at, stage.name);
  stage.where = fmt::format("{}: stage '{}'", study.source, stage.name);
  if (!names.insert(stage.name).second) fail("{}: a stage with this name already exists", stage.where);
  if (!node["kind"] || !node["kind"].IsScalar()) fail("{}: missing 'kind'", stage.where);
  stage.kind = parse_kind(node["kind"].Scalar(), stage.where + ": kind");
  static const std::set<std::string> keys = {"name", "kind", "from", "config", "set", "sweep", "runs", "description"};
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (!keys.count(key)) fail("{}: unknown key '{}'", stage.where, key);
  }
  if (node["from"]) {
    if (!node["from"].IsScalar()) fail("{}: from: expected a stage or run name", stage.where);
    stage.from = node["from"].Scalar();
  }
  if (node["runs"]) {
    if (stage.kind != StageKind::Eval && stage.kind != StageKind::Report)
      fail("{}: 'runs' is for eval and report stages", stage.where);
    const auto& runs = node["runs"];
    if (runs.IsScalar()) stage.runs.push_back(runs.Scalar());
    else if (runs.IsSequence())
      for (const auto& r : runs) {
        if (!r.IsScalar()) fail("{}: runs: expected names", stage.where);
        stage.runs.push_back(r.Scalar());
      }
    else fail("{}: runs: expected a list of stage or run names", stage.where);
  }
  // The config: a file (relative to the study file) or an inline mapping.
  const YAML::Node config = node["config"];
  std::string config_where = stage.where + ": config";
  if (!config || config.IsNull()) {
    stage.config = YAML::Node(YAML::NodeType::Map);
  } else if (config.IsScalar()) {
    fs::path path = config.Scalar();
    if (path.is_relative()) path = fs::path(study.base_dir) / path;
    if (!fs::exists(path)) fail("{}: {}: file not found", config_where, path.string());
    stage.config = load_yaml_file(path.string());
    config_where = path.string();
    if (!stage.config.IsMap()) fail("{}: expected a mapping at the top level", path.string());
  } else if (config.IsMap()) {
    stage.config = YAML::Clone(config);
  } else {
    fail("{}: expected a file name or a mapping", config_where);
  }
  if (node["set"]) apply_overrides(stage.config, node["set"], stage.kind, stage.where + ": set");
  check_config_keys(stage, config_where);
  if (node["sweep"]) {
    if (stage.kind == StageKind::Eval || stage.kind == StageKind::Report)
      fail("{}: sweep: {} stages do not sweep (sweep the runs they evaluate)", stage.where, stage_kind_name(stage.kind));
    stage.sweep = parse_sweep(node["sweep"], stage.where + ": sweep");
    // a swept key the stage kind does not know would run identical jobs (training stages check
    // theirs when each run's config is loaded)
    if (!is_training(stage.kind))
      for (const auto& point : stage.sweep)
        for (const auto& [param, value] : point) {
          const std::string key = param.substr(0, param.find('.'));
          if (!config_keys(stage.kind).count(key))
            fail("{}: sweep: unknown key '{}' for the {} stage kind (known: {})", stage.where, key,
                 stage_kind_name(stage.kind), fmt::join(config_keys(stage.kind), ", "));
        }
  }
  return stage;
}

}  // namespace

const char* stage_kind_name(StageKind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k.name;
  return "?";
}

std::string sweep_run_name(const std::string& stage, const SweepPoint& point) {
  std::string name = stage;
  for (const auto& [param, value] : point) name += "_" + param_label(param) + sanitize(value);
  return name;
}

bool produces_model(StageKind kind) { return kind == StageKind::Init || kind == StageKind::Sft || kind == StageKind::Dpo; }
bool is_training(StageKind kind) { return kind == StageKind::Sft || kind == StageKind::Dpo; }

Study parse_study(const std::string& yaml_text, const std::string& source, const std::string& base_dir) {
  YAML::Node root = parse_yaml_text(yaml_text, source);
  if (!root.IsMap()) fail("{}: expected a mapping with name, output_dir and stages", source);
  Study study;
  study.source = source;
  study.base_dir = base_dir.empty() ? "." : base_dir;
  static const std::set<std::string> keys = {"name", "output_dir", "stages", "description"};
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    if (!keys.count(key)) fail("{}: unknown key '{}' (known: name, output_dir, stages, description)", source, key);
  }
  if (!root["name"] || !root["name"].IsScalar()) fail("{}: missing 'name'", source);
  study.name = root["name"].Scalar();
  study.output_dir = root["output_dir"] && root["output_dir"].IsScalar() ? root["output_dir"].Scalar()
                                                                          : "out/" + sanitize(study.name);
  const YAML::Node stages = root["stages"];
  if (!stages || !stages.IsSequence() || stages.size() == 0) fail("{}: 'stages' must be a non-empty list", source);
  std::set<std::string> names;
  for (size_t i = 0; i < stages.size(); ++i) study.stages.push_back(parse_stage(stages[i], i, study, names));
  return study;
}

void apply_stage_override(Study& study, const std::string& item) {
  const auto eq = item.find('=');
  const auto dot = item.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq)
    fail("--set {}: expected STAGE.KEY=VALUE", item);
  const std::string name = item.substr(0, dot);
  for (auto& stage : study.stages) {
    if (stage.name != name) continue;
    YAML::Node set(YAML::NodeType::Sequence);
    set.push_back(item.substr(dot + 1));
    apply_overrides(stage.config, set, stage.kind, "--set " + item);
    check_config_keys(stage, "--set " + item);
    return;
  }
  fail("--set {}: no stage named '{}' in {}", item, name, study.source);
}

Study load_study(const std::string& path) {
  std::string base = fs::path(path).parent_path().string();
  return parse_study(read_file(path), path, base);
}

const Job* Plan::find(const std::string& name) const {
  for (const auto& j : jobs)
    if (j.name == name) return &j;
  return nullptr;
}

std::vector<const Job*> Plan::runs() const {
  std::vector<const Job*> out;
  for (const auto& j : jobs)
    if (j.is_run()) out.push_back(&j);
  return out;
}

std::string run_kind(const Job& job) {
  if (job.kind != StageKind::Dpo) return stage_kind_name(job.kind);
  const YAML::Node loss = job.config["trainer"] ? job.config["trainer"]["loss_type"] : YAML::Node();
  std::string type = scalar_or_joined(loss);  // TRL's list (MPO): the names joined by '+'
  if (type.empty()) type = "sigmoid";
  return type == "sigmoid" ? "dpo" : type;
}

}  // namespace tt::study
