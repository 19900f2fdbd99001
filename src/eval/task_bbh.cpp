// BIG-Bench Hard (issue 7, DESIGN.md §5), as lm-eval has it:
//   bbh_zeroshot_<subtask>     lm-eval's bbh/zeroshot (v2.0): the task description from the CoT prompt
//                              file, "Q: {{input}}\nA:", filters strict-match (the response as it is)
//                              and flexible-extract (per subtask: a regex, a multiple-choice letter
//                              search, a number parse, a yes/no map or the word-sort filter of
//                              bbh/zeroshot/utils.py), exact_match ignoring case and a few characters.
//   bbh_cot_fewshot_<subtask>  lm-eval's bbh/cot_fewshot (v4.0): the three chain-of-thought exemplars
//                              of cot-prompts/<subtask>.txt, "Q: {{input}}\nA: Let's think step by
//                              step.\n", the answer after "the answer is " (filter get-answer).
// The questions: <data_root>/bbh/bbh/<subtask>.json ({"examples": [{input, target}]}), or the Hugging
// Face dataset SaylorTwift/bbh as --data names it (task_splits.h: config = subtask, split test;
// columns input, target). The prompts (description, exemplars) are the task's, as lm-eval's YAML
// holds them: <data_root>/bbh/cot-prompts/<subtask>.txt of the data root, the default one
// ($TINYTHINK_SHARED/data) when --data names a dataset.
#include <algorithm>
#include <map>

#include "core/error.h"
#include "eval/answer.h"
#include "eval/python_compat.h"
#include "eval/task_data.h"
#include "eval/task_families.h"
#include "eval/task_splits.h"
#include "io/file.h"
#include "text/utf8.h"

namespace tt::eval {
namespace {

constexpr const char* kInvalid = "[invalid]";
constexpr const char* kCotCue = "\nA: Let's think step by step.";

enum class Flexible { Regex, MultipleChoice, NumberParse, MapRegex, WordSort };

struct MapEntry {
  const char* pattern;
  const char* value;
};

struct Subtask {
  const char* name;
  Flexible kind;
  const char* pattern;                  // Regex, MultipleChoice, NumberParse
  std::vector<MapEntry> map = {};       // MapRegex, in order
};

constexpr const char* kChoiceLetter = "(\\([A-Z]\\))";
constexpr const char* kYesNo = "\\b(Yes|No|yes|no)\\b";
constexpr const char* kInteger = "([-0-9]+)";

// lm-eval's _bbh_zeroshot.yaml order, with each subtask's flexible-extract filter.
const std::vector<Subtask>& subtasks() {
  static const std::vector<Subtask> all = {
      {"boolean_expressions", Flexible::Regex, "\\b(True|False)\\b"},
      {"causal_judgement", Flexible::Regex, kYesNo},
      {"date_understanding", Flexible::MultipleChoice, kChoiceLetter},
      {"disambiguation_qa", Flexible::MultipleChoice, kChoiceLetter},
      {"dyck_languages", Flexible::Regex, "(?<= )([\" \\[\\(<{}>\\)\\]]+)|([\" \\[\\(<{}>\\)\\]]+)"},
      {"formal_fallacies", Flexible::Regex, "\\b(valid|invalid)\\b"},
      {"geometric_shapes", Flexible::MultipleChoice, kChoiceLetter},
      {"hyperbaton", Flexible::MultipleChoice, kChoiceLetter},
      {"logical_deduction_five_objects", Flexible::MultipleChoice, kChoiceLetter},
      {"logical_deduction_seven_objects", Flexible::MultipleChoice, kChoiceLetter},
      {"logical_deduction_three_objects", Flexible::MultipleChoice, kChoiceLetter},
      {"movie_recommendation", Flexible::MultipleChoice, kChoiceLetter},
      {"multistep_arithmetic_two", Flexible::NumberParse, kInteger},
      {"navigate", Flexible::Regex, kYesNo},
      {"object_counting", Flexible::NumberParse, kInteger},
      {"penguins_in_a_table", Flexible::MultipleChoice, kChoiceLetter},
      {"reasoning_about_colored_objects", Flexible::MultipleChoice, kChoiceLetter},
      {"ruin_names", Flexible::MultipleChoice, kChoiceLetter},
      {"salient_translation_error_detection", Flexible::MultipleChoice, kChoiceLetter},
      {"snarks", Flexible::MultipleChoice, kChoiceLetter},
      {"sports_understanding", Flexible::MapRegex, "",
       {{"\\b(no|not plausible)\\b", "no"}, {"\\b(yes|plausible)\\b", "yes"}}},
      {"temporal_sequences", Flexible::MultipleChoice, kChoiceLetter},
      {"tracking_shuffled_objects_five_objects", Flexible::MultipleChoice, kChoiceLetter},
      {"tracking_shuffled_objects_seven_objects", Flexible::MultipleChoice, kChoiceLetter},
      {"tracking_shuffled_objects_three_objects", Flexible::MultipleChoice, kChoiceLetter},
      {"web_of_lies", Flexible::MapRegex, "",
       {{"\\b(no|does not tell the truth|is not telling the truth)\\b", "no"},
        {"\\b(yes|tells the truth|is telling the truth)\\b", "yes"}}},
      {"word_sorting", Flexible::WordSort, ""},
  };
  return all;
}

// ---- bbh/zeroshot/utils.py filters ----

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += separator;
    out += parts[i];
  }
  return out;
}

// ExtendedRegexFilter.find_match: lm-eval's RegexFilter on match 0 (group_select 0 in every bbh
// zeroshot filter), then mapped through `convert` when listed there. "" where Python's value is falsy.
std::string find_match(const py::Regex& regex, std::string_view text, const std::map<std::string, std::string>& convert = {}) {
  std::string value = lm_regex_filter(regex, text, 0).value_or("");
  if (!value.empty())
    if (auto it = convert.find(value); it != convert.end()) value = it->second;
  return value;
}

// filter_ignores with ignore_case and ignore_punctuation (no regexes_to_ignore in these YAMLs).
std::string lower_without_punctuation(std::string_view s) { return py::remove_punctuation(py::lower(s)); }

// MultiChoiceRegexFilter: "(X)" in the response; else the text of a choice (case and punctuation
// ignored) mapped to its letter; else ": X" mapped to "(X)".
std::string multiple_choice_filter(const py::Regex& letter, std::string_view response, const std::string& input) {
  static const py::Regex choice_regex("\\([A-Z]\\)([^\\n^(]*)");
  std::vector<std::string> alternatives, letters;
  std::map<std::string, std::string> choice_to_letter, letter_to_target;
  char next = 'A';
  for (const auto& m : choice_regex.findall(input)) {
    const std::string choice = lower_without_punctuation(py::strip(m[0]));
    alternatives.push_back(py::regex_escape(choice));
    choice_to_letter[choice] = std::string("(") + next + ")";
    letters.emplace_back(1, next);
    letter_to_target[std::string(1, next)] = std::string("(") + next + ")";
    ++next;
  }
  std::string match = find_match(letter, response);
  if (match.empty()) {
    const py::Regex by_text(join(alternatives, "|"));
    match = find_match(by_text, lower_without_punctuation(response), choice_to_letter);
    if (match.empty()) {
      const py::Regex after_colon(":[\\s]*(" + join(letters, "|") + ")");
      match = find_match(after_colon, response, letter_to_target);
    }
  }
  return match.empty() ? kInvalid : match;
}

// word2number's word_to_num as far as NumberParseRegexFilter can reach it (no digits, no
// "point"); nullopt where it raises (lm-eval would stop with an exception).
std::optional<int64_t> word_to_num(std::string text) {
  static const std::map<std::string, int64_t> numbers = {
      {"zero", 0},         {"one", 1},         {"two", 2},          {"three", 3},       {"four", 4},
      {"five", 5},         {"six", 6},         {"seven", 7},        {"eight", 8},       {"nine", 9},
      {"ten", 10},         {"eleven", 11},     {"twelve", 12},      {"thirteen", 13},   {"fourteen", 14},
      {"fifteen", 15},     {"sixteen", 16},    {"seventeen", 17},   {"eighteen", 18},   {"nineteen", 19},
      {"twenty", 20},      {"thirty", 30},     {"forty", 40},       {"fifty", 50},      {"sixty", 60},
      {"seventy", 70},     {"eighty", 80},     {"ninety", 90},      {"hundred", 100},   {"thousand", 1000},
      {"million", 1000000}, {"billion", 1000000000}};
  std::replace(text.begin(), text.end(), '-', ' ');
  std::vector<std::string> words;
  const std::string lowered = py::lower(text);
  for (std::string_view w : py::split(lowered))
    if (numbers.count(std::string(w))) words.emplace_back(w);
  if (words.empty()) return std::nullopt;
  for (const char* big : {"thousand", "million", "billion"})
    if (std::count(words.begin(), words.end(), big) > 1) return std::nullopt;
  auto index_of = [&](const char* w) -> int64_t {
    auto it = std::find(words.begin(), words.end(), w);
    return it == words.end() ? -1 : it - words.begin();
  };
  const int64_t billion = index_of("billion"), million = index_of("million"), thousand = index_of("thousand");
  if ((thousand > -1 && (thousand < million || thousand < billion)) || (million > -1 && million < billion))
    return std::nullopt;
  const int64_t n = static_cast<int64_t>(words.size());
  // number_formation over words[begin, end)
  auto formation = [&](int64_t begin, int64_t end) -> std::optional<int64_t> {
    std::vector<int64_t> v;
    for (int64_t i = begin; i < end; ++i) v.push_back(numbers.at(words[static_cast<size_t>(i)]));
    if (v.empty()) return std::nullopt;  // Python: IndexError
    if (v.size() == 4) return v[0] * v[1] + v[2] + v[3];
    if (v.size() == 3) return v[0] * v[1] + v[2];
    if (v.size() == 2) return std::count(v.begin(), v.end(), 100) ? v[0] * v[1] : v[0] + v[1];
    return v[0];
  };
  if (n == 1) return numbers.at(words[0]);
  int64_t total = 0;
  auto add = [&](std::optional<int64_t> part, int64_t scale) {
    if (!part) return false;
    total += *part * scale;
    return true;
  };
  if (billion > -1 && !add(formation(0, billion), 1000000000)) return std::nullopt;
  if (million > -1 && !add(formation(billion > -1 ? billion + 1 : 0, million), 1000000)) return std::nullopt;
  if (thousand > -1) {
    const int64_t begin = million > -1 ? million + 1 : billion > -1 ? billion + 1 : 0;
    if (!add(formation(begin, thousand), 1000)) return std::nullopt;
  }
  std::optional<int64_t> hundreds = 0;
  if (thousand > -1 && thousand != n - 1)
    hundreds = formation(thousand + 1, n);
  else if (million > -1 && million != n - 1 && thousand != n - 1)
    hundreds = formation(million + 1, n);
  else if (billion > -1 && billion != n - 1)
    hundreds = formation(billion + 1, n);
  else if (thousand == -1 && million == -1 && billion == -1)
    hundreds = formation(0, n);
  if (!add(hundreds, 1)) return std::nullopt;
  return total;
}

// NumberParseRegexFilter: the first integer; else the first run of English number words (in the
// lower-cased response) through word2number.
std::string number_parse_filter(const py::Regex& integer, std::string_view response) {
  static const py::Regex english(
      R"re(((?:(?:zero|one|two|three|four|five|(?:twen|thir|for|fif|six|seven|nine)(?|teen|ty)|eight(?:|een|y)|ten|eleven|twelve|fourteen|hundred|thousand|(?:m|b|tr)illion)(?:zero|one|two|three|four|five|(?:twen|thir|for|fif|six|seven|nine)(?:|teen|ty)|eight(?|een|y)|ten|eleven|twelve|fourteen|hundred|thousand|(?:m|b|tr)illion|[^\S\r\n]|,|and|&)+)?(?:zero|one|two|three|four|five|(?:twen|thir|for|fif|six|seven|nine)(?|teen|ty)|eight(?|een|y)|ten|eleven|twelve|fourteen|hundred|thousand|(?:m|b|tr)illion)))re");
  std::string match = find_match(integer, response);
  if (match.empty()) {
    match = find_match(english, py::lower(response));
    if (!match.empty()) {
      const auto value = word_to_num(match);
      match = value ? std::to_string(*value) : "";
    }
  }
  return match.empty() ? kInvalid : match;
}

// MapRegexFilter (ignore_case): the first match of all patterns together, then the value of the
// first pattern that matches it.
std::string map_regex_filter(const Subtask& subtask, std::string_view response) {
  std::vector<std::string> patterns;
  for (const auto& entry : subtask.map) patterns.emplace_back(entry.pattern);
  const py::Regex all(join(patterns, "|"));
  const std::string whole = find_match(all, py::lower(response));
  if (whole.empty()) return kInvalid;
  for (const auto& entry : subtask.map) {
    const py::Regex one(entry.pattern);
    if (!find_match(one, py::lower(whole)).empty()) return entry.value;
  }
  return kInvalid;
}

// WordSortFilter: the listed words found in the response, each once, ordered by its last
// occurrence. The words go into the pattern unescaped, as in utils.py.
std::string word_sort_filter(std::string_view response, const std::string& input) {
  const size_t at = input.find("List:");
  if (at == std::string::npos) return kInvalid;  // Python: IndexError
  std::string rest = input.substr(at + 5);
  if (size_t next = rest.find("List:"); next != std::string::npos) rest.resize(next);  // split(...)[1]
  std::vector<std::string> alternatives;
  for (std::string_view word : py::split(rest)) alternatives.push_back("\\b" + std::string(word) + "\\b");
  const std::string pattern = join(alternatives, "|");
  std::vector<std::string> found;
  try {
    for (const auto& m : py::Regex(pattern).findall(response)) found.push_back(m[0]);
  } catch (const Error&) {
    return kInvalid;  // Python: re.error
  }
  std::vector<std::string> ordered;  // unique words by last occurrence
  for (size_t i = 0; i < found.size(); ++i)
    if (std::find(found.begin() + static_cast<std::ptrdiff_t>(i) + 1, found.end(), found[i]) == found.end())
      ordered.push_back(found[i]);
  return join(ordered, " ");
}

// ---- the task ----

struct Shot {
  std::string input, target;
};

// cot-prompts/<task>.txt: a canary line, "-----", the description, then "Q: ...\nA: Let's think
// step by step.<sep><reasoning>" examples separated by blank lines (lm-eval's _generate_configs.py
// split). The reasoning loses the separator after the cue (a space in sports_understanding): the
// lm-eval YAML samples hold it without, and doc_to_text ends with "\n".
void read_cot_prompt(const std::string& path, std::string& description, std::vector<Shot>& shots) {
  std::string text = read_file(path);
  if (size_t at = text.rfind("\n-----\n"); at != std::string::npos) text = text.substr(at + 7);
  size_t at = text.find("\n\nQ:");
  if (at == std::string::npos) fail("{}: no \"Q:\" example after the description", path);
  description = text.substr(0, at) + "\n\n";
  while (at != std::string::npos) {
    const size_t begin = at + 4;
    const size_t end = text.find("\n\nQ:", begin);
    std::string piece = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    const size_t cue = piece.find(kCotCue);
    if (cue == std::string::npos) fail("{}: example {} has no \"A: Let's think step by step.\"", path, shots.size() + 1);
    const std::string_view example = piece;
    shots.push_back({std::string(py::strip(example.substr(0, cue))),
                     std::string(py::strip(example.substr(cue + std::string_view(kCotCue).size())))});
    at = end;
  }
}

enum class Variant { Zeroshot, CotFewshot };

class BbhTask final : public Task {
 public:
  BbhTask(std::string name, Variant variant, const Subtask& subtask, const TaskOptions& options)
      : name_(std::move(name)),
        variant_(variant),
        subtask_(subtask),
        exact_match_(variant == Variant::Zeroshot ? std::vector<std::string>{"\\.$", ",", "\n", "\\\\", "\""}
                                                  : std::vector<std::string>{},
                     /*ignore_case=*/variant == Variant::Zeroshot, /*ignore_punctuation=*/false) {
    const TaskSplits splits(options, "bbh", "SaylorTwift/bbh");
    TaskOptions prompt_options = options;
    if (!splits.in_data_root()) prompt_options.data_root.clear();
    const std::string root = resolve_data_root(prompt_options);
    if (splits.in_data_root()) {
      path_ = root + "/bbh/bbh/" + subtask.name + ".json";
      load_docs();
    } else {
      path_ = options.data_root;
      load_rows(splits);
    }
    std::vector<Shot> shots;
    read_cot_prompt(root + "/bbh/cot-prompts/" + subtask.name + ".txt", description_, shots);
    if (variant == Variant::Zeroshot) {
      if (options.num_fewshot > 0)
        fail("{} is zero-shot (lm-eval's bbh_zeroshot has no few-shot split); num_fewshot {} does not apply", name_,
             options.num_fewshot);
      if (*subtask.pattern) regex_ = std::make_unique<py::Regex>(subtask.pattern);
    } else {
      const int n = options.num_fewshot < 0 ? 3 : options.num_fewshot;
      if (n > static_cast<int>(shots.size()))
        fail("{} has {} few-shot exemplars; num_fewshot {} asks for more", name_, shots.size(), n);
      shots_.assign(shots.begin(), shots.begin() + n);  // lm-eval's first_n sampler
      regex_ = std::make_unique<py::Regex>("(?<=the answer is )(.*)(?=.)");
    }
  }

  const std::string& name() const override { return name_; }
  std::string group() const override { return variant_ == Variant::Zeroshot ? "bbh_zeroshot" : "bbh_cot_fewshot"; }
  // _bbh_zeroshot.yaml / _bbh_cot_fewshot.yaml: aggregate_metric_list exact_match, filter_list ...
  std::string group_filter() const override { return variant_ == Variant::Zeroshot ? "flexible-extract" : "get-answer"; }
  // _bbh_zeroshot.yaml and _bbh_cot_fewshot.yaml: metadata version 3.0 (the subtasks say 3.0 / 4.0).
  nlohmann::ordered_json group_version() const override { return 3.0; }
  OutputType output_type() const override { return OutputType::GenerateUntil; }
  const std::vector<Doc>& docs() const override { return docs_; }
  std::vector<std::string> doc_text_fields() const override { return {"input"}; }
  std::string target(const Doc& doc) const override { return text_field(doc, "target"); }

  std::vector<std::string> metric_keys() const override {
    if (variant_ == Variant::CotFewshot) return {"exact_match,get-answer"};
    return {"exact_match,strict-match", "exact_match,flexible-extract"};
  }

  GenerationDefaults generation_defaults() const override {
    GenerationDefaults g;
    g.do_sample = false;
    g.temperature = 0.0;
    if (variant_ == Variant::Zeroshot) {
      g.until = {"</s>", "Q:", "<|im_end|>"};
      g.max_gen_toks = 256;  // lm-eval's default: the YAML sets none
    } else {
      g.until = {"</s>", "Q", "\n\n"};
      g.max_gen_toks = 1024;
    }
    return g;
  }

  Prompt prompt(const Doc& doc) const override {
    // lm-eval's fewshot_context: description, then (doc_to_text + target_delimiter ("") + target +
    // "\n\n") per exemplar, then doc_to_text; as chat the description is the system turn.
    Prompt p;
    p.add("system", description_);
    for (const auto& shot : shots_) {
      p.add("user", doc_to_text(shot.input));
      p.add("assistant", shot.target, "\n\n");
    }
    p.add("user", doc_to_text(text_field(doc, "input")));
    return p;
  }

  DocScore score_response(const Doc& doc, std::string_view raw) const override {
    const std::string response = utf8::to_valid_lossy(raw);
    const std::string gold = target(doc);
    DocScore s;
    if (variant_ == Variant::CotFewshot) {
      const std::string answer = lm_regex_filter(*regex_, response, 0).value_or(kInvalid);
      s.metrics["exact_match,get-answer"] = {exact_match_(answer, gold) ? 1.0 : 0.0};
      s.filtered["get-answer"] = answer;
      return s;
    }
    const std::string flexible = flexible_extract(doc, response);
    s.metrics["exact_match,strict-match"] = {exact_match_(response, gold) ? 1.0 : 0.0};
    s.metrics["exact_match,flexible-extract"] = {exact_match_(flexible, gold) ? 1.0 : 0.0};
    s.filtered["strict-match"] = response;
    s.filtered["flexible-extract"] = flexible;
    return s;
  }

  nlohmann::ordered_json config() const override {
    nlohmann::ordered_json c;
    c["task"] = name_;
    c["tag"] = {group()};
    c["dataset_path"] = "SaylorTwift/bbh";  // both templates (lm-eval's zeroshot moved from lukaemon/bbh)
    c["dataset_name"] = subtask_.name;
    c["data_file"] = path_;
    c["test_split"] = "test";
    c["doc_to_text"] = variant_ == Variant::Zeroshot ? "Q: {{input}}\nA:" : "Q: {{input}}\nA: Let's think step by step.\n";
    c["doc_to_target"] = "{{target}}";
    c["description"] = description_;
    c["target_delimiter"] = variant_ == Variant::Zeroshot ? " " : "";
    c["fewshot_delimiter"] = "\n\n";
    if (variant_ == Variant::CotFewshot) {
      nlohmann::ordered_json samples = nlohmann::ordered_json::array();
      for (const auto& shot : shots_) samples.push_back({{"input", shot.input}, {"target", shot.target}});
      c["fewshot_config"] = {{"sampler", "first_n"}, {"samples", samples}};
    }
    c["num_fewshot"] = shots_.size();
    nlohmann::ordered_json metric = {{"metric", "exact_match"}, {"aggregation", "mean"}, {"higher_is_better", true}};
    if (variant_ == Variant::Zeroshot) {
      metric["ignore_case"] = true;
      metric["regexes_to_ignore"] = {"\\.$", ",", "\n", "\\\\", "\""};
    }
    c["metric_list"] = nlohmann::ordered_json::array({metric});  // {metric} alone is a copy under clang
    c["output_type"] = "generate_until";
    const auto g = generation_defaults();
    c["generation_kwargs"] = {{"until", g.until}, {"do_sample", false}, {"temperature", 0.0}};
    if (variant_ == Variant::CotFewshot) c["generation_kwargs"]["max_gen_toks"] = g.max_gen_toks;
    c["repeats"] = 1;
    if (variant_ == Variant::CotFewshot) {
      c["filter_list"] = {{{"name", "get-answer"},
                           {"filter", {{{"function", "regex"}, {"regex_pattern", regex_->pattern()}},
                                       {{"function", "take_first"}}}}}};
    } else {
      c["filter_list"] = {{{"name", "strict-match"}, {"filter", {{{"function", "take_first"}}}}},
                          {{"name", "flexible-extract"}, {"filter", {flexible_config(), {{"function", "take_first"}}}}}};
    }
    c["should_decontaminate"] = false;
    c["metadata"] = {{"version", variant_ == Variant::Zeroshot ? 3.0 : 4.0}};  // _zeroshot / _cot_fewshot_template_yaml
    return c;
  }

 private:
  std::string doc_to_text(const std::string& input) const {
    return variant_ == Variant::Zeroshot ? "Q: " + input + "\nA:" : "Q: " + input + "\nA: Let's think step by step.\n";
  }

  void load_docs() {
    const nlohmann::json data = read_json_file(path_);
    if (!data.is_object() || !data.contains("examples") || !data["examples"].is_array())
      fail("{}: missing field 'examples' (an array of {{input, target}})", path_);
    const auto& examples = data["examples"];
    for (size_t i = 0; i < examples.size(); ++i) {
      for (const char* field : {"input", "target"}) {
        if (!examples[i].is_object() || !examples[i].contains(field))
          fail("{}: examples[{}]: missing field '{}'", path_, i, field);
        if (!examples[i][field].is_string()) fail("{}: examples[{}]: field '{}' is not a string", path_, i, field);
      }
      Doc doc;
      doc.id = static_cast<int64_t>(i);
      doc.fields = {{"input", examples[i]["input"]}, {"target", examples[i]["target"]}};
      docs_.push_back(std::move(doc));
    }
  }

  // SaylorTwift/bbh rows of this subtask's test split: {input, target}, both strings.
  void load_rows(const TaskSplits& splits) {
    for (SplitRow& row : splits.rows(subtask_.name, "test", {"input", "target"})) {
      for (const char* column : {"input", "target"})
        if (!row.doc.fields[column].is_string()) fail("{}: column '{}' is not a string", row.where, column);
      Doc doc;
      doc.id = row.doc.id;
      doc.fields = {{"input", row.doc.fields["input"]}, {"target", row.doc.fields["target"]}};
      docs_.push_back(std::move(doc));
    }
  }

  std::string flexible_extract(const Doc& doc, const std::string& response) const {
    switch (subtask_.kind) {
      case Flexible::Regex: return lm_regex_filter(*regex_, response, 0).value_or(kInvalid);
      case Flexible::MultipleChoice: return multiple_choice_filter(*regex_, response, text_field(doc, "input"));
      case Flexible::NumberParse: return number_parse_filter(*regex_, response);
      case Flexible::MapRegex: return map_regex_filter(subtask_, response);
      case Flexible::WordSort: return word_sort_filter(response, text_field(doc, "input"));
    }
    return kInvalid;
  }

  nlohmann::ordered_json flexible_config() const {
    switch (subtask_.kind) {
      case Flexible::Regex:
        return {{"function", "regex"}, {"group_select", 0}, {"regex_pattern", subtask_.pattern}};
      case Flexible::MultipleChoice:
        return {{"function", "utils.MultiChoiceRegexFilter"}, {"group_select", 0}, {"ignore_case", true},
                {"ignore_punctuation", true}, {"regex_pattern", subtask_.pattern}};
      case Flexible::NumberParse:
        return {{"function", "utils.NumberParseRegexFilter"}, {"group_select", 0}, {"regex_pattern", subtask_.pattern}};
      case Flexible::MapRegex: {
        nlohmann::ordered_json map = nlohmann::ordered_json::object();
        for (const auto& e : subtask_.map) map[e.pattern] = e.value;
        return {{"function", "utils.MapRegexFilter"}, {"group_select", 0}, {"ignore_case", true},
                {"regex_pattern_to_value", map}};
      }
      case Flexible::WordSort: return {{"function", "utils.WordSortFilter"}};
    }
    return {};
  }

  std::string name_;
  Variant variant_;
  const Subtask& subtask_;
  std::string path_;
  std::string description_;
  std::vector<Doc> docs_;
  std::vector<Shot> shots_;
  // flexible-extract's pattern (zero-shot Regex / MultipleChoice / NumberParse) or get-answer's (CoT)
  std::unique_ptr<py::Regex> regex_;
  ExactMatch exact_match_;
};

}  // namespace

std::vector<std::string> bbh_subtasks() {
  std::vector<std::string> names;
  for (const auto& s : subtasks()) names.push_back(s.name);
  return names;
}

std::unique_ptr<Task> make_bbh_task(const std::string& name, const TaskOptions& options) {
  for (const auto& [prefix, variant] : {std::pair{std::string("bbh_zeroshot_"), Variant::Zeroshot},
                                        std::pair{std::string("bbh_cot_fewshot_"), Variant::CotFewshot}}) {
    if (!name.starts_with(prefix)) continue;
    const std::string sub = name.substr(prefix.size());
    for (const auto& subtask : subtasks())
      if (sub == subtask.name) return std::make_unique<BbhTask>(name, variant, subtask, options);
    fail("unknown BBH subtask '{}' in task '{}' (known: {})", sub, name, join(bbh_subtasks(), ", "));
  }
  fail("unknown BBH task '{}' (expected bbh_zeroshot_<subtask> or bbh_cot_fewshot_<subtask>)", name);
}

}  // namespace tt::eval
