#include "eval/gen_kwargs.h"

#include <gtest/gtest.h>

#include "tests/error_of.h"

namespace tt::eval {
namespace {

TEST(GenKwargs, ParsesKeysAndUntilLists) {
  const GenKwargs g = parse_gen_kwargs("temperature=0.6,top_p=0.95,,max_tokens=12,until=a|b|,top_k=5");
  EXPECT_DOUBLE_EQ(*g.temperature, 0.6);
  EXPECT_DOUBLE_EQ(*g.top_p, 0.95);
  EXPECT_EQ(*g.max_gen_toks, 12);
  EXPECT_EQ(*g.top_k, 5);
  EXPECT_EQ(*g.until, (std::vector<std::string>{"a", "b", ""}));
  EXPECT_FALSE(g.do_sample);
}

TEST(GenKwargs, TemperatureTurnsSamplingOnUnlessDoSampleSays) {
  GenerationDefaults d;
  d.do_sample = false;
  EXPECT_TRUE(effective_generation(d, parse_gen_kwargs("temperature=0.7")).do_sample);
  EXPECT_FALSE(effective_generation(d, parse_gen_kwargs("temperature=0.7,do_sample=false")).do_sample);
  EXPECT_FALSE(effective_generation(d, parse_gen_kwargs("temperature=0")).do_sample);
  const auto j = generation_json(effective_generation(d, parse_gen_kwargs("temperature=0.5,top_k=3")),
                                 parse_gen_kwargs("top_k=3"));
  EXPECT_EQ(j["temperature"], 0.5);
  EXPECT_EQ(j["top_k"], 3);
  EXPECT_TRUE(j.contains("top_p"));
}

TEST(GenKwargs, BadItemsAreOneLineErrors) {
  auto error_of = [](const std::string& text) { return tt::testing::error_of([&] { parse_gen_kwargs(text); }); };
  EXPECT_EQ(error_of("top_p"), "--gen-kwargs: 'top_p' is not key=value");
  EXPECT_EQ(error_of("do_sample=maybe"), "--gen-kwargs: do_sample=maybe is not a boolean (true/false)");
  EXPECT_EQ(error_of("top_p=0.9x"), "--gen-kwargs: top_p=0.9x is not a number");
  EXPECT_NE(error_of("temprature=1").find("unknown key 'temprature'"), std::string::npos);
  // values the sampler cannot use: these used to run greedy (temperature) or be ignored (top_p)
  EXPECT_EQ(error_of("temperature=-1"), "--gen-kwargs: temperature=-1 must be in [0, 1e6]");
  EXPECT_EQ(error_of("temperature=nan"), "--gen-kwargs: temperature=nan must be in [0, 1e6]");
  EXPECT_EQ(error_of("temperature=inf"), "--gen-kwargs: temperature=inf must be in [0, 1e6]");
  EXPECT_EQ(error_of("top_p=2"), "--gen-kwargs: top_p=2 must be in (0, 1]");
  EXPECT_EQ(error_of("top_p=0"), "--gen-kwargs: top_p=0 must be in (0, 1]");
  EXPECT_EQ(error_of("top_k=-5"), "--gen-kwargs: top_k=-5 must be a whole number >= 0");
  EXPECT_EQ(error_of("top_k=2.5"), "--gen-kwargs: top_k=2.5 must be a whole number >= 0");
  EXPECT_EQ(error_of("max_gen_toks=0"), "--gen-kwargs: max_gen_toks=0 must be a whole number >= 1");
  EXPECT_EQ(error_of("max_gen_toks=1e30"), "--gen-kwargs: max_gen_toks=1e30 must be a whole number >= 1");
  EXPECT_EQ(parse_gen_kwargs("temperature=0,top_p=1,top_k=0,max_gen_toks=1e3").max_gen_toks, 1000);
}

}  // namespace
}  // namespace tt::eval
