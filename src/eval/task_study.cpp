// The study's protocol shared by gsm8k_boxed and math500 (task_study.h).
#include "eval/task_study.h"

#include "eval/answer.h"

namespace tt::eval {

Prompt study_prompt(const std::string& question) {
  Prompt p;
  p.chat_native = true;
  p.add("system", std::string(kStudySystemPrompt), "\n\n");  // "\n\n": the plain text, for models without a chat template
  p.add("user", question);
  return p;
}

GenerationDefaults study_generation_defaults() {
  GenerationDefaults g;
  g.until = {};
  g.max_gen_toks = 1024;
  g.do_sample = true;
  g.temperature = 0.6;
  g.top_p = 0.95;
  return g;
}

DocScore study_score(std::string_view response, const std::string& gold,
                     bool (*equivalent)(std::string_view, std::string_view)) {
  DocScore s;
  const auto extracted = extract_answer_study(response);
  const bool correct = extracted && equivalent(*extracted, gold);
  s.metrics["exact_match,none"] = {correct ? 1.0 : 0.0};
  s.filtered["study"] = extracted ? *extracted : "[invalid]";
  return s;
}

nlohmann::ordered_json study_config(const std::string& task, const std::string& dataset_path,
                                    const std::string& doc_to_text, const std::string& doc_to_target,
                                    const std::string& compare) {
  nlohmann::ordered_json c;
  c["task"] = task;
  c["dataset_path"] = dataset_path;
  c["test_split"] = "test";
  c["doc_to_text"] = doc_to_text;
  c["doc_to_target"] = doc_to_target;
  c["description"] = "";
  c["system_instruction"] = std::string(kStudySystemPrompt);
  c["apply_chat_template"] = true;
  c["num_fewshot"] = 0;
  c["metric_list"] = {{{"metric", "exact_match"}, {"aggregation", "mean"}, {"higher_is_better", true},
                       {"answer", "extract_answer_study"}, {"compare", compare}}};
  c["output_type"] = "generate_until";
  c["generation_kwargs"] = {{"until", nlohmann::ordered_json::array()}, {"do_sample", true},
                            {"temperature", 0.6}, {"top_p", 0.95}, {"max_gen_toks", 1024}};
  c["repeats"] = 1;
  c["filter_list"] = {{{"name", "study"}, {"filter", {{{"function", "extract_answer_study"}}}}}};
  c["metadata"] = {{"version", 1.0}, {"protocol", "study (DESIGN.md §5)"}};
  return c;
}

}  // namespace tt::eval
