// lm-eval's `ifeval` task (lm_eval/tasks/ifeval): the prompt as it is, zero-shot, greedy, up to 1280
// new tokens, scored by the official checker (ifeval.h) strictly and loosely.
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "eval/ifeval.h"
#include "eval/langdetect.h"
#include "eval/task_data.h"
#include "eval/task_families.h"
#include "text/utf8.h"

namespace tt::eval {

namespace {

const char* const kPromptStrict = "prompt_level_strict_acc,none";
const char* const kInstStrict = "inst_level_strict_acc,none";
const char* const kPromptLoose = "prompt_level_loose_acc,none";
const char* const kInstLoose = "inst_level_loose_acc,none";

std::vector<std::string> instruction_ids(const Doc& doc) {
  return doc.fields["instruction_id_list"].get<std::vector<std::string>>();
}

class IfevalTask final : public Task {
 public:
  explicit IfevalTask(const TaskOptions& options) {
    path_ = task_data_path(options, "ifeval/input_data.jsonl");
    docs_ = read_jsonl_docs(path_, {"key", "prompt", "instruction_id_list", "kwargs"});
    if (options.num_fewshot > 0) log_warn("ifeval is zero-shot; num_fewshot={} ignored", options.num_fewshot);
    // langdetect's profiles now, so that a missing python3-langdetect stops the run before
    // generation rather than at scoring.
    LangDetector::installed();
    // Check every record now, so that scoring never meets an unknown instruction or a bad argument.
    const auto known = ifeval_instruction_ids();
    const std::set<std::string> known_set(known.begin(), known.end());
    for (const Doc& doc : docs_) {
      const auto& f = doc.fields;
      const std::string where = fmt::format("{}: record {} (key {})", path_, doc.id + 1, f["key"].dump());
      if (!f["prompt"].is_string()) fail("{}: 'prompt' is not a string", where);
      if (!f["instruction_id_list"].is_array()) fail("{}: 'instruction_id_list' is not a list", where);
      for (const auto& id : f["instruction_id_list"])
        if (!id.is_string() || !known_set.count(id.get<std::string>()))
          fail("{}: unknown instruction id {}", where, id.dump());
      try {
        check_ifeval(instruction_ids(doc), nlohmann::json::parse(f["kwargs"].dump()), f["prompt"], "");
      } catch (const Error& e) {
        fail("{}: {}", where, e.what());
      }
    }
  }

  const std::string& name() const override { return name_; }
  OutputType output_type() const override { return OutputType::GenerateUntil; }
  const std::vector<Doc>& docs() const override { return docs_; }

  nlohmann::ordered_json config() const override {
    nlohmann::ordered_json metrics = nlohmann::ordered_json::array();
    for (const char* metric : {"prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc",
                               "inst_level_loose_acc"}) {
      const bool inst = std::string_view(metric).starts_with("inst");
      metrics.push_back({{"metric", metric},
                         {"aggregation", inst ? "agg_inst_level_acc" : "mean"},
                         {"higher_is_better", true}});
    }
    return {{"task", "ifeval"},
            {"dataset_path", "google/IFEval"},
            {"data_file", path_},
            {"test_split", "train"},
            {"doc_to_text", "prompt"},
            {"doc_to_target", 0},
            {"description", ""},
            {"target_delimiter", " "},
            {"fewshot_delimiter", "\n\n"},
            {"num_fewshot", 0},
            {"metric_list", metrics},
            {"output_type", "generate_until"},
            {"generation_kwargs",
             {{"until", nlohmann::ordered_json::array()},
              {"do_sample", false},
              {"temperature", 0.0},
              {"max_gen_toks", 1280}}},
            {"repeats", 1},
            {"should_decontaminate", false},
            {"metadata", {{"version", 4.0}}}};
  }

  std::vector<std::string> metric_keys() const override {
    return {kPromptStrict, kInstStrict, kPromptLoose, kInstLoose};
  }

  Prompt prompt(const Doc& doc) const override {
    Prompt p;
    p.add("user", doc.fields["prompt"].get<std::string>());
    return p;
  }

  std::string target(const Doc&) const override { return ""; }
  std::vector<std::string> doc_text_fields() const override { return {"prompt"}; }

  GenerationDefaults generation_defaults() const override {
    GenerationDefaults g;
    g.until = {};
    g.max_gen_toks = 1280;
    g.do_sample = false;
    g.temperature = 0.0;
    return g;
  }

  DocScore score_response(const Doc& doc, std::string_view response) const override {
    const auto& f = doc.fields;
    const auto ids = instruction_ids(doc);
    const IfevalVerdict v =
        check_ifeval(ids, nlohmann::json::parse(f["kwargs"].dump()), f["prompt"].get<std::string>(), response);
    auto all = [](const std::vector<bool>& b) { return std::all_of(b.begin(), b.end(), [](bool x) { return x; }); };
    DocScore s;
    s.metrics[kPromptStrict] = {all(v.strict) ? 1.0 : 0.0};
    s.metrics[kPromptLoose] = {all(v.loose) ? 1.0 : 0.0};
    auto& inst_strict = s.metrics[kInstStrict];
    auto& inst_loose = s.metrics[kInstLoose];
    for (size_t i = 0; i < ids.size(); ++i) {
      inst_strict.push_back(v.strict[i] ? 1.0 : 0.0);
      inst_loose.push_back(v.loose[i] ? 1.0 : 0.0);
    }
    s.filtered["none"] = utf8::to_valid_lossy(response);
    s.extra["prompt"] = f["prompt"];
    s.extra["instruction_id_list"] = f["instruction_id_list"];
    s.extra["follow_instruction_list_strict"] = v.strict;
    s.extra["follow_instruction_list_loose"] = v.loose;
    s.extra["follow_all_instructions_strict"] = all(v.strict);
    s.extra["follow_all_instructions_loose"] = all(v.loose);
    return s;
  }

 private:
  std::string name_ = "ifeval";
  std::string path_;
  std::vector<Doc> docs_;
};

}  // namespace

std::unique_ptr<Task> make_ifeval_task(const TaskOptions& options) { return std::make_unique<IfevalTask>(options); }

}  // namespace tt::eval
