// GSM8K (issue 7, DESIGN.md §5), three ways:
//   gsm8k        lm-eval's gsm8k.yaml (v3.0): 5-shot "Question: ...\nAnswer: <full solution>" drawn
//                from the train split by lm-eval's default sampler (random.Random(seed).sample, one
//                draw per test document in document order), filters strict-match / flexible-extract.
//   gsm8k_cot    lm-eval's gsm8k-cot.yaml (v3.0): the 8 hand-written chain-of-thought exemplars of
//                Wei et al. (first_n), "Q: ...\nA: ... The answer is N."
//   gsm8k_boxed  the study: zero-shot chat with the \boxed{} system prompt, sampled decoding,
//                extract_answer_study compared to the gold number by numbers_equal.
#include <algorithm>

#include "core/error.h"
#include "eval/answer.h"
#include "eval/python_compat.h"
#include "eval/task_data.h"
#include "eval/task_families.h"
#include "eval/task_study.h"
#include "io/file.h"
#include "text/utf8.h"

namespace tt::eval {
namespace {

constexpr const char* kInvalid = "[invalid]";

// The gold number after the last "#### " of a GSM8K solution, commas removed.
std::string gold_number(const std::string& answer) {
  const size_t at = answer.rfind("#### ");
  std::string gold(py::strip(at == std::string::npos ? answer : answer.substr(at + 5)));
  std::erase(gold, ',');
  return gold;
}

// Wei et al.'s eight GSM8K chain-of-thought exemplars, as gsm8k-cot.yaml writes them.
struct Exemplar {
  const char* question;
  const char* target;
};
constexpr Exemplar kCotExemplars[] = {
    {"There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, "
     "there will be 21 trees. How many trees did the grove workers plant today?",
     "There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have "
     "been 21 - 15 = 6. The answer is 6."},
    {"If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking lot?",
     "There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5."},
    {"Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have left in total?",
     "Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = 74. After eating 35, "
     "they had 74 - 35 = 39. The answer is 39."},
    {"Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How many lollipops did "
     "Jason give to Denny?",
     "Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave Denny 20 - 12 = 8. "
     "The answer is 8."},
    {"Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How many toys does he have "
     "now?",
     "Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more toys. 5 + 4 = 9. "
     "The answer is 9."},
    {"There were nine computers in the server room. Five more computers were installed each day, from monday to "
     "thursday. How many computers are now in the server room?",
     "There were originally 9 computers. For each of 4 days, 5 more computers were added. So 5 * 4 = 20 "
     "computers were added. 9 + 20 is 29. The answer is 29."},
    {"Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 more. How many golf "
     "balls did he have at the end of wednesday?",
     "Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. After losing 2 more, "
     "he had 35 - 2 = 33 golf balls. The answer is 33."},
    {"Olivia has $23. She bought five bagels for $3 each. How much money does she have left?",
     "Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has 23 - 15 dollars "
     "left. 23 - 15 is 8. The answer is 8."},
};

enum class Variant { Plain, Cot, Boxed };

const std::vector<std::string> kRegexesToIgnore = {",", "\\$", "(?s).*#### ", "\\.$"};
constexpr const char* kFlexiblePattern = "(-?[$0-9.,]{2,})|(-?[0-9]+)";

class Gsm8kTask final : public Task {
 public:
  Gsm8kTask(const std::string& name, Variant variant, const TaskOptions& options)
      : name_(name),
        variant_(variant),
        strict_(variant == Variant::Cot ? "The answer is (\\-?[0-9\\.\\,]+)." : "#### (\\-?[0-9\\.\\,]+)"),
        flexible_(kFlexiblePattern),
        exact_match_(kRegexesToIgnore, /*ignore_case=*/true, /*ignore_punctuation=*/false) {
    seed_ = options.seed;
    const std::string root = resolve_data_root(options);
    test_path_ = task_data_path(options, "gsm8k/test.jsonl");
    docs_ = read_jsonl_text_docs(test_path_, {"question", "answer"});

    const int default_shots = variant == Variant::Plain ? 5 : variant == Variant::Cot ? 8 : 0;
    num_fewshot_ = options.num_fewshot < 0 ? default_shots : options.num_fewshot;
    if (variant == Variant::Boxed && num_fewshot_ > 0)
      fail("{} is the study's zero-shot protocol; num_fewshot {} does not apply", name_, num_fewshot_);
    if (variant == Variant::Cot) {
      constexpr int available = static_cast<int>(std::size(kCotExemplars));
      if (num_fewshot_ > available)
        fail("{} has {} few-shot exemplars; num_fewshot {} asks for more", name_, available, num_fewshot_);
      for (int i = 0; i < num_fewshot_; ++i)
        cot_shots_.push_back({kCotExemplars[i].question, kCotExemplars[i].target});
    }
    if (variant == Variant::Plain && num_fewshot_ > 0) {
      if (!options.data_root.empty() && !is_directory(options.data_root))
        fail("{}: --data {} is one test set; the {}-shot examples come from GSM8K's train split: give a data folder "
             "holding gsm8k/train.jsonl, or --num-fewshot 0 (gsm8k_boxed and gsm8k_cot need no train split)",
             name_, options.data_root, num_fewshot_);
      train_ = read_jsonl_text_docs(root + "/gsm8k/train.jsonl", {"question", "answer"});
      // lm-eval shares one random.Random(seed) across the documents, drawn in document order; a drawn
      // example equal to the document itself would be dropped (train and test share none).
      if (num_fewshot_ > static_cast<int>(train_.size()))
        fail("{}: num_fewshot {} asks for more examples than {}/gsm8k/train.jsonl has ({})", name_, num_fewshot_, root,
             train_.size());
      py::Random rnd(options.seed);
      shots_.resize(docs_.size());
      for (const Doc& doc : docs_) {
        for (int64_t index : rnd.sample(static_cast<int64_t>(train_.size()), num_fewshot_)) {
          const Doc& shot = train_[static_cast<size_t>(index)];
          if (shot.fields == doc.fields) continue;
          shots_[static_cast<size_t>(doc.id)].push_back(index);
        }
      }
    }
  }

  const std::string& name() const override { return name_; }
  OutputType output_type() const override { return OutputType::GenerateUntil; }
  const std::vector<Doc>& docs() const override { return docs_; }
  std::vector<std::string> doc_text_fields() const override { return {"question"}; }

  std::vector<std::string> metric_keys() const override {
    if (variant_ == Variant::Boxed) return {"exact_match,none"};
    return {"exact_match,strict-match", "exact_match,flexible-extract"};
  }

  std::string target(const Doc& doc) const override {
    const std::string answer = text_field(doc, "answer");
    switch (variant_) {
      case Variant::Plain: return answer;  // doc_to_target "{{answer}}"
      case Variant::Cot: {                 // answer.split('####')[-1].strip()
        const size_t at = answer.rfind("####");
        return std::string(py::strip(at == std::string::npos ? answer : answer.substr(at + 4)));
      }
      case Variant::Boxed: return gold_number(answer);
    }
    return answer;
  }

  GenerationDefaults generation_defaults() const override {
    GenerationDefaults g;
    if (variant_ == Variant::Boxed) return study_generation_defaults();
    g.until = variant_ == Variant::Plain ? std::vector<std::string>{"Question:", "</s>", "<|im_end|>"}
                                         : std::vector<std::string>{"Q:", "</s>", "<|im_end|>"};
    g.max_gen_toks = 256;  // lm-eval's default: the YAML sets none
    g.do_sample = false;
    g.temperature = 0.0;
    return g;
  }

  Prompt prompt(const Doc& doc) const override {
    const std::string question = text_field(doc, "question");
    if (variant_ == Variant::Boxed) return study_prompt(question);
    Prompt p;
    // lm-eval's fewshot_context: (doc_to_text + target_delimiter + target + fewshot_delimiter) per
    // example, then doc_to_text; as chat, one user/assistant pair per example.
    auto add_shot = [&](const std::string& text, const std::string& answer) {
      p.add("user", text, answer.empty() ? "" : " ");
      p.add("assistant", answer, answer.empty() ? "" : "\n\n");
    };
    if (variant_ == Variant::Plain) {
      if (doc.id >= 0 && static_cast<size_t>(doc.id) < shots_.size())
        for (int64_t index : shots_[static_cast<size_t>(doc.id)]) {
          const Doc& shot = train_[static_cast<size_t>(index)];
          add_shot(doc_to_text(text_field(shot, "question")), text_field(shot, "answer"));
        }
    } else {
      for (const auto& [q, a] : cot_shots_) add_shot(doc_to_text(q), a);
    }
    p.add("user", doc_to_text(question));
    return p;
  }

  DocScore score_response(const Doc& doc, std::string_view raw) const override {
    const std::string response = utf8::to_valid_lossy(raw);  // as Python would hold it
    if (variant_ == Variant::Boxed) return study_score(response, target(doc), numbers_equal);
    DocScore s;
    const std::string gold = target(doc);
    const std::string strict = lm_regex_filter(strict_, response, 0).value_or(kInvalid);
    const std::string flexible = lm_regex_filter(flexible_, response, -1).value_or(kInvalid);
    s.metrics["exact_match,strict-match"] = {exact_match_(strict, gold) ? 1.0 : 0.0};
    s.metrics["exact_match,flexible-extract"] = {exact_match_(flexible, gold) ? 1.0 : 0.0};
    s.filtered["strict-match"] = strict;
    s.filtered["flexible-extract"] = flexible;
    return s;
  }

  nlohmann::ordered_json config() const override {
    nlohmann::ordered_json c;
    c["task"] = name_;
    if (variant_ == Variant::Boxed)
      return study_config(name_, test_path_, "{{question}}", "{{answer.split('#### ')[-1].replace(',', '')}}",
                          "numbers_equal");
    c["dataset_path"] = "openai/gsm8k";  // gsm8k.yaml, gsm8k-cot.yaml
    c["dataset_name"] = "main";
    if (variant_ == Variant::Plain) {
      c["training_split"] = "train";
      c["fewshot_split"] = "train";
    }
    c["test_split"] = "test";
    c["doc_to_text"] = variant_ == Variant::Plain ? "Question: {{question}}\nAnswer:" : "Q: {{question}}\nA:";
    c["doc_to_target"] = variant_ == Variant::Plain
                             ? "{{answer}}"
                             : "{{answer.split('####')[-1].strip() if answer is defined else target}}";
    c["description"] = "";
    c["target_delimiter"] = " ";
    c["fewshot_delimiter"] = "\n\n";
    if (variant_ == Variant::Cot) {
      nlohmann::ordered_json samples = nlohmann::ordered_json::array();
      for (const auto& e : kCotExemplars) samples.push_back({{"question", e.question}, {"target", e.target}});
      c["fewshot_config"] = {{"sampler", "first_n"}, {"samples", samples}};
    } else {
      c["fewshot_config"] = {{"sampler", "default"}};
      c["fewshot_seed"] = seed_;
    }
    c["num_fewshot"] = num_fewshot_;
    c["metric_list"] = {{{"metric", "exact_match"},
                         {"aggregation", "mean"},
                         {"higher_is_better", true},
                         {"ignore_case", true},
                         {"ignore_punctuation", false},
                         {"regexes_to_ignore", kRegexesToIgnore}}};
    c["output_type"] = "generate_until";
    const auto g = generation_defaults();
    c["generation_kwargs"] = {{"until", g.until}, {"do_sample", false}};
    if (variant_ == Variant::Plain) c["generation_kwargs"]["temperature"] = 0.0;
    c["repeats"] = 1;
    c["filter_list"] = {
        {{"name", "strict-match"},
         {"filter", {{{"function", "regex"}, {"regex_pattern", strict_.pattern()}}, {{"function", "take_first"}}}}},
        {{"name", "flexible-extract"},
         {"filter",
          {{{"function", "regex"}, {"group_select", -1}, {"regex_pattern", flexible_.pattern()}},
           {{"function", "take_first"}}}}}};
    c["should_decontaminate"] = false;
    c["metadata"] = {{"version", 3.0}};
    return c;
  }

 private:
  std::string doc_to_text(const std::string& question) const {
    return variant_ == Variant::Plain ? "Question: " + question + "\nAnswer:" : "Q: " + question + "\nA:";
  }

  std::string name_;
  Variant variant_;
  std::string test_path_;
  std::vector<Doc> docs_;
  std::vector<Doc> train_;
  std::vector<std::vector<int64_t>> shots_;  // per doc: indices into train_
  std::vector<std::pair<std::string, std::string>> cot_shots_;
  int num_fewshot_ = 0;
  uint64_t seed_ = 0;
  py::Regex strict_;
  py::Regex flexible_;
  ExactMatch exact_match_;
};

}  // namespace

std::unique_ptr<Task> make_gsm8k_task(const std::string& name, const TaskOptions& options) {
  if (name == "gsm8k") return std::make_unique<Gsm8kTask>(name, Variant::Plain, options);
  if (name == "gsm8k_cot") return std::make_unique<Gsm8kTask>(name, Variant::Cot, options);
  if (name == "gsm8k_boxed") return std::make_unique<Gsm8kTask>(name, Variant::Boxed, options);
  fail("unknown GSM8K task '{}' (known: gsm8k, gsm8k_cot, gsm8k_boxed)", name);
}

}  // namespace tt::eval
