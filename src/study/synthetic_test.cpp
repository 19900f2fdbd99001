// The demo's synthetic data: deterministic, readable by the project's readers, answers correct by
// independent re-computation (a solver for the question text, a boolean evaluator, simple
// instruction checkers), held-out sets disjoint from training text.
#include "study/synthetic.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "eval/task_data.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "study/synthetic_tasks.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "train/sft_data.h"
#include "tests/test_util.h"

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

tt::SyntheticOptions small_options(const std::string& dir, uint64_t seed = 7) {
  tt::SyntheticOptions o;
  o.out_dir = dir;
  o.seed = seed;
  o.pretrain_docs = 300;
  o.sft_arithmetic = 300;
  o.sft_ifeval = 150;
  o.sft_bbh_per_task = 40;
  o.prompts = 40;
  o.eval_gsm8k = 60;
  o.eval_ifeval = 60;
  o.eval_bbh_per_task = 30;
  o.vocab_size = 1024;
  return o;
}

std::vector<json> rows_of(const std::string& path) {
  std::vector<json> rows;
  tt::read_jsonl(path, [&](int64_t, const json& row) { rows.push_back(row); });
  return rows;
}

// Every regular file under dir, relative path -> bytes.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files[fs::relative(entry.path(), dir).string()] = tt::read_file(entry.path().string());
  }
  return files;
}

class SyntheticData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(tt::testing::make_temp_dir("synth"));
    files_ = new tt::SyntheticFiles(tt::write_synthetic_data(small_options(*dir_)));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete files_;
    delete dir_;
  }
  static std::string* dir_;
  static tt::SyntheticFiles* files_;
};
std::string* SyntheticData::dir_ = nullptr;
tt::SyntheticFiles* SyntheticData::files_ = nullptr;

// ---- an independent solver for the arithmetic questions' sentences
std::optional<int64_t> solve(const std::string& question) {
  static const std::vector<std::pair<std::regex, std::function<int64_t(int64_t, const std::smatch&)>>> rules = [] {
    std::vector<std::pair<std::regex, std::function<int64_t(int64_t, const std::smatch&)>>> r;
    auto n = [](const std::smatch& m, int i) { return std::stoll(m[i].str()); };
    r.push_back({std::regex(R"(^\w+ has (\d+) \w+ of [\w ]+\. Each \w+ holds (\d+) [\w ]+\. )"), [n](int64_t, const std::smatch& m) { return n(m, 1) * n(m, 2); }});
    r.push_back({std::regex(R"(^\w+ has (\d+) [\w ]+\. )"), [n](int64_t, const std::smatch& m) { return n(m, 1); }});
    r.push_back({std::regex(R"(^\w+ buys (\d+) \w+ with (\d+) [\w ]+ in each\. )"), [n](int64_t v, const std::smatch& m) { return v + n(m, 1) * n(m, 2); }});
    r.push_back({std::regex(R"(^(?:\w+ buys|\w+ gives \w+|Then \w+ finds) (\d+) more [\w ]+\. )"), [n](int64_t v, const std::smatch& m) { return v + n(m, 1); }});
    r.push_back({std::regex(R"(^(?:\w+ gives (\d+) [\w ]+ to \w+|\w+ loses (\d+) [\w ]+|Then \w+ uses (\d+) of the [\w ]+)\. )"),
                 [n](int64_t v, const std::smatch& m) { return v - n(m, m[1].matched ? 1 : m[2].matched ? 2 : 3); }});
    r.push_back({std::regex(R"(^Then the number of [\w ]+ \w+ has (doubles|triples)\. )"), [](int64_t v, const std::smatch& m) { return v * (m[1] == "doubles" ? 2 : 3); }});
    r.push_back({std::regex(R"(^\w+ shares the [\w ]+ equally among (\d+) friends\. )"), [n](int64_t v, const std::smatch& m) { return v % n(m, 1) ? -1000000 : v / n(m, 1); }});
    r.push_back({std::regex(R"(^\w+ puts all the [\w ]+ into \w+ with (\d+) in each\. )"), [n](int64_t v, const std::smatch& m) { return v % n(m, 1) ? -1000000 : v / n(m, 1); }});
    return r;
  }();
  std::string rest = question;
  int64_t value = 0;
  while (!rest.starts_with("How many")) {
    bool matched = false;
    for (const auto& [re, apply] : rules) {
      std::smatch m;
      if (std::regex_search(rest, m, re)) {
        value = apply(value, m);
        rest = m.suffix().str();
        matched = true;
        break;
      }
    }
    if (!matched || value < 0) return std::nullopt;
  }
  return value;
}

// "a op b = c" (optionally "<<a op b=c>>") lines; checks each and returns the last c.
std::optional<int64_t> check_worked_lines(const std::string& text) {
  static const std::regex line(R"((\d+) ([-+*/]) (\d+) = (?:<<\d+[-+*/]\d+=\d+>>)?(\d+)\.)");
  std::optional<int64_t> last;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator(); ++it) {
    int64_t a = std::stoll((*it)[1]), b = std::stoll((*it)[3]), c = std::stoll((*it)[4]);
    char op = (*it)[2].str()[0];
    int64_t expect = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : (a % b == 0 ? a / b : -1);
    if (expect != c) return std::nullopt;
    last = c;
  }
  return last;
}

TEST(SyntheticArithmetic, EveryProblemSolvesToItsAnswer) {
  tt::Rng rng(99);
  tt::ArithmeticOptions o;
  std::map<size_t, int> by_steps;
  for (int i = 0; i < 3000; ++i) {
    auto p = tt::synth::make_arithmetic_problem(rng, o);
    ASSERT_EQ(solve(p.question), p.answer) << p.question;
    ASSERT_EQ(check_worked_lines(tt::synth::arithmetic_trace(p)), p.answer) << tt::synth::arithmetic_trace(p);
    std::string gsm = tt::synth::arithmetic_gsm8k_answer(p);
    ASSERT_EQ(check_worked_lines(gsm), p.answer) << gsm;
    ASSERT_TRUE(gsm.ends_with("\n#### " + std::to_string(p.answer)));
    ASSERT_GE(p.answer, 1);
    ++by_steps[p.steps.size()];
  }
  EXPECT_GT(by_steps[1], 900);  // the 1-2 step problems the micro model should learn dominate
  EXPECT_GT(by_steps[2], 800);
  EXPECT_GT(by_steps[3] + by_steps[4], 100);
}

TEST_F(SyntheticData, WrittenArithmeticIsCorrect) {
  int checked = 0;
  for (const auto& row : rows_of(files_->sft)) {
    if (row["task"] != "arithmetic") continue;
    const auto& messages = row["messages"];
    std::string question = messages[messages.size() - 2]["content"], answer = messages.back()["content"];
    auto solved = solve(question);
    ASSERT_TRUE(solved) << question;
    ASSERT_EQ(check_worked_lines(answer), *solved) << answer;
    ASSERT_TRUE(answer.starts_with("<think>\n")) << answer;
    ASSERT_TRUE(answer.ends_with("</think>\nThe answer is \\boxed{" + std::to_string(*solved) + "}.")) << answer;
    ++checked;
  }
  EXPECT_EQ(checked, 300);
  for (const char* split : {"test", "train"}) {
    auto docs = tt::eval::read_jsonl_docs(files_->eval_root + "/gsm8k/" + std::string(split) + ".jsonl", {"question", "answer"});
    ASSERT_FALSE(docs.empty());
    for (const auto& doc : docs) {
      std::string q = doc.fields["question"], a = doc.fields["answer"];
      auto solved = solve(q);
      ASSERT_TRUE(solved) << q;
      ASSERT_EQ(check_worked_lines(a), *solved) << a;
      ASSERT_TRUE(a.ends_with("#### " + std::to_string(*solved)));
    }
  }
  for (const auto& row : rows_of(files_->prompts)) {
    ASSERT_EQ(row["messages"].size(), 1u);
    ASSERT_EQ(row["messages"][0]["role"], "user");
    ASSERT_EQ(row["task"], "arithmetic");
    ASSERT_EQ(std::to_string(*solve(row["question"])), row["answer"].get<std::string>());
  }
}

// ---- IFEval: the ids are the official ones, kwargs use the official argument names, and each
// response passes a simple re-implementation of the checks.
const std::set<std::string> kOfficialIds = {
    "keywords:existence", "keywords:frequency", "keywords:forbidden_words", "keywords:letter_frequency",
    "language:response_language", "length_constraints:number_sentences", "length_constraints:number_paragraphs",
    "length_constraints:number_words", "length_constraints:nth_paragraph_first_word",
    "detectable_content:number_placeholders", "detectable_content:postscript", "detectable_format:number_bullet_lists",
    "detectable_format:constrained_response", "detectable_format:number_highlighted_sections",
    "detectable_format:multiple_sections", "detectable_format:json_format", "detectable_format:title",
    "combination:two_responses", "combination:repeat_prompt", "startend:end_checker", "change_case:capital_word_frequency",
    "change_case:english_capital", "change_case:english_lowercase", "punctuation:no_comma", "startend:quotation"};

int64_t regex_count(const std::string& text, const std::string& pattern) {
  std::regex re(pattern, std::regex::multiline);
  return std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator());
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool follows(const std::string& id, const json& kw, const std::string& r) {
  std::string trimmed = r;
  trimmed.erase(0, trimmed.find_first_not_of(" \n"));
  trimmed.erase(trimmed.find_last_not_of(" \n") + 1);
  if (id == "change_case:english_lowercase") return r == lower(r) && std::any_of(r.begin(), r.end(), ::isalpha);
  if (id == "change_case:english_capital") return std::none_of(r.begin(), r.end(), ::islower) && std::any_of(r.begin(), r.end(), ::isalpha);
  if (id == "punctuation:no_comma") return r.find(',') == std::string::npos;
  if (id == "detectable_format:title") return regex_count(r, "<<[^\\n]+>>") > 0;
  if (id == "startend:quotation") return trimmed.size() > 1 && trimmed.front() == '"' && trimmed.back() == '"';
  if (id == "startend:end_checker") {
    std::string v = trimmed;
    while (!v.empty() && v.front() == '"') v.erase(0, 1);
    while (!v.empty() && v.back() == '"') v.pop_back();
    return lower(v).ends_with(lower(kw["end_phrase"].get<std::string>()));
  }
  if (id == "keywords:existence") {
    for (const auto& k : kw["keywords"]) {
      if (lower(r).find(lower(k.get<std::string>())) == std::string::npos) return false;
    }
    return true;
  }
  if (id == "keywords:forbidden_words") {
    for (const auto& w : kw["forbidden_words"]) {
      if (regex_count(lower(r), "\\b" + w.get<std::string>() + "\\b") > 0) return false;
    }
    return true;
  }
  if (id == "length_constraints:number_words") {
    int64_t words = regex_count(r, "\\w+"), n = kw["num_words"];
    return kw["relation"] == "at least" ? words >= n : words < n;
  }
  if (id == "detectable_content:postscript") return regex_count(lower(r), "\\s*p\\.\\s?s\\..*$") > 0;
  if (id == "detectable_format:number_bullet_lists") {
    return regex_count(r, "^\\s*\\*[^\\*].*$") + regex_count(r, "^\\s*-.*$") == kw["num_bullets"].get<int64_t>();
  }
  if (id == "detectable_format:number_highlighted_sections") return regex_count(r, "\\*[^\\n\\*]+\\*") >= kw["num_highlights"].get<int64_t>();
  if (id == "detectable_content:number_placeholders") return regex_count(r, "\\[.*?\\]") >= kw["num_placeholders"].get<int64_t>();
  if (id == "detectable_format:json_format") {
    std::string v = trimmed;
    if (v.starts_with("```json")) v.erase(0, 7);
    if (v.ends_with("```")) v.resize(v.size() - 3);
    return json::accept(v);
  }
  ADD_FAILURE() << "no test check for " << id;
  return false;
}

// Argument names each id takes in the official data (when ../shared is there).
std::map<std::string, std::set<std::string>> official_kwarg_names() {
  std::map<std::string, std::set<std::string>> names;
  std::string path = tt::testing::shared_dir() + "/data/ifeval/input_data.jsonl";
  if (!tt::file_exists(path)) return names;
  tt::read_jsonl(path, [&](int64_t, const json& row) {
    for (size_t i = 0; i < row["instruction_id_list"].size(); ++i) {
      auto& set = names[row["instruction_id_list"][i]];
      for (const auto& [k, v] : row["kwargs"][i].items()) {
        if (!v.is_null()) set.insert(k);
      }
    }
  });
  return names;
}

TEST(SyntheticIfeval, ItemsUseOfficialIdsAndTheirResponsesFollowThem) {
  auto official = official_kwarg_names();
  for (const auto& id : tt::synth::ifeval_ids_used()) EXPECT_TRUE(kOfficialIds.contains(id)) << id;
  tt::Rng rng(5);
  std::set<std::string> seen_ids;
  for (int i = 0; i < 2000; ++i) {
    auto item = tt::synth::make_ifeval_item(rng);
    ASSERT_EQ(item.instruction_ids.size(), item.kwargs.size());
    for (size_t k = 0; k < item.instruction_ids.size(); ++k) {
      const std::string& id = item.instruction_ids[k];
      seen_ids.insert(id);
      json kw = item.kwargs[k];
      ASSERT_TRUE(follows(id, kw, item.response)) << id << " " << kw.dump() << "\n" << item.prompt << "\n---\n" << item.response;
      if (official.contains(id)) {
        std::set<std::string> keys;
        for (const auto& [key, v] : kw.items()) keys.insert(key);
        EXPECT_EQ(keys, official[id]) << id;
      }
    }
  }
  EXPECT_EQ(seen_ids.size(), tt::synth::ifeval_ids_used().size());
}

TEST_F(SyntheticData, IfevalFilesAreInTheOfficialFormat) {
  auto docs = tt::eval::read_jsonl_docs(files_->eval_root + "/ifeval/input_data.jsonl", {"key", "prompt", "instruction_id_list", "kwargs"});
  ASSERT_EQ(docs.size(), 60u);
  for (const auto& doc : docs) {
    ASSERT_TRUE(doc.fields["key"].is_number_integer());
    ASSERT_EQ(doc.fields["instruction_id_list"].size(), doc.fields["kwargs"].size());
    for (const auto& id : doc.fields["instruction_id_list"]) ASSERT_TRUE(kOfficialIds.contains(id.get<std::string>()));
  }
  int checked = 0;
  for (const auto& row : rows_of(files_->sft)) {
    if (row["task"] != "ifeval") continue;
    std::string content = row["messages"][1]["content"];
    ASSERT_TRUE(content.starts_with("<think>\n"));
    size_t end = content.find("\n</think>\n");
    ASSERT_NE(end, std::string::npos);
    std::string response = content.substr(end + 10);
    for (size_t k = 0; k < row["instruction_id_list"].size(); ++k) {
      ASSERT_TRUE(follows(row["instruction_id_list"][k], row["kwargs"][k], response)) << response;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 150);
}

// ---- BBH
// A separate evaluator: recursive descent over the tokens with Python's precedence.
struct BoolParser {
  std::vector<std::string> tokens;
  size_t pos = 0;
  bool expr() {
    bool v = term();
    while (pos < tokens.size() && tokens[pos] == "or") ++pos, v = term() || v;
    return v;
  }
  bool term() {
    bool v = factor();
    while (pos < tokens.size() && tokens[pos] == "and") ++pos, v = factor() && v;
    return v;
  }
  bool factor() {
    const std::string& t = tokens.at(pos++);
    if (t == "not") return !factor();
    if (t == "(") {
      bool v = expr();
      EXPECT_EQ(tokens.at(pos++), ")");
      return v;
    }
    EXPECT_TRUE(t == "True" || t == "False") << t;
    return t == "True";
  }
};

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string check_bbh(const std::string& task, const std::string& input) {
  if (task == "boolean_expressions") {
    EXPECT_TRUE(input.ends_with(" is"));
    BoolParser p{split_words(input.substr(0, input.size() - 3))};
    bool v = p.expr();
    EXPECT_EQ(p.pos, p.tokens.size()) << input;
    return v ? "True" : "False";
  }
  if (task == "word_sorting") {
    const std::string prefix = "Sort the following words alphabetically: List: ";
    EXPECT_TRUE(input.starts_with(prefix));
    auto words = split_words(input.substr(prefix.size()));
    std::sort(words.begin(), words.end());
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
    return out;
  }
  if (task == "dyck_languages") {
    const std::string prefix = "Complete the rest of the sequence, making sure that the parentheses are closed properly. Input: ";
    EXPECT_TRUE(input.starts_with(prefix));
    std::string stack;
    const std::string open = "([{<", close = ")]}>";
    for (const auto& t : split_words(input.substr(prefix.size()))) {
      if (open.find(t[0]) != std::string::npos) {
        stack += t[0];
      } else {
        EXPECT_FALSE(stack.empty());
        EXPECT_EQ(open.find(stack.back()), close.find(t[0])) << input;
        stack.pop_back();
      }
    }
    EXPECT_FALSE(stack.empty());
    std::string out;
    for (size_t i = stack.size(); i > 0; --i) out += std::string(out.empty() ? "" : " ") + close[open.find(stack[i - 1])];
    return out;
  }
  if (task == "object_counting") {
    static const std::map<std::string, std::set<std::string>> members = {
        {"musical instruments", {"piano", "flute", "trumpet", "violin", "drum", "clarinet", "trombone", "accordion"}},
        {"fruits", {"apple", "banana", "strawberry", "peach", "orange", "plum", "raspberry", "grape", "nectarine", "blackberry"}},
        {"vegetables", {"carrot", "potato", "onion", "cabbage", "yam", "garlic", "stalk of celery", "head of broccoli", "cauliflower"}},
        {"animals", {"cat", "dog", "rabbit", "goat", "cow", "pig", "snake", "donkey", "mouse", "frog", "duck", "chicken", "bear", "snail"}},
        {"objects", {"chair", "table", "bed", "couch", "lamp", "stove", "oven", "microwave", "fridge", "car", "toaster"}}};
    static const std::map<std::string, std::string> singular = {
        {"strawberries", "strawberry"}, {"raspberries", "raspberry"}, {"blackberries", "blackberry"}, {"peaches", "peach"},
        {"potatoes", "potato"}, {"mice", "mouse"}, {"couches", "couch"}, {"stalks of celery", "stalk of celery"},
        {"heads of broccoli", "head of broccoli"}};
    static const std::map<std::string, int> numbers = {{"a", 1}, {"an", 1}, {"two", 2}, {"three", 3}, {"four", 4}, {"five", 5}};
    std::smatch m;
    EXPECT_TRUE(std::regex_match(input, m, std::regex(R"(I have (.*)\. How many ([a-z ]+) do I have\?)"))) << input;
    std::string list = std::regex_replace(m[1].str(), std::regex(", and |, | and "), "|");
    const auto& category = members.at(m[2]);
    int total = 0;
    std::istringstream items(list);
    for (std::string item; std::getline(items, item, '|');) {
      size_t space = item.find(' ');
      int n = numbers.at(item.substr(0, space));
      std::string noun = item.substr(space + 1);
      if (n > 1) noun = singular.contains(noun) ? singular.at(noun) : noun.substr(0, noun.size() - 1);
      if (category.contains(noun)) total += n;
    }
    return std::to_string(total);
  }
  ADD_FAILURE() << task;
  return "";
}

TEST(SyntheticBbh, TargetsAreCorrect) {
  tt::Rng rng(17);
  for (const auto& task : tt::synth::bbh_task_names()) {
    for (int i = 0; i < 1000; ++i) {
      auto item = tt::synth::make_bbh_item(task, rng);
      ASSERT_EQ(check_bbh(task, item.input), item.target) << task << ": " << item.input;
    }
  }
}

TEST_F(SyntheticData, BbhFilesMatchTheRealFormatAndTargets) {
  for (const auto& task : tt::synth::bbh_task_names()) {
    json data = tt::read_json_file(files_->eval_root + "/bbh/bbh/" + task + ".json");
    ASSERT_EQ(data["examples"].size(), 30u);
    std::string real = tt::testing::shared_dir() + "/data/bbh/bbh/" + task + ".json";
    if (tt::file_exists(real)) {
      json example = tt::read_json_file(real)["examples"][0];
      for (const auto& [key, v] : example.items()) ASSERT_TRUE(data["examples"][0].contains(key)) << key;
    }
    for (const auto& ex : data["examples"]) ASSERT_EQ(check_bbh(task, ex["input"]), ex["target"].get<std::string>());
  }
}

// ---- files as a whole
TEST_F(SyntheticData, HeldOutItemsNeverAppearInTrainingText) {
  std::vector<std::string> held;
  for (const auto& row : rows_of(files_->eval_root + "/gsm8k/test.jsonl")) held.push_back(row["question"]);
  for (const auto& row : rows_of(files_->prompts)) held.push_back(row["question"]);
  for (const auto& row : rows_of(files_->eval_root + "/ifeval/input_data.jsonl")) held.push_back(row["prompt"]);
  for (const auto& task : tt::synth::bbh_task_names()) {
    json data = tt::read_json_file(files_->eval_root + "/bbh/bbh/" + task + ".json");
    for (const auto& ex : data["examples"]) held.push_back(ex["input"]);
  }
  ASSERT_EQ(held.size(), 60u + 40u + 60u + 4 * 30u);
  EXPECT_EQ(std::set<std::string>(held.begin(), held.end()).size(), held.size());  // distinct among themselves
  // Each training piece between delimiters: \x02 before a pretraining document, \x01 around
  // every message and GSM8K train question.
  std::string training = "\x01";
  for (const auto& row : rows_of(files_->pretrain)) {
    training += '\x02';
    training += row["text"].get<std::string>();
    training += "\n\x01";
  }
  for (const auto& row : rows_of(files_->sft)) {
    for (const auto& m : row["messages"]) training += m["content"].get<std::string>() + "\x01";
  }
  for (const auto& row : rows_of(files_->eval_root + "/gsm8k/train.jsonl")) training += row["question"].get<std::string>() + "\x01";
  for (const auto& h : held) {
    // Every way a whole item is written in training text: a message of its own, after "Question: ",
    // "Instruction: " or "Q: ", or as the first line of an item.
    for (const std::string& form : {"\x01" + h + "\x01", ": " + h + "\n", "\n" + h + "\n", "\x02" + h + "\n"}) {
      ASSERT_EQ(training.find(form), std::string::npos) << h;
    }
  }
  // The check can fail: a training question is found in the same forms.
  std::string some_training = rows_of(files_->eval_root + "/gsm8k/train.jsonl")[0]["question"];
  EXPECT_NE(training.find("\x01" + some_training + "\x01"), std::string::npos);
}

TEST_F(SyntheticData, ChatDataRendersThroughTheTemplateWithAssistantSpans) {
  tt::ChatTemplate chat = tt::ChatTemplate::from_tokenizer_config(files_->tokenizer_dir);
  tt::Tokenizer tok = tt::Tokenizer::load(files_->tokenizer_dir);
  std::map<std::string, int> tasks;
  size_t longest = 0;
  for (const auto& row : rows_of(files_->sft)) {
    nlohmann::ordered_json messages = nlohmann::ordered_json::parse(row["messages"].dump());
    tt::RenderedChat r = chat.render(messages, false);
    ASSERT_EQ(r.generation_spans.size(), 1u);
    auto [b, e] = r.generation_spans[0];
    ASSERT_EQ(r.text.substr(b, e - b), messages.back()["content"].get<std::string>());
    auto ids = tok.encode(r.text);
    ASSERT_EQ(tok.decode(ids), r.text);
    longest = std::max(longest, ids.size());
    ++tasks[row["task"]];
  }
  EXPECT_EQ(tasks.size(), 6u);  // arithmetic, ifeval, four BBH tasks
  EXPECT_LT(longest, 400u) << "SFT rows should stay short for the micro model";
}

TEST_F(SyntheticData, PretrainTokensMatchTheText) {
  tt::Tokenizer tok = tt::Tokenizer::load(files_->tokenizer_dir);
  EXPECT_EQ(files_->vocab_size, 1024);
  auto examples = tt::read_tokenized_jsonl(files_->pretrain_tokens);
  auto texts = rows_of(files_->pretrain);
  ASSERT_EQ(examples.size(), texts.size());
  int64_t total = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto& ex = examples[i];
    ASSERT_EQ(ex.tokens.front(), tok.bos_id());
    ASSERT_EQ(ex.tokens.back(), tok.eos_id());
    ASSERT_TRUE(std::all_of(ex.loss_mask.begin(), ex.loss_mask.end(), [](uint8_t m) { return m == 1; }));
    ASSERT_EQ(tok.decode(std::vector<int32_t>(ex.tokens.begin() + 1, ex.tokens.end() - 1)), texts[i]["text"].get<std::string>());
    for (int32_t id : ex.tokens) ASSERT_LT(id, 1024);
    total += static_cast<int64_t>(ex.tokens.size());
  }
  EXPECT_EQ(total, files_->pretrain_tokens_total);
  // No chat markup in the base stage's text.
  for (const auto& row : texts) ASSERT_EQ(row["text"].get<std::string>().find("<|"), std::string::npos);
}

TEST(SyntheticFiles, SameSeedSameBytesOtherSeedOtherData) {
  std::string a = tt::testing::make_temp_dir("synth-a"), b = tt::testing::make_temp_dir("synth-b"), c = tt::testing::make_temp_dir("synth-c");
  auto small = [](const std::string& dir, uint64_t seed) {
    auto o = small_options(dir, seed);
    o.pretrain_docs = 100;
    o.sft_arithmetic = 100;
    o.sft_ifeval = 40;
    o.sft_bbh_per_task = 10;
    o.vocab_size = 600;
    return o;
  };
  tt::write_synthetic_data(small(a, 3));
  tt::write_synthetic_data(small(b, 3));
  tt::write_synthetic_data(small(c, 4));
  auto sa = snapshot(a), sb = snapshot(b), sc = snapshot(c);
  EXPECT_EQ(sa.size(), 18u);  // 5 top-level files (synth.json too), 11 under eval/ (4 BBH cot-prompts), 2 under tokenizer/
  EXPECT_EQ(sa, sb);
  for (const auto& [name, bytes] : sa) {
    if (name == "tokenizer/tokenizer_config.json") continue;  // names only the specials: the same for every seed
    EXPECT_NE(bytes, sc[name]) << name;
  }
  for (const auto& dir : {a, b, c}) fs::remove_all(dir);
}

TEST(SyntheticFiles, CliWritesTheData) {
  std::string dir = tt::testing::make_temp_dir("synth-cli");
  auto result = tt::testing::run_cli(fmt::format(
      "synth --out {} --seed 5 --pretrain-docs 50 --sft-arithmetic 50 --sft-ifeval 20 --sft-bbh 5 --prompts 10 "
      "--eval-gsm8k 10 --eval-ifeval 10 --eval-bbh 5 --vocab-size 512",
      dir));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("tokenizer: " + dir + "/tokenizer (vocab 512"), std::string::npos) << result.output;
  EXPECT_EQ(rows_of(dir + "/prompts.jsonl").size(), 10u);
  EXPECT_TRUE(tt::file_exists(dir + "/eval/bbh/bbh/dyck_languages.json"));
  auto bad = tt::testing::run_cli("synth --out " + dir + " --vocab-size 100");
  EXPECT_NE(bad.exit_code, 0);
  fs::remove_all(dir);
}

// Default sizes, as the demo runs them; reports the time (the aim is well under 20 s).
TEST(SyntheticFiles, DefaultSizes) {
  tt::SyntheticOptions o;
  o.out_dir = tt::testing::make_temp_dir("synth-default");
  tt::SyntheticFiles f = tt::write_synthetic_data(o);
  EXPECT_EQ(f.pretrain_docs, 4000);
  EXPECT_EQ(f.sft_rows, 2000 + 600 + 4 * 150);
  EXPECT_EQ(f.vocab_size, 2048);
  std::printf("write_synthetic_data with default sizes: %.2f s, %lld pretrain tokens\n", f.seconds,
              static_cast<long long>(f.pretrain_tokens_total));
  EXPECT_LT(f.seconds, 60.0);
  fs::remove_all(o.out_dir);
}

}  // namespace
