// The factories of each task family; make_task (task.cpp) dispatches on the name.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "eval/task.h"

namespace tt::eval {

// gsm8k (lm-eval: 5-shot "Question: ...\nAnswer:", strict-match / flexible-extract),
// gsm8k_cot (lm-eval: 8-shot chain-of-thought "Q: ...\nA: ... The answer is N."),
// gsm8k_boxed (the study: zero-shot, chat template, system prompt asking for \boxed{}, sampled).
std::unique_ptr<Task> make_gsm8k_task(const std::string& name, const TaskOptions& options);
// math500 (the study's protocol on MATH-500).
std::unique_ptr<Task> make_math500_task(const TaskOptions& options);
// bbh_zeroshot_<subtask>, bbh_cot_fewshot_<subtask> (lm-eval).
std::unique_ptr<Task> make_bbh_task(const std::string& name, const TaskOptions& options);
std::vector<std::string> bbh_subtasks();  // the 27 subtask names
// mmlu_<subject> (lm-eval's mmlu, by log-likelihood of " A".." D").
std::unique_ptr<Task> make_mmlu_task(const std::string& name, const TaskOptions& options);
std::vector<std::string> mmlu_stem_subjects();  // the 19 subjects of lm-eval's mmlu_stem group
// arc_challenge, arc_easy (lm-eval: "Question: ...\nAnswer:", choices " text").
std::unique_ptr<Task> make_arc_task(const std::string& name, const TaskOptions& options);
// ifeval (lm-eval's task on the official checker, ifeval.h).
std::unique_ptr<Task> make_ifeval_task(const TaskOptions& options);

}  // namespace tt::eval
