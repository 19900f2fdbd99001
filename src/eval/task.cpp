#include <algorithm>
#include <functional>

#include "core/error.h"
#include "eval/task.h"
#include "eval/task_families.h"

namespace tt::eval {

namespace {

struct Family {
  std::vector<std::string> names;
  std::function<std::unique_ptr<Task>(const std::string&, const TaskOptions&)> make;
};

std::vector<std::string> prefixed(const std::string& prefix, const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) out.push_back(prefix + n);
  return out;
}

const std::vector<Family>& families() {
  static const std::vector<Family> all = {
      {{"gsm8k", "gsm8k_cot", "gsm8k_boxed"}, make_gsm8k_task},
      {{"math500"}, [](const std::string&, const TaskOptions& o) { return make_math500_task(o); }},
      {prefixed("bbh_zeroshot_", bbh_subtasks()), make_bbh_task},
      {prefixed("bbh_cot_fewshot_", bbh_subtasks()), make_bbh_task},
      {prefixed("mmlu_", mmlu_stem_subjects()), make_mmlu_task},
      {{"arc_challenge", "arc_easy"}, make_arc_task},
      {{"ifeval"}, [](const std::string&, const TaskOptions& o) { return make_ifeval_task(o); }},
  };
  return all;
}

}  // namespace

std::vector<std::string> task_names() {
  std::vector<std::string> out;
  for (const auto& f : families()) out.insert(out.end(), f.names.begin(), f.names.end());
  return out;
}

std::map<std::string, std::vector<std::string>> task_groups() {
  std::map<std::string, std::vector<std::string>> groups;
  groups["bbh_zeroshot"] = prefixed("bbh_zeroshot_", bbh_subtasks());
  groups["bbh_cot_fewshot"] = prefixed("bbh_cot_fewshot_", bbh_subtasks());
  groups["mmlu_stem"] = prefixed("mmlu_", mmlu_stem_subjects());
  // The study's suite (DESIGN.md §5): its own protocol for GSM8K and MATH-500, lm-eval's for the rest.
  groups["tiny_think"] = {"gsm8k_boxed", "math500", "bbh_zeroshot", "ifeval", "mmlu_stem", "arc_challenge"};
  return groups;
}

std::vector<std::string> expand_task_names(const std::vector<std::string>& names) {
  const auto groups = task_groups();
  const auto known = task_names();
  std::vector<std::string> out;
  std::function<void(const std::string&)> add = [&](const std::string& name) {
    if (auto g = groups.find(name); g != groups.end()) {
      for (const auto& sub : g->second) add(sub);
      return;
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::vector<std::string> listed;
      for (const auto& [g, _] : groups) listed.push_back(g);
      for (const auto& n : known)
        if (n.rfind("bbh_", 0) != 0 && n.rfind("mmlu_", 0) != 0) listed.push_back(n);
      fail("unknown task '{}' (known: {}; and every subtask of the groups)", name, fmt::join(listed, ", "));
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  for (const auto& n : names) add(n);
  if (out.empty()) fail("no tasks given");
  return out;
}

std::unique_ptr<Task> make_task(const std::string& name, const TaskOptions& options) {
  for (const auto& f : families())
    if (std::find(f.names.begin(), f.names.end(), name) != f.names.end()) return f.make(name, options);
  expand_task_names({name});  // names the known tasks
  fail("unknown task '{}'", name);
}

}  // namespace tt::eval
