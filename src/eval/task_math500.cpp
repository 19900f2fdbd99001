// MATH-500 under the study's protocol (DESIGN.md §5): zero-shot chat with the \boxed{} system
// prompt, sampled decoding; the answer (extract_answer_study) is right when it is equivalent to the
// reference after LaTeX normalisation (math_answers_equivalent).
#include "core/error.h"
#include "eval/answer.h"
#include "eval/task_data.h"
#include "eval/task_families.h"
#include "eval/task_study.h"
#include "text/utf8.h"

namespace tt::eval {
namespace {

class Math500Task final : public Task {
 public:
  explicit Math500Task(const TaskOptions& options) {
    if (options.num_fewshot > 0)
      fail("{} is the study's zero-shot protocol; num_fewshot {} does not apply", name_, options.num_fewshot);
    path_ = task_data_path(options, "math500/test.jsonl");
    docs_ = read_jsonl_text_docs(path_, {"problem", "answer"});
  }

  const std::string& name() const override { return name_; }
  OutputType output_type() const override { return OutputType::GenerateUntil; }
  const std::vector<Doc>& docs() const override { return docs_; }
  std::vector<std::string> metric_keys() const override { return {"exact_match,none"}; }
  std::string target(const Doc& doc) const override { return text_field(doc, "answer"); }
  std::vector<std::string> doc_text_fields() const override { return {"problem"}; }

  GenerationDefaults generation_defaults() const override { return study_generation_defaults(); }
  Prompt prompt(const Doc& doc) const override { return study_prompt(text_field(doc, "problem")); }

  DocScore score_response(const Doc& doc, std::string_view raw) const override {
    // As Python would hold the response.
    return study_score(utf8::to_valid_lossy(raw), target(doc), math_answers_equivalent);
  }

  nlohmann::ordered_json config() const override {
    return study_config(name_, path_, "{{problem}}", "{{answer}}", "math_answers_equivalent");
  }

 private:
  std::string name_ = "math500";
  std::string path_;
  std::vector<Doc> docs_;
};

}  // namespace

std::unique_ptr<Task> make_math500_task(const TaskOptions& options) { return std::make_unique<Math500Task>(options); }

}  // namespace tt::eval
