#include "eval/aggregate.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tt::eval {
namespace {

TEST(Aggregate, MetricKeyNames) {
  EXPECT_EQ(stderr_key("exact_match,strict-match"), "exact_match_stderr,strict-match");
  EXPECT_EQ(stderr_key("acc"), "acc_stderr");
  EXPECT_EQ(metric_name("exact_match,strict-match"), "exact_match");
}

TEST(Aggregate, PooledStderrMatchesLmEvalsFormula) {
  // sqrt(((n1-1) s1^2 n1 + (n2-1) s2^2 n2) / (n1 + n2 - 2) / (n1 + n2))
  const double expected = std::sqrt((9 * 0.1 * 0.1 * 10 + 19 * 0.2 * 0.2 * 20) / 28.0 / 30.0);
  EXPECT_DOUBLE_EQ(pooled_stderr({0.1, 0.2}, {10, 20}), expected);
  EXPECT_EQ(pooled_stderr({0.5}, {1}), 0.0);
}

TEST(Aggregate, GroupsKeepOrderAndWeighSharedMetricsBySize) {
  GroupTable groups;
  groups.add("g2", "t1", {{"acc", {.value = 1.0, .stderr_ = 0, .count = 1}}});
  groups.add("g1", "t2", {{"acc", {.value = 0.5, .stderr_ = 0.1, .count = 10}}, {"f1", {.value = 1, .count = 10}}});
  groups.add("g1", "t3", {{"acc", {.value = 0.2, .stderr_ = 0.2, .count = 20}}});
  const auto r = groups.results();
  EXPECT_EQ(r.begin().key(), "g2");
  EXPECT_DOUBLE_EQ(r["g1"]["acc"].get<double>(), (0.5 * 10 + 0.2 * 20) / 30);
  EXPECT_DOUBLE_EQ(r["g1"]["acc_stderr"].get<double>(), pooled_stderr({0.1, 0.2}, {10, 20}));
  EXPECT_FALSE(r["g1"].contains("f1"));
  EXPECT_EQ(groups.subtasks()["g1"], nlohmann::ordered_json({"t2", "t3"}));
}

// lm-eval's aggregate_metric_list filter_list: bbh_zeroshot's group holds flexible-extract only.
TEST(Aggregate, GroupFilterKeepsOnlyThatFiltersMetrics) {
  GroupTable groups;
  const MetricTable part = {{"exact_match,strict-match", {.value = 0.1, .stderr_ = 0.01, .count = 4}},
                            {"exact_match,flexible-extract", {.value = 0.6, .stderr_ = 0.02, .count = 4}}};
  groups.add("bbh_zeroshot", "a", part, "flexible-extract");
  groups.add("bbh_zeroshot", "b", part, "flexible-extract");
  groups.add("all", "a", part);
  const auto r = groups.results();
  EXPECT_DOUBLE_EQ(r["bbh_zeroshot"]["exact_match,flexible-extract"].get<double>(), 0.6);
  EXPECT_TRUE(r["bbh_zeroshot"].contains("exact_match_stderr,flexible-extract"));
  EXPECT_FALSE(r["bbh_zeroshot"].contains("exact_match,strict-match"));
  EXPECT_FALSE(r["bbh_zeroshot"].contains("exact_match_stderr,strict-match"));
  EXPECT_TRUE(r["all"].contains("exact_match,strict-match"));  // no filter: every shared key
}

}  // namespace
}  // namespace tt::eval
