// Pieces shared by the multiple-choice tasks (task_mmlu.cpp, task_arc.cpp): lm-eval's context
// layout, and Python's random.Random, whose sample() picks lm-eval's few-shot examples.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "eval/task.h"

namespace tt::eval {

// One few-shot example: lm-eval's doc_to_text and the gold choice (without target_delimiter).
struct FewshotExample {
  std::string text;
  std::string answer;
};

// lm-eval's fewshot_context. Plain text: description + (text + target_delimiter + answer +
// fewshot_delimiter) per example + question. Chat (fewshot_as_multiturn): system = description
// when not empty, a user/assistant pair per example, then the question as the last user turn.
Prompt multiple_choice_prompt(const std::string& description, const std::vector<FewshotExample>& fewshot,
                              const std::string& question, const std::string& target_delimiter,
                              const std::string& fewshot_delimiter);

// Python's len() of a UTF-8 string: code points (bytes that do not continue a sequence).
int64_t python_length(std::string_view utf8);

// Python's random.Random(seed) (MT19937 seeded by init_by_array) as far as lm-eval's default
// few-shot sampler uses it: sample(range(n), k), drawn with _randbelow on getrandbits. The same
// seed gives the same indices, in the same order, as CPython.
class PythonRandom {
 public:
  explicit PythonRandom(uint64_t seed);
  uint32_t getrandbits32();                   // getrandbits(32)
  uint64_t randbelow(uint64_t n);             // _randbelow(n), n in [1, 2^32)
  std::vector<int64_t> sample(int64_t n, int64_t k);  // random.sample(range(n), k)

 private:
  static constexpr int kN = 624;
  uint32_t state_[kN];
  int index_ = kN;
};

}  // namespace tt::eval
