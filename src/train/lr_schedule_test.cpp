#include "train/lr_schedule.h"

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tests/test_util.h"

namespace tt {
namespace {

// The kwargs of a fixture case as lr_scheduler_kwargs' text values.
std::map<std::string, std::string> kwargs_text(const nlohmann::json& kwargs) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : kwargs.items()) out[key] = value.is_string() ? value.get<std::string>() : value.dump();
  return out;
}

// Every lr_scheduler_type against transformers' own lambdas (tools/gen_lr_schedule_fixtures.py), within
// 4 ulp (the compiler fuses a * b + c into one FMA where Python rounds twice), through warmup, decay and
// three steps past the end.
TEST(LearningRateSchedule, EveryScheduleGivesTransformersFactors) {
  std::ifstream in(testing::fixture_dir() + "/lr_schedules/factors.json");
  const nlohmann::json cases = nlohmann::json::parse(in);
  ASSERT_EQ(cases.size(), 20u);
  std::set<std::string> kinds;
  for (const auto& c : cases) {
    const std::string name = c["lr_scheduler_type"];
    kinds.insert(name);
    SCOPED_TRACE(name + " " + c["lr_scheduler_kwargs"].dump());
    const Schedule s = make_schedule(name, kwargs_text(c["lr_scheduler_kwargs"]), c["learning_rate"].get<double>());
    const auto& factors = c["factors"];
    for (size_t step = 0; step < factors.size(); ++step)
      EXPECT_DOUBLE_EQ(schedule_factor(s, static_cast<int64_t>(step), c["warmup_steps"], c["total_steps"]),
                       factors[step].get<double>())
          << "step " << step;
  }
  EXPECT_EQ(kinds.size(), 10u);
}

TEST(LearningRateSchedule, BadKwargsAreRefusedAsTransformersRefusesThem) {
  auto error = [](const std::string& name, const std::map<std::string, std::string>& kwargs, double lr = 1e-4) {
    try {
      (void)make_schedule(name, kwargs, lr);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error("cosine_with_min_lr", {}).find("needs min_lr or min_lr_rate"), std::string::npos);
  EXPECT_NE(error("cosine_with_min_lr", {{"min_lr", "1e-5"}, {"min_lr_rate", "0.1"}}).find("not both"), std::string::npos);
  EXPECT_NE(error("cosine", {{"min_lr_rate", "0.1"}}).find("lr_scheduler_kwargs.min_lr_rate: not a parameter of cosine"),
            std::string::npos);
  EXPECT_NE(error("polynomial", {{"lr_end", "1e-3"}}).find("must be smaller than the learning rate"), std::string::npos);
  EXPECT_NE(error("warmup_stable_decay", {}).find("needs num_decay_steps"), std::string::npos);
  EXPECT_NE(error("warmup_stable_decay", {{"num_decay_steps", "5"}, {"decay_type", "cubic"}}).find("decay_type: 'cubic'"),
            std::string::npos);
  EXPECT_NE(error("warmup_stable_decay", {{"num_decay_steps", "2.5"}}).find("whole number of steps"), std::string::npos);
  EXPECT_NE(error("cosine", {{"num_cycles", "many"}}).find("lr_scheduler_kwargs.num_cycles: expected a number"),
            std::string::npos);
  EXPECT_NE(error("linear", {{"min_lr", "1e-5"}}).find("lr_scheduler_kwargs.min_lr: not a parameter of linear (it takes none)"),
            std::string::npos);
  EXPECT_NE(error("reduce_lr_on_plateau", {}).find("evaluation metric"), std::string::npos);
  EXPECT_NE(error("cosine_annealing", {}).find("unsupported 'cosine_annealing'"), std::string::npos);
  // get_scheduler passes no kwargs to these: read, then ignored (the trainer warns)
  EXPECT_EQ(make_schedule("constant_with_warmup", {{"num_cycles", "2"}}, 1e-4).ignored_kwargs,
            std::vector<std::string>{"num_cycles"});
  EXPECT_TRUE(make_schedule("cosine", {{"num_cycles", "2"}}, 1e-4).ignored_kwargs.empty());
}

// transformers 5 reads warmup_steps below 1 as a ratio of the total; warmup_ratio (transformers 4)
// counts when warmup_steps is 0.
TEST(LearningRateSchedule, WarmupStepsBelowOneAreARatio) {
  EXPECT_EQ(resolve_warmup_steps(5, 0.5, 100), 5);
  EXPECT_EQ(resolve_warmup_steps(5.7, 0, 100), 5);     // int(warmup_steps)
  EXPECT_EQ(resolve_warmup_steps(0.03, 0, 100), 3);    // ceil(100 * 0.03)
  EXPECT_EQ(resolve_warmup_steps(0.031, 0.5, 100), 4);
  EXPECT_EQ(resolve_warmup_steps(0, 0.1, 39), 4);      // ceil(3.9)
  EXPECT_EQ(resolve_warmup_steps(0, 0, 39), 0);
}

}  // namespace
}  // namespace tt
