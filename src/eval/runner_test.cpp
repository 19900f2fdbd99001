#include "eval/runner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/error.h"
#include "eval/eval_test_util.h"
#include "eval/task.h"
#include "infer/test_models.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "model/scoring.h"
#include "tests/test_util.h"

namespace tt::eval {
namespace {

using Json = nlohmann::ordered_json;

// A generate_until task whose answer is "yes" for even docs and "no" for odd ones.
class FakeGenerateTask : public Task {
 public:
  FakeGenerateTask(std::string name, int64_t n, std::string group = "") : name_(std::move(name)), group_(std::move(group)) {
    for (int64_t i = 0; i < n; ++i)
      docs_.push_back({i, Json{{"question", "question " + std::to_string(i)}, {"answer", i % 2 ? "no" : "yes"}}});
  }
  const std::string& name() const override { return name_; }
  std::string group() const override { return group_; }
  Json group_version() const override { return group_.empty() ? Json(nullptr) : Json(3.0); }
  OutputType output_type() const override { return OutputType::GenerateUntil; }
  const std::vector<Doc>& docs() const override { return docs_; }
  Json config() const override { return {{"num_fewshot", 0}, {"output_type", "generate_until"}}; }
  std::vector<std::string> metric_keys() const override { return {"exact_match,none"}; }
  Prompt prompt(const Doc& doc) const override {
    Prompt p;
    p.text = "Q: " + doc.fields["question"].get<std::string>() + "\nA:";
    p.messages = Json::array({{{"role", "user"}, {"content", doc.fields["question"]}}});
    return p;
  }
  std::string target(const Doc& doc) const override { return doc.fields["answer"]; }
  std::vector<std::string> doc_text_fields() const override { return {"question"}; }
  GenerationDefaults generation_defaults() const override {
    GenerationDefaults d;
    d.until = {"\n"};
    d.max_gen_toks = 8;
    return d;
  }
  DocScore score_response(const Doc& doc, std::string_view response) const override {
    DocScore s;
    const bool ok = std::string(response) == doc.fields["answer"].get<std::string>();
    s.metrics["exact_match,none"] = {ok ? 1.0 : 0.0};
    s.filtered["none"] = std::string(response);
    return s;
  }

 private:
  std::string name_, group_;
  std::vector<Doc> docs_;
};

// A multiple_choice task with two fixed choices.
class FakeChoiceTask : public Task {
 public:
  FakeChoiceTask() {
    for (int64_t i = 0; i < 4; ++i) docs_.push_back({i, Json{{"question", "pick " + std::to_string(i)}}});
  }
  const std::string& name() const override { return name_; }
  OutputType output_type() const override { return OutputType::MultipleChoice; }
  const std::vector<Doc>& docs() const override { return docs_; }
  Json config() const override { return {{"num_fewshot", 0}}; }
  std::vector<std::string> metric_keys() const override { return {"acc,none", "acc_norm,none"}; }
  Prompt prompt(const Doc& doc) const override {
    Prompt p;
    p.add("user", "Question: " + doc.fields["question"].get<std::string>() + "\nAnswer:");
    return p;
  }
  std::string target(const Doc&) const override { return " b"; }
  std::vector<std::string> doc_text_fields() const override { return {"question"}; }
  std::vector<std::string> choices(const Doc&) const override { return {" a", " bcd"}; }
  int64_t gold_index(const Doc&) const override { return 1; }

 private:
  std::string name_ = "fake_choice";
  std::vector<Doc> docs_;
};

std::vector<std::unique_ptr<Task>> one(std::unique_ptr<Task> t) {
  std::vector<std::unique_ptr<Task>> v;
  v.push_back(std::move(t));
  return v;
}

std::vector<Json> read_samples(const std::string& path) {
  std::vector<Json> rows;
  read_jsonl(path, [&](int64_t, const nlohmann::json& j) { rows.push_back(Json::parse(j.dump())); });
  return rows;
}

TEST(EvalRunner, RescoresResponsesByDocIdAndByText) {
  const std::string dir = testing::make_temp_dir("eval-rescore");
  const std::string responses = dir + "/responses.jsonl";
  std::ofstream(responses) << R"({"doc_id": 0, "response": "yes"})" "\n"
                           << R"({"question": "question 1", "response": "no"})" "\n"
                           << R"({"prompt": "question 2", "response": "no"})" "\n"
                           << "{\"doc_id\": 3, \"response\": \"\\ud800 not utf8\"}\n"
                           << "{\"doc_id\": 4, \"response\": \"\xff\xfe raw bytes\"}\n"
                           << R"({"question": "no such doc", "response": "yes"})" "\n";
  EvalOptions options;
  options.responses_path = responses;
  options.output_dir = dir + "/out";
  options.progress = false;
  const Json r = run_tasks(options, one(std::make_unique<FakeGenerateTask>("fake", 6)));
  // docs 0, 1 right; 2 wrong; 3 and 4 wrong (not UTF-8); 5 has no response.
  EXPECT_EQ(r["n-samples"]["fake"]["effective"], 5);
  EXPECT_EQ(r["n-samples"]["fake"]["original"], 6);
  EXPECT_DOUBLE_EQ(r["results"]["fake"]["exact_match,none"].get<double>(), 0.4);
  EXPECT_NEAR(r["results"]["fake"]["exact_match_stderr,none"].get<double>(), std::sqrt(0.3 / 5.0), 1e-12);
  const auto samples = read_samples(options.output_dir + "/samples_fake.jsonl");
  ASSERT_EQ(samples.size(), 5u);
  EXPECT_EQ(samples[4]["response"], "");
  EXPECT_EQ(samples[1]["doc_id"], 1);
  EXPECT_EQ(samples[1]["response"], "no");
  EXPECT_EQ(samples[1]["target"], "no");
  EXPECT_EQ(samples[1]["exact_match,none"], 1.0);
  EXPECT_EQ(samples[1]["prompt"], "Q: question 1\nA:");
  EXPECT_TRUE(file_exists(options.output_dir + "/results.json"));
  EXPECT_EQ(read_json_file(options.output_dir + "/results.json")["results"]["fake"]["exact_match,none"], 0.4);
}

TEST(EvalRunner, StripThinkingScoresTheAnswerPart) {
  const std::string dir = testing::make_temp_dir("eval-think");
  std::ofstream(dir + "/r.jsonl") << R"({"doc_id": 0, "response": "<think>no, maybe</think>\nyes"})" "\n"
                                  << R"({"doc_id": 1, "response": "<think>no"})" "\n"
                                  << R"({"doc_id": 2, "response": "yes"})" "\n"
                                  // the task's stop ("\n") applies to the answer, not to the thinking
                                  << R"({"doc_id": 3, "response": "<think>yes\nmaybe</think>\nno\nQ: more"})" "\n";
  EvalOptions options;
  options.responses_path = dir + "/r.jsonl";
  options.output_dir = dir + "/out";
  options.progress = false;
  options.strip_thinking = true;
  const Json r = run_tasks(options, one(std::make_unique<FakeGenerateTask>("fake", 4)));
  EXPECT_NEAR(r["results"]["fake"]["exact_match,none"].get<double>(), 3.0 / 4, 1e-12);  // docs 0, 2 and 3
  const auto samples = read_samples(options.output_dir + "/samples_fake.jsonl");
  EXPECT_EQ(samples[0]["scored_response"], "yes");
  EXPECT_EQ(samples[1]["scored_response"], "");
  EXPECT_EQ(samples[3]["scored_response"], "no");
  options.strip_thinking = false;
  const Json raw = run_tasks(options, one(std::make_unique<FakeGenerateTask>("fake", 4)));
  EXPECT_NEAR(raw["results"]["fake"]["exact_match,none"].get<double>(), 1.0 / 4, 1e-12);
}

TEST(EvalRunner, GroupsAreSizeWeightedWithPooledStderr) {
  const std::string dir = testing::make_temp_dir("eval-group");
  const std::string responses = dir + "/responses.jsonl";
  {
    std::ofstream out(responses);
    for (int i = 0; i < 4; ++i) out << Json{{"task", "a"}, {"doc_id", i}, {"response", "yes"}}.dump() << "\n";
    for (int i = 0; i < 8; ++i) out << Json{{"task", "b"}, {"doc_id", i}, {"response", i < 6 ? "yes" : "no"}}.dump() << "\n";
  }
  EvalOptions options;
  options.responses_path = responses;
  options.output_dir = dir + "/out";
  options.progress = false;
  std::vector<std::unique_ptr<Task>> tasks;
  tasks.push_back(std::make_unique<FakeGenerateTask>("a", 4, "g"));
  tasks.push_back(std::make_unique<FakeGenerateTask>("b", 8, "g"));
  const Json r = run_tasks(options, tasks);
  const double a = r["results"]["a"]["exact_match,none"], b = r["results"]["b"]["exact_match,none"];
  EXPECT_DOUBLE_EQ(a, 0.5);         // yes on 0..3: right on 0, 2
  EXPECT_DOUBLE_EQ(b, 4.0 / 8.0);   // yes on 0..5 (right 0,2,4), no on 6,7 (right 7)
  EXPECT_DOUBLE_EQ(r["groups"]["g"]["exact_match,none"].get<double>(), (a * 4 + b * 8) / 12);
  const double sa = r["results"]["a"]["exact_match_stderr,none"], sb = r["results"]["b"]["exact_match_stderr,none"];
  const double pooled = std::sqrt(((4 - 1) * sa * sa * 4 + (8 - 1) * sb * sb * 8) / (12 - 2) / 12);
  EXPECT_NEAR(r["groups"]["g"]["exact_match_stderr,none"].get<double>(), pooled, 1e-12);
  EXPECT_EQ(r["group_subtasks"]["g"], Json::array({"a", "b"}));
  // lm-eval's "versions": every task's, then the group's (its YAML's metadata version).
  EXPECT_EQ(r["versions"].dump(), R"({"a":1.0,"b":1.0,"g":3.0})");
}

TEST(EvalRunner, BadInputsAreClearErrors) {
  const std::string dir = testing::make_temp_dir("eval-bad");
  EvalOptions options;
  options.output_dir = dir + "/out";
  options.progress = false;
  options.responses_path = dir + "/missing.jsonl";
  EXPECT_THROW(run_tasks(options, one(std::make_unique<FakeGenerateTask>("fake", 2))), Error);
  std::ofstream(dir + "/r.jsonl") << R"({"doc_id": 0})" "\n";
  options.responses_path = dir + "/r.jsonl";
  try {
    run_tasks(options, one(std::make_unique<FakeGenerateTask>("fake", 2)));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("r.jsonl:1: missing field 'response'"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/r.jsonl") << R"({"doc_id": 0, "response": "yes"})" "\n";
  options.gen_kwargs = "temprature=0.5";
  try {
    run_tasks(options, one(std::make_unique<FakeGenerateTask>("fake", 2)));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'temprature'"), std::string::npos) << e.what();
  }
  options.gen_kwargs = "";
  options.model_dir = dir;  // both a model and responses
  EXPECT_THROW(run_tasks(options, one(std::make_unique<FakeGenerateTask>("fake", 2))), Error);
  EXPECT_THROW(expand_task_names({"no_such_task"}), Error);
}

TEST(EvalRunner, GeneratesWithTheEngineDeterministically) {
  const std::string model_dir = test_util::tiny_model_dir("eval-gen");
  EvalOptions options;
  options.model_dir = model_dir;
  options.output_dir = model_dir + "/../out1";
  options.progress = false;
  options.precision = Precision::FP32;
  options.limit = 5;
  const Json r1 = run_tasks(options, one(std::make_unique<FakeGenerateTask>("fake", 9)));
  options.output_dir = model_dir + "/../out2";
  options.max_batch = 2;  // a different batch: the same greedy answers
  const Json r2 = run_tasks(options, one(std::make_unique<FakeGenerateTask>("fake", 9)));
  EXPECT_EQ(r1["n-samples"]["fake"]["effective"], 5);
  const auto s1 = read_samples(model_dir + "/../out1/samples_fake.jsonl");
  const auto s2 = read_samples(model_dir + "/../out2/samples_fake.jsonl");
  ASSERT_EQ(s1.size(), 5u);
  for (size_t i = 0; i < s1.size(); ++i) {
    EXPECT_EQ(s1[i]["response"], s2[i]["response"]);
    EXPECT_EQ(s1[i]["arguments"]["gen_args_0"]["arg_1"]["max_gen_toks"], 8);
    EXPECT_EQ(s1[i]["response"].get<std::string>().find('\n'), std::string::npos);  // stopped at "until"
  }
  EXPECT_GT(r1["tinythink"]["tasks"]["fake"]["generated_tokens"].get<int64_t>(), 0);
}

TEST(EvalRunner, SeveralTasksInOneRunGiveTheirOwnResponses) {
  const std::string model_dir = test_util::tiny_model_dir("eval-two");
  EvalOptions options;
  options.model_dir = model_dir;
  options.progress = false;
  options.precision = Precision::FP32;
  options.output_dir = model_dir + "/../alone";
  run_tasks(options, one(std::make_unique<FakeGenerateTask>("b", 3)));
  options.output_dir = model_dir + "/../both";
  std::vector<std::unique_ptr<Task>> tasks;
  tasks.push_back(std::make_unique<FakeGenerateTask>("a", 5));
  tasks.push_back(std::make_unique<FakeGenerateTask>("b", 3));
  run_tasks(options, tasks);
  const auto alone = read_samples(model_dir + "/../alone/samples_b.jsonl");
  const auto both = read_samples(model_dir + "/../both/samples_b.jsonl");
  ASSERT_EQ(alone.size(), 3u);
  ASSERT_EQ(both.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(alone[i]["response"], both[i]["response"]);
}

// The model's log-probability of `continuation` after `context`, as lm-eval splits the pair: the
// context's ids, then the rest of the whole string's ids.
double continuation_logprob(Model& model, const Tokenizer& tok, const std::string& context,
                            const std::string& continuation) {
  const auto ctx_ids = tok.encode(context);
  const auto whole = tok.encode(context + continuation);
  const auto scores = score_sequences(model, {whole});
  double sum = 0;
  for (size_t t = ctx_ids.size(); t < whole.size(); ++t) sum += scores[0][t - 1];
  return sum;
}

TEST(EvalRunner, ChoiceLogLikelihoodsEqualTheModelsScores) {
  const std::string model_dir = test_util::tiny_model_dir("eval-mc");
  EvalOptions options;
  options.model_dir = model_dir;
  options.output_dir = model_dir + "/../out";
  options.progress = false;
  options.precision = Precision::FP32;
  FakeChoiceTask probe;
  const Json r = run_tasks(options, one(std::make_unique<FakeChoiceTask>()));
  const auto samples = read_samples(options.output_dir + "/samples_fake_choice.jsonl");
  ASSERT_EQ(samples.size(), 4u);
  Model model = load_model(model_dir);
  Tokenizer tok = Tokenizer::load(model_dir);
  for (const auto& s : samples) {
    const std::string context = s["prompt"];
    const auto choices = probe.choices(probe.docs()[0]);
    for (size_t c = 0; c < choices.size(); ++c) {
      // No trailing space in these contexts: the continuation is the choice as given.
      EXPECT_NEAR(s["resps"][c][0].get<double>(), continuation_logprob(model, tok, context, choices[c]), 1e-3);
    }
    const double a = s["resps"][0][0], b = s["resps"][1][0];
    EXPECT_EQ(s["acc,none"], b > a ? 1.0 : 0.0);
    EXPECT_EQ(s["acc_norm,none"], b / 3 > a / 1 ? 1.0 : 0.0);  // lengths without the delimiter
  }
  EXPECT_TRUE(r["results"]["fake_choice"].contains("acc_norm_stderr,none"));
}

// Under a chat template, as lm-eval (0.4.7 on) scores multiple choice: the continuation is the choice
// without the target delimiter, and all of the context's trailing whitespace (here the "\n\n" after
// the assistant header, not only spaces) moves into it (_encode_pair's context.rstrip()). The samples
// record the continuations as scored.
TEST(EvalRunner, ChoicesUnderAChatTemplateAreScoredAsLmEvalDoes) {
  const std::string model_dir = test_util::tiny_model_dir("eval-mc-chat");
  std::ofstream(model_dir + "/tokenizer_config.json")
      << Json{{"chat_template",
               "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</s>{% endfor %}"
               "{% if add_generation_prompt %}<assistant>\n\n{% endif %}"}}
             .dump();
  EvalOptions options;
  options.model_dir = model_dir;
  options.output_dir = model_dir + "/../out";
  options.progress = false;
  options.precision = Precision::FP32;
  options.apply_chat_template = true;
  run_tasks(options, one(std::make_unique<FakeChoiceTask>()));
  const auto samples = read_samples(options.output_dir + "/samples_fake_choice.jsonl");
  ASSERT_EQ(samples.size(), 4u);
  Model model = load_model(model_dir);
  Tokenizer tok = Tokenizer::load(model_dir);
  for (const auto& s : samples) {
    const std::string rendered = s["prompt"];
    ASSERT_TRUE(rendered.ends_with("<assistant>\n\n")) << rendered;
    const std::string context = rendered.substr(0, rendered.size() - 2);
    const std::vector<std::string> continuations = {"\n\na", "\n\nbcd"};
    EXPECT_EQ(s["arguments"]["gen_args_0"]["arg_1"], "a");
    EXPECT_EQ(s["arguments"]["gen_args_1"]["arg_1"], "bcd");
    for (size_t c = 0; c < continuations.size(); ++c)
      EXPECT_NEAR(s["resps"][c][0].get<double>(), continuation_logprob(model, tok, context, continuations[c]), 1e-3)
          << "choice " << c;
  }
}

}  // namespace
}  // namespace tt::eval
