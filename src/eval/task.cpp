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

// lm-eval's multiple_choice process_results: acc = argmax of the log-likelihoods, acc_norm = argmax
// of log-likelihood / len(choice) in characters; np.argmax keeps the first of equal values.
DocScore Task::score_choices(const Doc& doc, const std::vector<double>& lls) const {
  const auto choice_texts = choices(doc);
  if (lls.size() != choice_texts.size() || lls.empty())
    fail("{}: doc {}: {} log-likelihoods for {} choices", name(), doc.id, lls.size(), choice_texts.size());
  size_t best = 0, best_norm = 0;
  auto chars = [](const std::string& t) {  // Python's len(): code points, not bytes
    size_t n = 0;
    for (unsigned char c : t) n += (c & 0xC0) != 0x80;
    return std::max<size_t>(1, n);
  };
  auto norm = [&](size_t i) { return lls[i] / static_cast<double>(chars(choice_texts[i])); };
  for (size_t i = 1; i < lls.size(); ++i) {
    if (lls[i] > lls[best]) best = i;
    if (norm(i) > norm(best_norm)) best_norm = i;
  }
  const int64_t gold = gold_index(doc);
  DocScore s;
  s.metrics["acc,none"] = {static_cast<int64_t>(best) == gold ? 1.0 : 0.0};
  s.metrics["acc_norm,none"] = {static_cast<int64_t>(best_norm) == gold ? 1.0 : 0.0};
  s.filtered["none"] = best;
  return s;
}

std::unique_ptr<Task> make_task(const std::string& name, const TaskOptions& options) {
  for (const auto& f : families())
    if (std::find(f.names.begin(), f.names.end(), name) != f.names.end()) return f.make(name, options);
  expand_task_names({name});  // names the known tasks
  fail("unknown task '{}'", name);
}

}  // namespace tt::eval
