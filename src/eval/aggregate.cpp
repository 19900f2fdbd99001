#include "eval/aggregate.h"

#include <cmath>
#include <set>

#include "eval/task_data.h"

namespace tt::eval {

using Json = nlohmann::ordered_json;

MetricTable aggregate(const Task& task, const std::vector<DocScore>& scores) {
  MetricTable out;
  for (const auto& key : task.metric_keys()) {
    std::vector<double> values;
    for (const auto& s : scores)
      if (auto it = s.metrics.find(key); it != s.metrics.end()) values.insert(values.end(), it->second.begin(), it->second.end());
    MetricAggregate a;
    a.count = static_cast<int64_t>(values.size());
    for (double v : values) a.value += v;
    if (a.count) a.value /= static_cast<double>(a.count);
    a.stderr_ = mean_stderr(values);
    out[key] = a;
  }
  return out;
}

std::string stderr_key(const std::string& key) {
  const size_t comma = key.find(',');
  if (comma == std::string::npos) return key + "_stderr";
  return key.substr(0, comma) + "_stderr" + key.substr(comma);
}

std::string metric_name(const std::string& key) { return key.substr(0, key.find(',')); }

double pooled_stderr(const std::vector<double>& stderrs, const std::vector<int64_t>& sizes) {
  double num = 0, total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const double n = static_cast<double>(sizes[i]);
    num += (n - 1) * stderrs[i] * stderrs[i] * n;
    total += n;
  }
  const double denom = total - static_cast<double>(sizes.size());
  if (denom <= 0 || total <= 0) return 0.0;
  return std::sqrt(num / denom / total);
}

void GroupTable::add(const std::string& group, const std::string& task, const MetricTable& metrics,
                     const std::string& filter) {
  if (!parts_.count(group)) order_.push_back(group);
  filters_[group] = filter;
  parts_[group].push_back(metrics);
  subtasks_[group].push_back(task);
}

Json GroupTable::results() const {
  Json out = Json::object();
  for (const auto& g : order_) out[g] = group_result(g);
  return out;
}

namespace {

// The metric keys every part has ("metric,filter"), of the given filter unless it is "".
std::set<std::string> shared_keys(const std::vector<MetricTable>& parts, const std::string& filter) {
  std::set<std::string> keys;
  for (const auto& [key, _] : parts[0])
    if (filter.empty() || key.substr(key.find(',') + 1) == filter) keys.insert(key);
  for (const auto& p : parts)
    for (auto it = keys.begin(); it != keys.end();) it = p.count(*it) ? std::next(it) : keys.erase(it);
  return keys;
}

}  // namespace

// Size-weighted mean of each metric the subtasks share, pooled standard error.
Json GroupTable::group_result(const std::string& group) const {
  const auto& parts = parts_.at(group);
  Json r = {{"alias", group}};
  for (const auto& key : shared_keys(parts, filters_.at(group))) {
    std::vector<double> stderrs;
    std::vector<int64_t> sizes;
    double sum = 0;
    int64_t total = 0;
    for (const auto& p : parts) {
      const auto& a = p.at(key);
      sum += a.value * static_cast<double>(a.count);
      total += a.count;
      stderrs.push_back(a.stderr_);
      sizes.push_back(a.count);
    }
    r[key] = total ? sum / static_cast<double>(total) : 0.0;
    r[stderr_key(key)] = pooled_stderr(stderrs, sizes);
  }
  return r;
}

}  // namespace tt::eval
