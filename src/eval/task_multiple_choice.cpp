// Scoring of multiple-choice tasks as lm-eval's ConfigurableTask.process_results does it, and the
// helpers the multiple-choice task families share (task_multiple_choice.h).
#include "eval/task_multiple_choice.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <unordered_set>

#include "core/error.h"

namespace tt::eval {

namespace {

// np.argmax: the first maximum; a NaN counts as the maximum (the first NaN wins).
int64_t numpy_argmax(const std::vector<double>& values) {
  int64_t best = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) return static_cast<int64_t>(i);
    if (values[i] > values[best]) best = static_cast<int64_t>(i);
  }
  return best;
}

}  // namespace

DocScore Task::score_choices(const Doc& doc, const std::vector<double>& choice_loglikelihoods) const {
  const std::vector<std::string> continuations = choices(doc);
  if (continuations.empty()) fail("{}: doc {} has no choices", name(), doc.id);
  if (choice_loglikelihoods.size() != continuations.size())
    fail("{}: doc {}: {} log-likelihoods for {} choices", name(), doc.id, choice_loglikelihoods.size(),
         continuations.size());
  const int64_t gold = gold_index(doc);
  if (gold < 0 || gold >= static_cast<int64_t>(continuations.size()))
    fail("{}: doc {}: gold index {} outside the {} choices", name(), doc.id, gold, continuations.size());

  // lm-eval divides by len(doc_to_choice(doc)[i]): the choice as the task lists it, without the
  // target_delimiter that the continuation starts with, counted in Python characters.
  std::string delimiter = " ";
  if (const auto cfg = config(); cfg.contains("target_delimiter") && cfg["target_delimiter"].is_string())
    delimiter = cfg["target_delimiter"].get<std::string>();
  std::vector<double> normalised(continuations.size());
  for (size_t i = 0; i < continuations.size(); ++i) {
    std::string_view choice = continuations[i];
    if (choice.starts_with(delimiter)) choice.remove_prefix(delimiter.size());
    normalised[i] = choice_loglikelihoods[i] / static_cast<double>(python_length(choice));
  }

  const int64_t pred = numpy_argmax(choice_loglikelihoods);
  const int64_t pred_norm = numpy_argmax(normalised);
  const std::map<std::string, double> all = {{"acc,none", pred == gold ? 1.0 : 0.0},
                                             {"acc_norm,none", pred_norm == gold ? 1.0 : 0.0}};
  DocScore score;
  for (const auto& key : metric_keys())
    if (auto it = all.find(key); it != all.end()) score.metrics[key] = {it->second};
  score.filtered["none"] = pred;
  score.extra["loglikelihoods"] = choice_loglikelihoods;
  score.extra["pred_norm"] = pred_norm;
  return score;
}

Prompt multiple_choice_prompt(const std::string& description, const std::vector<FewshotExample>& fewshot,
                              const std::string& question, const std::string& target_delimiter,
                              const std::string& fewshot_delimiter) {
  Prompt prompt;
  prompt.text = description;
  if (!description.empty()) prompt.messages.push_back({{"role", "system"}, {"content", description}});
  for (const auto& example : fewshot) {
    prompt.text += example.text + target_delimiter + example.answer + fewshot_delimiter;
    prompt.messages.push_back({{"role", "user"}, {"content", example.text}});
    prompt.messages.push_back({{"role", "assistant"}, {"content", example.answer}});
  }
  prompt.text += question;
  prompt.messages.push_back({{"role", "user"}, {"content", question}});
  return prompt;
}

int64_t python_length(std::string_view utf8) {
  return std::count_if(utf8.begin(), utf8.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// CPython's random_seed for a non-negative int: the key is its 32-bit words, least significant
// first (one word for 0), fed to MT19937's init_by_array.
PythonRandom::PythonRandom(uint64_t seed) {
  std::vector<uint32_t> key = {static_cast<uint32_t>(seed)};
  if (seed >> 32) key.push_back(static_cast<uint32_t>(seed >> 32));

  state_[0] = 19650218u;  // init_genrand(19650218)
  for (int i = 1; i < kN; ++i)
    state_[i] = 1812433253u * (state_[i - 1] ^ (state_[i - 1] >> 30)) + static_cast<uint32_t>(i);
  int i = 1;
  size_t j = 0;
  for (int k = std::max<int>(kN, static_cast<int>(key.size())); k > 0; --k) {
    state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1664525u)) + key[j] +
                static_cast<uint32_t>(j);
    ++i;
    ++j;
    if (i >= kN) {
      state_[0] = state_[kN - 1];
      i = 1;
    }
    if (j >= key.size()) j = 0;
  }
  for (int k = kN - 1; k > 0; --k) {
    state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1566083941u)) - static_cast<uint32_t>(i);
    ++i;
    if (i >= kN) {
      state_[0] = state_[kN - 1];
      i = 1;
    }
  }
  state_[0] = 0x80000000u;
  index_ = kN;
}

uint32_t PythonRandom::getrandbits32() {
  constexpr int kM = 397;
  constexpr uint32_t kMatrixA = 0x9908b0dfu, kUpper = 0x80000000u, kLower = 0x7fffffffu;
  if (index_ >= kN) {
    for (int k = 0; k < kN; ++k) {
      const uint32_t y = (state_[k] & kUpper) | (state_[(k + 1) % kN] & kLower);
      state_[k] = state_[(k + kM) % kN] ^ (y >> 1) ^ ((y & 1u) ? kMatrixA : 0u);
    }
    index_ = 0;
  }
  uint32_t y = state_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

// _randbelow_with_getrandbits: k = n.bit_length(); draw getrandbits(k) until below n.
// getrandbits(k) for k <= 32 is the top k bits of one 32-bit output.
uint64_t PythonRandom::randbelow(uint64_t n) {
  TT_CHECK(n >= 1 && n <= 0xffffffffu, "randbelow range");
  const int bits = std::bit_width(n);
  auto draw = [&] { return uint64_t{getrandbits32() >> (32 - bits)}; };
  uint64_t r = draw();
  while (r >= n) r = draw();
  return r;
}

// random.sample(range(n), k): a partial Fisher-Yates on a pool for small n, otherwise rejection
// of repeated indices (CPython chooses by the size of the set it would need).
std::vector<int64_t> PythonRandom::sample(int64_t n, int64_t k) {
  if (k < 0 || k > n) fail("sample of {} from a population of {}", k, n);
  std::vector<int64_t> result(static_cast<size_t>(k));
  int64_t setsize = 21;
  if (k > 5) setsize += static_cast<int64_t>(std::pow(4.0, std::ceil(std::log(static_cast<double>(k * 3)) / std::log(4.0))));
  if (n <= setsize) {
    std::vector<int64_t> pool(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) pool[i] = i;
    for (int64_t i = 0; i < k; ++i) {
      const auto j = static_cast<int64_t>(randbelow(static_cast<uint64_t>(n - i)));
      result[i] = pool[j];
      pool[j] = pool[n - i - 1];
    }
  } else {
    std::unordered_set<int64_t> selected;
    for (int64_t i = 0; i < k; ++i) {
      auto j = static_cast<int64_t>(randbelow(static_cast<uint64_t>(n)));
      while (selected.count(j)) j = static_cast<int64_t>(randbelow(static_cast<uint64_t>(n)));
      selected.insert(j);
      result[i] = j;
    }
  }
  return result;
}

}  // namespace tt::eval
