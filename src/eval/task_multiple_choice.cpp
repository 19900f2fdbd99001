// Scoring of multiple-choice tasks as lm-eval's ConfigurableTask.process_results does it, and the
// helpers the multiple-choice task families share (task_multiple_choice.h).
#include "eval/task_multiple_choice.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "eval/python_compat.h"

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

std::string Task::target_delimiter() const {
  if (const auto cfg = config(); cfg.contains("target_delimiter") && cfg["target_delimiter"].is_string())
    return cfg["target_delimiter"].get<std::string>();
  return " ";
}

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
  const std::string delimiter = target_delimiter();
  std::vector<double> normalised(continuations.size());
  for (size_t i = 0; i < continuations.size(); ++i) {
    std::string_view choice = continuations[i];
    if (choice.starts_with(delimiter)) choice.remove_prefix(delimiter.size());
    normalised[i] = choice_loglikelihoods[i] / static_cast<double>(py::len(choice));
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
  prompt.fewshot_delimiter = fewshot_delimiter;
  if (!description.empty()) prompt.add("system", description);
  for (const auto& example : fewshot) {
    prompt.add("user", example.text, target_delimiter);
    prompt.add("assistant", example.answer, fewshot_delimiter);
  }
  prompt.add("user", question);
  return prompt;
}

}  // namespace tt::eval
