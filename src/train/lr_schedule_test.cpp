#include "train/lr_schedule.h"

#include <cmath>
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
  // reduce_lr_on_plateau's kwargs, as torch's ReduceLROnPlateau checks them
  EXPECT_NE(error("reduce_lr_on_plateau", {{"mode", "up"}}).find("mode: 'up' is unknown"), std::string::npos);
  EXPECT_NE(error("reduce_lr_on_plateau", {{"factor", "1.0"}}).find("should be < 1.0"), std::string::npos);
  EXPECT_NE(error("reduce_lr_on_plateau", {{"threshold_mode", "pct"}}).find("threshold_mode: 'pct'"), std::string::npos);
  EXPECT_NE(error("reduce_lr_on_plateau", {{"patience", "2.5"}}).find("whole number"), std::string::npos);
  EXPECT_NE(error("reduce_lr_on_plateau", {{"min_lr", "-1"}}).find("must not be negative"), std::string::npos);
  EXPECT_NE(error("reduce_lr_on_plateau", {{"num_cycles", "1"}}).find("not a parameter of reduce_lr_on_plateau"),
            std::string::npos);
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

// reduce_lr_on_plateau against torch's ReduceLROnPlateau (tools/gen_plateau_fixtures.py), evaluation
// by evaluation: the learning rate bit for bit (the same double operations), the best metric, the bad
// evaluations and the cooldown; NaN metrics (null) never improve; the state survives JSON.
TEST(LearningRateSchedule, ReduceOnPlateauFollowsTorch) {
  std::ifstream in(testing::fixture_dir() + "/lr_schedules/plateau.json");
  const nlohmann::json fixture = nlohmann::json::parse(in);
  ASSERT_GE(fixture["cases"].size(), 6u);
  int reductions = 0;
  for (const auto& c : fixture["cases"]) {
    const double lr = c["learning_rate"];
    const Schedule s = make_schedule("reduce_lr_on_plateau", kwargs_text(c["kwargs"]), lr);
    EXPECT_EQ(s.kind, ScheduleKind::ReduceOnPlateau);
    PlateauState st = plateau_start(s, lr);
    for (size_t i = 0; i < c["metrics"].size(); ++i) {
      const nlohmann::json& m = c["metrics"][i];
      const double before = st.lr;
      plateau_step(s, st, m.is_null() ? std::nan("") : m.get<double>());
      const nlohmann::json& want = c["steps"][i];
      const std::string where = c["kwargs"].dump() + " step " + std::to_string(i);
      EXPECT_EQ(st.lr, want["lr"].get<double>()) << where;
      if (want["best"].is_null()) EXPECT_TRUE(std::isinf(st.best)) << where;
      else EXPECT_EQ(st.best, want["best"].get<double>()) << where;
      EXPECT_EQ(st.num_bad_epochs, want["num_bad_epochs"].get<int64_t>()) << where;
      EXPECT_EQ(st.cooldown_counter, want["cooldown_counter"].get<int64_t>()) << where;
      reductions += st.lr < before;
      // through state.json and back, as a resumed run reads it
      const PlateauState back = plateau_from_json(nlohmann::json::parse(plateau_to_json(st).dump()), s, "state");
      EXPECT_EQ(back.lr, st.lr);
      EXPECT_EQ(back.best, st.best);
      EXPECT_EQ(back.num_bad_epochs, st.num_bad_epochs);
      EXPECT_EQ(back.cooldown_counter, st.cooldown_counter);
      EXPECT_EQ(back.last_epoch, st.last_epoch);
    }
  }
  EXPECT_GE(reductions, 10);  // the cases exercise the reductions, not only the waiting
  const Schedule s = make_schedule("reduce_lr_on_plateau", {}, 1e-3);
  for (const auto& [bad, message] : std::vector<std::pair<std::string, std::string>>{
           {R"({"lr": -1, "best": null, "num_bad_epochs": 0, "cooldown_counter": 0, "last_epoch": 0})", "'lr' must not"},
           {R"({"lr": 1e-3, "best": "x", "num_bad_epochs": 0, "cooldown_counter": 0, "last_epoch": 0})", "'best' must"},
           {R"({"lr": 1e-3, "num_bad_epochs": 1.5, "cooldown_counter": 0, "last_epoch": 0})", "'num_bad_epochs' must"},
           {R"({"lr": 1e-3, "num_bad_epochs": 0, "last_epoch": 0})", "'cooldown_counter' must"},
           {R"([1])", "expected the reduce_lr_on_plateau state"}}) {
    try {
      plateau_from_json(nlohmann::json::parse(bad), s, "x/state.json: lr_scheduler");
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("x/state.json: lr_scheduler: " + message), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace tt
