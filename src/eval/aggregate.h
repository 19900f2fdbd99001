// Per-task metric means with their standard errors, and lm-eval's groups: the size-weighted mean of
// each metric every subtask has, with the pooled standard error.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/task.h"

namespace tt::eval {

struct MetricAggregate {
  double value = 0, stderr_ = 0;
  int64_t count = 0;
};
using MetricTable = std::map<std::string, MetricAggregate>;

// Each of the task's metric keys over the docs' scores (a doc may give several values).
MetricTable aggregate(const Task& task, const std::vector<DocScore>& scores);

// "exact_match,strict-match" -> "exact_match_stderr,strict-match"
std::string stderr_key(const std::string& key);

// "exact_match,strict-match" -> "exact_match"
std::string metric_name(const std::string& key);

// lm-eval's pooled_sample_stderr for a group weighted by size.
double pooled_stderr(const std::vector<double>& stderrs, const std::vector<int64_t>& sizes);

// The groups met so far, in order, with their subtasks' metrics.
class GroupTable {
 public:
  // filter: only the "metric,<filter>" keys go into the group (lm-eval's aggregate_metric_list
  // filter_list); "": every key the subtasks share.
  void add(const std::string& group, const std::string& task, const MetricTable& metrics, const std::string& filter = "");
  nlohmann::ordered_json results() const;                      // {"<group>": {"alias", metric, stderr...}}
  const nlohmann::ordered_json& subtasks() const { return subtasks_; }  // {"<group>": [task, ...]}

 private:
  nlohmann::ordered_json group_result(const std::string& group) const;
  std::map<std::string, std::vector<MetricTable>> parts_;
  std::map<std::string, std::string> filters_;
  std::vector<std::string> order_;
  nlohmann::ordered_json subtasks_ = nlohmann::ordered_json::object();
};

}  // namespace tt::eval
