// The generators behind synthetic.h, one item at a time (exposed for tests). Internal to src/study.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "study/synthetic.h"

namespace tt::synth {

// ---- arithmetic word problems (synthetic_arithmetic.cpp) ----

struct ArithmeticStep {
  char op = '+';        // + - * /
  int64_t a = 0, b = 0, result = 0;
  std::string description;  // what the step does, e.g. "She buys 5 more"
};

struct ArithmeticProblem {
  std::string question;
  std::vector<ArithmeticStep> steps;  // each step's result feeds a later step or is the answer
  int64_t answer = 0;
};

ArithmeticProblem make_arithmetic_problem(Rng& rng, const ArithmeticOptions& options);
// "She buys 5 more: 7 + 5 = 12." per step, joined by newlines.
std::string arithmetic_trace(const ArithmeticProblem& p);
// GSM8K's answer field: the steps with <<a+b=c>> calculator notes, then "#### N".
std::string arithmetic_gsm8k_answer(const ArithmeticProblem& p);

// ---- IFEval-style instructions (synthetic_ifeval.cpp) ----

struct IfevalItem {
  std::string prompt;
  std::vector<std::string> instruction_ids;
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::array();  // one object per instruction
  std::string plan;      // the think text: what the response must do
  std::string response;  // follows every instruction
};

IfevalItem make_ifeval_item(Rng& rng);
// The official instruction ids this generator uses.
std::vector<std::string> ifeval_ids_used();

// ---- BBH tasks (synthetic_bbh.cpp) ----

struct BbhItem {
  std::string input, target;
  std::string trace;  // the think text
};

// boolean_expressions, object_counting, word_sorting, dyck_languages
const std::vector<std::string>& bbh_task_names();
// lm-eval's description of the BBH task (its bbh_zeroshot system text).
std::string bbh_description(const std::string& task);
BbhItem make_bbh_item(const std::string& task, Rng& rng);

// "The answer is \boxed{X}." (or without \boxed when X holds a brace, which \boxed{} cannot hold).
std::string answer_sentence(const std::string& answer);

}  // namespace tt::synth
