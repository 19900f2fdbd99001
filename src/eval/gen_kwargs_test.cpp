#include "eval/gen_kwargs.h"

#include <gtest/gtest.h>

#include "eval/generate_task.h"
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

// lm-eval 0.4.10+ (normalize_gen_kwargs after merging --gen_kwargs into the task's): do_sample false,
// the task's or the command's, decodes greedily whatever the temperature; only do_sample=true samples.
TEST(GenKwargs, DoSampleFalseIsGreedyWhateverTheTemperature) {
  GenerationDefaults greedy_task;
  greedy_task.do_sample = false;
  const GenerationDefaults a = effective_generation(greedy_task, parse_gen_kwargs("temperature=0.7"));
  EXPECT_FALSE(a.do_sample);
  EXPECT_EQ(a.temperature, 0.0);
  EXPECT_NE(greedy_override_warning(greedy_task, parse_gen_kwargs("temperature=0.7")).find("do_sample=true"),
            std::string::npos);
  const GenerationDefaults b = effective_generation(greedy_task, parse_gen_kwargs("temperature=0.7,do_sample=true"));
  EXPECT_TRUE(b.do_sample);
  EXPECT_EQ(b.temperature, 0.7);
  EXPECT_EQ(greedy_override_warning(greedy_task, parse_gen_kwargs("temperature=0.7,do_sample=true")), "");
  EXPECT_EQ(greedy_override_warning(greedy_task, parse_gen_kwargs("temperature=0")), "");
  GenerationDefaults sampling_task;
  sampling_task.do_sample = true;
  sampling_task.temperature = 0.6;
  EXPECT_FALSE(effective_generation(sampling_task, parse_gen_kwargs("do_sample=false")).do_sample);
  EXPECT_EQ(effective_generation(sampling_task, parse_gen_kwargs("do_sample=false")).temperature, 0.0);
  EXPECT_EQ(effective_generation(sampling_task, parse_gen_kwargs("top_p=0.5")).temperature, 0.6);
  const auto j = generation_json(effective_generation(sampling_task, parse_gen_kwargs("temperature=0.5,top_k=3")),
                                 parse_gen_kwargs("top_k=3,min_p=0.1,seed=7"));
  EXPECT_EQ(j["temperature"], 0.5);
  EXPECT_EQ(j["top_k"], 3);
  EXPECT_EQ(j["min_p"], 0.1);
  EXPECT_EQ(j["seed"], 7);
  EXPECT_TRUE(j.contains("top_p"));
}

// Values as lm-eval's handle_cli_value_string reads them: Python literals for stop strings (a real
// blank line from until=["\n\n"]; a quoted string is one stop), the whole argument as JSON, and
// the max_gen_toks aliases by lm-eval's priority whatever their order.
TEST(GenKwargs, ValuesAreReadAsLmEvalReadsThem) {
  using Stops = std::vector<std::string>;
  EXPECT_EQ(*parse_gen_kwargs(R"(until=["\n\n"])").until, Stops{"\n\n"});
  EXPECT_EQ(*parse_gen_kwargs(R"(until=['Q:', "\n\n", '\'s'],temperature=0)").until, (Stops{"Q:", "\n\n", "'s"}));
  EXPECT_EQ(*parse_gen_kwargs(R"(until='a|b')").until, Stops{"a|b"});
  EXPECT_EQ(*parse_gen_kwargs(R"(until=['\u00e9\x41'])").until, Stops{"\xc3\xa9" "A"});
  const GenKwargs json = parse_gen_kwargs(R"( {"until": ["Q:", "\n\n"], "temperature": 0.6, "do_sample": true})");
  EXPECT_EQ(*json.until, (Stops{"Q:", "\n\n"}));
  EXPECT_EQ(*json.temperature, 0.6);
  EXPECT_TRUE(*json.do_sample);
  EXPECT_EQ(*parse_gen_kwargs("max_tokens=5,max_gen_toks=9,max_new_tokens=7").max_gen_toks, 9);
  EXPECT_EQ(*parse_gen_kwargs("max_completion_tokens=5,max_new_tokens=7").max_gen_toks, 7);
  EXPECT_EQ(*parse_gen_kwargs("top_k=-1").top_k, 0);  // vLLM's and lm-eval's "off"
  EXPECT_TRUE(*parse_gen_kwargs("do_sample=True").do_sample);
  EXPECT_EQ(*parse_gen_kwargs("repetition_penalty=1.1").repetition_penalty, 1.1);
  EXPECT_EQ(*parse_gen_kwargs("seed=1234").seed, 1234u);
  EXPECT_EQ(*parse_gen_kwargs(R"(until=[r"\n", r'a\'b'])").until, (Stops{"\\n", "a\\'b"}));  // raw strings keep backslashes
  // nesting deeper than any generation argument is not a literal (and no stack overflow): the text itself
  const std::string deep = "until=" + std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(parse_gen_kwargs(deep).until->size(), 1u);
}

// A doc's request: greedy tasks ignore top_p and min_p, the stops go to the engine unless they wait
// for the answer part (--strip-thinking, lm-eval's think_end_token), repetition_penalty always applies.
TEST(GenKwargs, DocRequestsCarryTheMergedSettings) {
  GenerationDefaults task;
  task.do_sample = false;
  task.until = {"Question:", "\n\n", ""};
  task.max_gen_toks = 64;
  const GenKwargs kwargs = parse_gen_kwargs("top_p=0.5,min_p=0.1,repetition_penalty=1.2,top_k=4");
  const infer::SamplingParams greedy = generation_params(effective_generation(task, kwargs), kwargs, 9, false);
  EXPECT_EQ(greedy.temperature, 0.0f);
  EXPECT_EQ(greedy.top_p, 1.0f);
  EXPECT_EQ(greedy.min_p, 0.0f);
  EXPECT_EQ(greedy.repetition_penalty, 1.2f);
  EXPECT_EQ(greedy.top_k, 4);
  EXPECT_EQ(greedy.max_new_tokens, 64);
  EXPECT_EQ(greedy.seed, 9u);
  EXPECT_EQ(greedy.stop, (std::vector<std::string>{"Question:", "\n\n"}));
  const GenKwargs sample = parse_gen_kwargs("do_sample=true,temperature=0.6,top_p=0.5,min_p=0.1");
  const infer::SamplingParams sampled = generation_params(effective_generation(task, sample), sample, 9, true);
  EXPECT_EQ(sampled.temperature, 0.6f);
  EXPECT_EQ(sampled.top_p, 0.5f);
  EXPECT_EQ(sampled.min_p, 0.1f);
  EXPECT_TRUE(sampled.stop.empty());
}

// lm-eval's vllm backend passes the keys it does not know to vLLM's SamplingParams: its penalties and
// min_tokens apply greedy or sampled, and are written into the samples' generation arguments.
TEST(GenKwargs, VllmPenaltiesAndMinTokensPassThrough) {
  GenerationDefaults task;
  task.do_sample = false;
  task.max_gen_toks = 64;
  const GenKwargs kwargs = parse_gen_kwargs("presence_penalty=1.5,frequency_penalty=-0.5,min_tokens=8");
  const infer::SamplingParams p = generation_params(effective_generation(task, kwargs), kwargs, 9, false);
  EXPECT_EQ(p.presence_penalty, 1.5f);
  EXPECT_EQ(p.frequency_penalty, -0.5f);
  EXPECT_EQ(p.min_tokens, 8);
  EXPECT_EQ(p.temperature, 0.0f);
  const auto j = generation_json(effective_generation(task, kwargs), kwargs);
  EXPECT_EQ(j.at("presence_penalty"), 1.5);
  EXPECT_EQ(j.at("frequency_penalty"), -0.5);
  EXPECT_EQ(j.at("min_tokens"), 8);
  EXPECT_FALSE(generation_json(task, {}).contains("min_tokens"));
  auto error_of = [](const std::string& text) { return tt::testing::error_of([&] { parse_gen_kwargs(text); }); };
  EXPECT_EQ(error_of("presence_penalty=2.5"), "--gen-kwargs: presence_penalty=2.5 must be in [-2, 2]");
  EXPECT_EQ(error_of("frequency_penalty=nan"), "--gen-kwargs: frequency_penalty=nan must be in [-2, 2]");
  EXPECT_EQ(error_of("min_tokens=-1"), "--gen-kwargs: min_tokens=-1 must be a whole number >= 0");
  EXPECT_EQ(tt::testing::error_of([&] { effective_generation(task, parse_gen_kwargs("min_tokens=65")); }),
            "--gen-kwargs: min_tokens=65 is more than max_gen_toks (64)");
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
  EXPECT_EQ(error_of("until=[1]"), "--gen-kwargs: until holds 1.0, which is not a string");
  EXPECT_EQ(error_of("{not json"), "--gen-kwargs: '{not json' is not a JSON object");
  EXPECT_EQ(error_of("min_p=1.5"), "--gen-kwargs: min_p=1.5 must be in [0, 1]");
  // Python reads these as a dict, a set or bytes: lm-eval refuses them as stops, and so do we
  for (const char* literal : {"until={\"a\": 1}", "until={'a'}", "until=b'a'"})
    EXPECT_NE(error_of(literal).find("is a dict, set or bytes literal"), std::string::npos) << literal;
  // a long value is shown cut, not echoed whole
  EXPECT_LT(error_of("top_p=" + std::string(40000, '9')).size(), 200u);
  EXPECT_EQ(error_of("repetition_penalty=0"), "--gen-kwargs: repetition_penalty=0 must be in (0, 1e6]");
  // a nested list holding bytes that are not UTF-8 (the fuzzer's find): shown with U+FFFD, not a
  // json type_error that ended the process
  const std::string nested = error_of("until=[['Q:', '\\{\xa2u00e9\\x41'],'Q:']");
  EXPECT_NE(nested.find("--gen-kwargs: until holds [\"Q:\""), std::string::npos) << nested;
  EXPECT_NE(nested.find("\xEF\xBF\xBD"), std::string::npos) << nested;
}

}  // namespace
}  // namespace tt::eval
