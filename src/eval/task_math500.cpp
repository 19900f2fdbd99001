// MATH-500 under the study's protocol (DESIGN.md §5): zero-shot chat with the \boxed{} system
// prompt, sampled decoding; the answer (extract_answer_study) is right when it is equivalent to the
// reference after LaTeX normalisation (math_answers_equivalent).
#include "core/error.h"
#include "eval/answer.h"
#include "eval/task_data.h"
#include "eval/task_families.h"
#include "text/utf8.h"

namespace tt::eval {
namespace {

constexpr const char* kInvalid = "[invalid]";

std::string text_field(const Doc& doc, const char* key) {
  auto it = doc.fields.find(key);
  return it != doc.fields.end() && it->is_string() ? it->get<std::string>() : std::string();
}

class Math500Task final : public Task {
 public:
  explicit Math500Task(const TaskOptions& options) {
    if (options.num_fewshot > 0)
      fail("{} is the study's zero-shot protocol; num_fewshot {} does not apply", name_, options.num_fewshot);
    path_ = resolve_data_root(options) + "/math500/test.jsonl";
    docs_ = read_jsonl_docs(path_, {"problem", "answer"});
    for (const Doc& doc : docs_)
      for (const char* field : {"problem", "answer"})
        if (!doc.fields[field].is_string())
          fail("{}: record {}: field '{}' is not a string", path_, doc.id + 1, field);
  }

  const std::string& name() const override { return name_; }
  OutputType output_type() const override { return OutputType::GenerateUntil; }
  const std::vector<Doc>& docs() const override { return docs_; }
  std::vector<std::string> metric_keys() const override { return {"exact_match,none"}; }
  std::string target(const Doc& doc) const override { return text_field(doc, "answer"); }
  std::vector<std::string> doc_text_fields() const override { return {"problem"}; }

  GenerationDefaults generation_defaults() const override {
    GenerationDefaults g;
    g.until = {};
    g.max_gen_toks = 1024;
    g.do_sample = true;
    g.temperature = 0.6;
    g.top_p = 0.95;
    return g;
  }

  Prompt prompt(const Doc& doc) const override {
    Prompt p;
    const std::string problem = text_field(doc, "problem");
    p.chat_native = true;
    p.messages.push_back({{"role", "system"}, {"content", std::string(kStudySystemPrompt)}});
    p.messages.push_back({{"role", "user"}, {"content", problem}});
    p.text = std::string(kStudySystemPrompt) + "\n\n" + problem;  // for models without a chat template
    return p;
  }

  DocScore score_response(const Doc& doc, std::string_view raw) const override {
    const std::string response = utf8::to_valid_lossy(raw);  // as Python would hold it
    DocScore s;
    const auto extracted = extract_answer_study(response);
    const bool correct = extracted && math_answers_equivalent(*extracted, target(doc));
    s.metrics["exact_match,none"] = {correct ? 1.0 : 0.0};
    s.filtered["study"] = extracted ? *extracted : kInvalid;
    return s;
  }

  nlohmann::ordered_json config() const override {
    nlohmann::ordered_json c;
    c["task"] = name_;
    c["dataset_path"] = path_;
    c["test_split"] = "test";
    c["doc_to_text"] = "{{problem}}";
    c["doc_to_target"] = "{{answer}}";
    c["description"] = "";
    c["system_instruction"] = std::string(kStudySystemPrompt);
    c["apply_chat_template"] = true;
    c["num_fewshot"] = 0;
    c["metric_list"] = {{{"metric", "exact_match"}, {"aggregation", "mean"}, {"higher_is_better", true},
                         {"answer", "extract_answer_study"}, {"compare", "math_answers_equivalent"}}};
    c["output_type"] = "generate_until";
    c["generation_kwargs"] = {{"until", nlohmann::ordered_json::array()}, {"do_sample", true},
                              {"temperature", 0.6}, {"top_p", 0.95}, {"max_gen_toks", 1024}};
    c["repeats"] = 1;
    c["filter_list"] = {{{"name", "study"}, {"filter", {{{"function", "extract_answer_study"}}}}}};
    c["metadata"] = {{"version", 1.0}, {"protocol", "study (DESIGN.md §5)"}};
    return c;
  }

 private:
  std::string name_ = "math500";
  std::string path_;
  std::vector<Doc> docs_;
};

}  // namespace

std::unique_ptr<Task> make_math500_task(const TaskOptions& options) { return std::make_unique<Math500Task>(options); }

}  // namespace tt::eval
