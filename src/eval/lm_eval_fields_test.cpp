// results.json config fields and metric keys of gsm8k, bbh_zeroshot and ifeval against lm-eval's task
// YAMLs as written at EleutherAI/lm-evaluation-harness 4e7e0d47 (lm_eval/tasks/gsm8k/gsm8k.yaml,
// bbh/zeroshot/_zeroshot_template_yaml, _bbh_zeroshot.yaml, bbh/cot_fewshot/_cot_fewshot_template_yaml,
// _bbh_cot_fewshot.yaml, ifeval/ifeval.yaml); the values below are copied from those files.
#include <filesystem>

#include <gtest/gtest.h>

#include "eval/eval_test_util.h"
#include "eval/task_families.h"

namespace tt::eval {
namespace {

struct LmEvalTask {
  std::string task, dataset_path, group, group_filter;
  double version;
  std::vector<std::string> metric_keys;
  nlohmann::ordered_json group_version = nullptr;  // the group YAML's metadata version
};

void expect_fields(const Task& t, const LmEvalTask& want) {
  const auto c = t.config();
  EXPECT_EQ(c["task"], want.task);
  EXPECT_EQ(c["dataset_path"], want.dataset_path) << want.task;
  EXPECT_EQ(c["metadata"]["version"].get<double>(), want.version) << want.task;
  EXPECT_EQ(t.group(), want.group) << want.task;
  EXPECT_EQ(t.group_filter(), want.group_filter) << want.task;
  EXPECT_EQ(t.metric_keys(), want.metric_keys) << want.task;
  EXPECT_EQ(t.group_version(), want.group_version) << want.task;
}

TEST(LmEvalFields, TaskConfigsMatchLmEvalsYamls) {
  const TaskOptions o = test_util::shared_options();
  if (!std::filesystem::exists(o.data_root)) GTEST_SKIP() << "shared data not present";
  expect_fields(*make_gsm8k_task("gsm8k", o),
                {"gsm8k", "openai/gsm8k", "", "", 3.0, {"exact_match,strict-match", "exact_match,flexible-extract"}});
  expect_fields(*make_bbh_task("bbh_zeroshot_boolean_expressions", o),
                {"bbh_zeroshot_boolean_expressions", "SaylorTwift/bbh", "bbh_zeroshot", "flexible-extract", 3.0,
                 {"exact_match,strict-match", "exact_match,flexible-extract"}, 3.0});
  expect_fields(*make_bbh_task("bbh_cot_fewshot_boolean_expressions", o),
                {"bbh_cot_fewshot_boolean_expressions", "SaylorTwift/bbh", "bbh_cot_fewshot", "get-answer", 4.0,
                 {"exact_match,get-answer"}, 3.0});
  expect_fields(*make_ifeval_task(o), {"ifeval", "google/IFEval", "", "", 4.0,
                                       {"prompt_level_strict_acc,none", "inst_level_strict_acc,none",
                                        "prompt_level_loose_acc,none", "inst_level_loose_acc,none"}});
}

}  // namespace
}  // namespace tt::eval
