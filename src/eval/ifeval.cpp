// IFEval's 25 instruction checkers, after google-research instruction_following_eval
// (instructions.py, instructions_registry.py, evaluation_lib.py). Each checker keeps the official
// rule, including its quirks (keywords are regular expressions, "P.S." matches "p. s." ...).
// langdetect is eval/langdetect.h (the same detector, seeded 0 where the official checker leaves it
// unseeded); NLTK's trained Punkt model is approximated in ifeval_text.cpp (it only matters for a
// few borderline responses).
#include "eval/ifeval.h"

#include <functional>
#include <map>

#include "core/error.h"
#include "eval/python_compat.h"
#include "text/utf8.h"

namespace tt::eval {

using namespace ifeval_text;

namespace {

using Checker = std::function<bool(std::string_view)>;

// The kwargs of one instruction with the official checker's defaults removed: a missing argument
// (the checker would draw a random one) is an error.
class Args {
 public:
  Args(const std::string& id, const nlohmann::json& kwargs) : id_(id), kwargs_(kwargs) {
    if (!kwargs_.is_null() && !kwargs_.is_object()) fail("ifeval: kwargs of '{}' is not an object", id_);
  }
  const nlohmann::json& get(const char* key) const {
    if (!kwargs_.is_object() || !kwargs_.contains(key) || kwargs_[key].is_null())
      fail("ifeval: instruction '{}' needs the argument '{}'", id_, key);
    return kwargs_[key];
  }
  int64_t integer(const char* key) const {
    const auto& v = get(key);
    if (!v.is_number_integer()) fail("ifeval: argument '{}' of '{}' is not an integer", key, id_);
    return v.get<int64_t>();
  }
  std::string string(const char* key) const {
    const auto& v = get(key);
    if (!v.is_string()) fail("ifeval: argument '{}' of '{}' is not a string", key, id_);
    return v.get<std::string>();
  }
  std::vector<std::string> strings(const char* key) const {
    const auto& v = get(key);
    if (!v.is_array()) fail("ifeval: argument '{}' of '{}' is not a list", key, id_);
    std::vector<std::string> out;
    for (const auto& s : v) {
      if (!s.is_string()) fail("ifeval: argument '{}' of '{}' holds a non-string", key, id_);
      out.push_back(s.get<std::string>());
    }
    return out;
  }
  // "less than" -> true, "at least" -> false.
  bool less_than(const char* key) const {
    const std::string relation = string(key);
    if (relation == "less than") return true;
    if (relation == "at least") return false;
    fail("ifeval: argument '{}' of '{}' must be 'less than' or 'at least', not '{}'", key, id_, relation);
  }

 private:
  const std::string& id_;
  const nlohmann::json& kwargs_;
};

bool compare(int64_t actual, bool less_than, int64_t threshold) {
  return less_than ? actual < threshold : actual >= threshold;
}

std::string trimmed(std::string_view s) { return std::string(py::strip(s)); }

// Python's `s.removeprefix(p)` / `s.removesuffix(p)`.
std::string_view remove_prefix(std::string_view s, std::string_view p) {
  return s.starts_with(p) ? s.substr(p.size()) : s;
}
std::string_view remove_suffix(std::string_view s, std::string_view p) {
  return s.ends_with(p) ? s.substr(0, s.size() - p.size()) : s;
}

// langdetect's verdict on `text` equals `code`; detection failure counts as followed.
bool language_is(std::string_view text, const std::string& code) {
  const auto detected = detect_language(text);
  return !detected || *detected == code;
}

using Builder = std::function<Checker(const Args&, const std::string& id)>;

const std::map<std::string, Builder>& registry() {
  static const std::map<std::string, Builder> builders = {
      {"keywords:existence",
       [](const Args& a, const std::string& id) -> Checker {
         // re.search(keyword, value, re.IGNORECASE): the keyword is a pattern, not a word.
         auto patterns = std::make_shared<std::vector<std::unique_ptr<py::Regex>>>();
         for (const auto& k : a.strings("keywords"))
           patterns->push_back(std::make_unique<py::Regex>(k, py::Regex::kIgnoreCase, id));
         return [patterns](std::string_view r) {
           for (const auto& p : *patterns)
             if (!p->search(r)) return false;
           return true;
         };
       }},
      {"keywords:frequency",
       [](const Args& a, const std::string& id) -> Checker {
         auto pattern = std::make_shared<py::Regex>(trimmed(a.string("keyword")), py::Regex::kIgnoreCase, id);
         const int64_t frequency = a.integer("frequency");
         const bool less = a.less_than("relation");
         return [=](std::string_view r) {
           return compare(static_cast<int64_t>(pattern->count(r)), less, frequency);
         };
       }},
      {"keywords:forbidden_words",
       [](const Args& a, const std::string& id) -> Checker {
         auto patterns = std::make_shared<std::vector<std::unique_ptr<py::Regex>>>();
         for (const auto& w : a.strings("forbidden_words"))
           patterns->push_back(std::make_unique<py::Regex>("\\b" + w + "\\b", py::Regex::kIgnoreCase, id));
         return [patterns](std::string_view r) {
           for (const auto& p : *patterns)
             if (p->search(r)) return false;
           return true;
         };
       }},
      {"keywords:letter_frequency",
       [](const Args& a, const std::string& id) -> Checker {
         // The Nov-2023 checker replaced a letter outside a-z ('#', '!') by a random one, which
         // made its verdict random; here the given character is counted.
         const std::string letter = py::lower(trimmed(a.string("letter")));
         size_t n = 0;  // characters: bytes that do not continue a UTF-8 sequence
         for (unsigned char c : letter) n += (c & 0xC0) != 0x80;
         if (n != 1) fail("ifeval: argument 'letter' of '{}' must be one character, not '{}'", id, letter);
         const int64_t frequency = a.integer("let_frequency");
         const bool less = a.less_than("let_relation");
         return [=](std::string_view r) {
           // collections.Counter(value.lower())[letter]
           const std::string low = py::lower(r);
           int64_t count = 0;
           for (size_t at = low.find(letter); at != std::string::npos; at = low.find(letter, at + letter.size()))
             ++count;
           return compare(count, less, frequency);
         };
       }},
      {"language:response_language",
       [](const Args& a, const std::string&) -> Checker {
         const std::string language = a.string("language");
         return [=](std::string_view r) { return language_is(r, language); };
       }},
      {"length_constraints:number_sentences",
       [](const Args& a, const std::string&) -> Checker {
         const int64_t threshold = a.integer("num_sentences");
         const bool less = a.less_than("relation");
         return [=](std::string_view r) {
           return compare(static_cast<int64_t>(split_sentences(r).size()), less, threshold);
         };
       }},
      {"length_constraints:number_paragraphs",
       [](const Args& a, const std::string&) -> Checker {
         const int64_t wanted = a.integer("num_paragraphs");
         return [=](std::string_view r) {
           static const py::Regex divider(R"(\s?\*\*\*\s?)");
           const auto paragraphs = divider.split(r);
           int64_t n = static_cast<int64_t>(paragraphs.size());
           for (size_t i = 0; i < paragraphs.size(); ++i) {
             if (!py::strip(paragraphs[i]).empty()) continue;
             if (i == 0 || i + 1 == paragraphs.size())
               --n;
             else
               return false;  // an empty paragraph between two dividers
           }
           return n == wanted;
         };
       }},
      {"length_constraints:number_words",
       [](const Args& a, const std::string&) -> Checker {
         const int64_t threshold = a.integer("num_words");
         const bool less = a.less_than("relation");
         return [=](std::string_view r) { return compare(count_words(r), less, threshold); };
       }},
      {"length_constraints:nth_paragraph_first_word",
       [](const Args& a, const std::string&) -> Checker {
         const int64_t wanted = a.integer("num_paragraphs");
         const int64_t nth = a.integer("nth_paragraph");
         const std::string first_word = py::lower(a.string("first_word"));
         return [=](std::string_view r) {
           static const py::Regex blank_line("\n\n");
           const auto paragraphs = blank_line.split(r);
           int64_t n = static_cast<int64_t>(paragraphs.size());
           for (const auto& p : paragraphs)
             if (py::strip(p).empty()) --n;
           // The official check indexes the raw split, empty pieces included.
           if (nth < 1 || nth > n) return false;
           const std::string_view paragraph = py::strip(paragraphs[nth - 1]);
           if (paragraph.empty()) return false;
           std::string_view word = py::strip(py::split(paragraph)[0]);
           word = word.substr(std::min(word.find_first_not_of('\''), word.size()));
           word = word.substr(std::min(word.find_first_not_of('"'), word.size()));
           const size_t cut = word.find_first_of(".,?!'\"");
           const std::string got = py::lower(word.substr(0, cut));
           return n == wanted && got == first_word;
         };
       }},
      {"detectable_content:number_placeholders",
       [](const Args& a, const std::string&) -> Checker {
         const int64_t wanted = a.integer("num_placeholders");
         return [=](std::string_view r) {
           static const py::Regex placeholder(R"(\[.*?\])");
           return static_cast<int64_t>(placeholder.count(r)) >= wanted;
         };
       }},
      {"detectable_content:postscript",
       [](const Args& a, const std::string& id) -> Checker {
         const std::string marker = trimmed(a.string("postscript_marker"));
         std::string pattern;
         if (marker == "P.P.S")
           pattern = R"(\s*p\.\s?p\.\s?s.*$)";
         else if (marker == "P.S.")
           pattern = R"(\s*p\.\s?s\..*$)";
         else
           pattern = "\\s*" + py::lower(marker) + ".*$";  // the marker is used as a pattern, unescaped
         auto re = std::make_shared<py::Regex>(pattern, py::Regex::kMultiline, id);
         return [re](std::string_view r) { return re->search(py::lower(r)); };
       }},
      {"detectable_format:number_bullet_lists",
       [](const Args& a, const std::string&) -> Checker {
         const int64_t wanted = a.integer("num_bullets");
         return [=](std::string_view r) {
           static const py::Regex star(R"(^\s*\*[^\*].*$)", py::Regex::kMultiline);
           static const py::Regex dash(R"(^\s*-.*$)", py::Regex::kMultiline);
           return static_cast<int64_t>(star.count(r) + dash.count(r)) == wanted;
         };
       }},
      {"detectable_format:constrained_response",
       [](const Args&, const std::string&) -> Checker {
         return [](std::string_view r) {
           const std::string_view v = py::strip(r);
           for (const char* option : {"My answer is yes.", "My answer is no.", "My answer is maybe."})
             if (v.find(option) != std::string_view::npos) return true;
           return false;
         };
       }},
      {"detectable_format:number_highlighted_sections",
       [](const Args& a, const std::string&) -> Checker {
         const int64_t wanted = a.integer("num_highlights");
         return [=](std::string_view r) {
           static const py::Regex single(R"(\*[^\n\*]*\*)");
           static const py::Regex twice(R"(\*\*[^\n\*]*\*\*)");
           int64_t n = 0;
           for (const auto& h : single.findall(r))  // no groups: h[0] is the whole match
             if (!py::strip(py::strip_chars(h[0], "*")).empty()) ++n;
           for (const auto& h : twice.findall(r))
             if (!py::strip(std::string_view(h[0]).substr(2, h[0].size() - 4)).empty()) ++n;
           return n >= wanted;
         };
       }},
      {"detectable_format:multiple_sections",
       [](const Args& a, const std::string& id) -> Checker {
         const std::string splitter = trimmed(a.string("section_spliter"));
         const int64_t wanted = a.integer("num_sections");
         auto re = std::make_shared<py::Regex>("\\s?" + splitter + "\\s?\\d+\\s?", 0, id);
         return [=](std::string_view r) { return static_cast<int64_t>(re->split(r).size()) - 1 >= wanted; };
       }},
      {"detectable_format:json_format",
       [](const Args&, const std::string&) -> Checker {
         return [](std::string_view r) {
           std::string_view v = py::strip(r);
           for (const char* fence : {"```json", "```Json", "```JSON", "```"}) v = remove_prefix(v, fence);
           v = py::strip(remove_suffix(v, "```"));
           // json.loads; nlohmann's parser is stricter only about NaN / Infinity literals.
           return nlohmann::json::accept(v);
         };
       }},
      {"detectable_format:title",
       [](const Args&, const std::string&) -> Checker {
         return [](std::string_view r) {
           static const py::Regex title(R"(<<[^\n]+>>)");
           for (const auto& t : title.findall(r)) {
             std::string_view inner = t[0];
             inner = inner.substr(std::min(inner.find_first_not_of('<'), inner.size()));
             const size_t last = inner.find_last_not_of('>');
             inner = inner.substr(0, last == std::string_view::npos ? 0 : last + 1);
             if (!py::strip(inner).empty()) return true;
           }
           return false;
         };
       }},
      {"combination:two_responses",
       [](const Args&, const std::string&) -> Checker {
         return [](std::string_view r) {
           std::vector<std::string_view> parts;
           for (size_t start = 0;;) {
             const size_t at = r.find("******", start);
             parts.push_back(r.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
             if (at == std::string_view::npos) break;
             start = at + 6;
           }
           std::vector<std::string_view> valid;
           for (size_t i = 0; i < parts.size(); ++i) {
             if (!py::strip(parts[i]).empty())
               valid.push_back(parts[i]);
             else if (i != 0 && i + 1 != parts.size())
               return false;
           }
           return valid.size() == 2 && py::strip(valid[0]) != py::strip(valid[1]);
         };
       }},
      {"combination:repeat_prompt",
       [](const Args& a, const std::string&) -> Checker {
         const std::string prompt = py::lower(py::strip(a.string("prompt_to_repeat")));
         return [=](std::string_view r) { return py::lower(py::strip(r)).starts_with(prompt); };
       }},
      {"startend:end_checker",
       [](const Args& a, const std::string&) -> Checker {
         const std::string phrase = py::lower(py::strip(a.string("end_phrase")));
         return [=](std::string_view r) { return py::lower(py::strip_chars(py::strip(r), "\"")).ends_with(phrase); };
       }},
      {"change_case:capital_word_frequency",
       [](const Args& a, const std::string&) -> Checker {
         const int64_t frequency = a.integer("capital_frequency");
         const bool less = a.less_than("capital_relation");
         return [=](std::string_view r) {
           int64_t n = 0;
           for (const auto& w : word_tokenize(r)) n += py::isupper(w);
           return compare(n, less, frequency);
         };
       }},
      {"change_case:english_capital",
       [](const Args&, const std::string&) -> Checker {
         return [](std::string_view r) { return py::isupper(r) && language_is(r, "en"); };
       }},
      {"change_case:english_lowercase",
       [](const Args&, const std::string&) -> Checker {
         return [](std::string_view r) { return py::islower(r) && language_is(r, "en"); };
       }},
      {"punctuation:no_comma",
       [](const Args&, const std::string&) -> Checker {
         return [](std::string_view r) { return r.find(',') == std::string_view::npos; };
       }},
      {"startend:quotation",
       [](const Args&, const std::string&) -> Checker {
         return [](std::string_view r) {
           const std::string_view v = py::strip(r);
           return v.size() > 1 && v.front() == '"' && v.back() == '"';
         };
       }},
  };
  return builders;
}

// "\n".join(lines[begin:end]) of `response.split("\n")`.
std::string join_lines(const std::vector<std::string_view>& lines, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) out += '\n';
    out.append(lines[i]);
  }
  return out;
}

std::string remove_stars(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '*') out += c;
  return out;
}

}  // namespace

std::vector<std::string> ifeval_instruction_ids() {
  std::vector<std::string> ids;
  for (const auto& [id, builder] : registry()) ids.push_back(id);
  return ids;
}

IfevalVerdict check_ifeval(const std::vector<std::string>& instruction_ids, const nlohmann::json& kwargs,
                           const std::string& prompt, std::string_view response) {
  if (!kwargs.is_array() || kwargs.size() != instruction_ids.size())
    fail("ifeval: {} instructions but {} kwargs objects", instruction_ids.size(),
         kwargs.is_array() ? kwargs.size() : 0);
  std::vector<Checker> checkers;
  for (size_t i = 0; i < instruction_ids.size(); ++i) {
    const auto it = registry().find(instruction_ids[i]);
    if (it == registry().end()) fail("ifeval: unknown instruction id '{}'", instruction_ids[i]);
    checkers.push_back(it->second(Args(instruction_ids[i], kwargs[i]), instruction_ids[i]));
  }

  IfevalVerdict verdict;
  verdict.strict.assign(checkers.size(), false);
  verdict.loose.assign(checkers.size(), false);
  if (!utf8::is_valid(response)) return verdict;  // not text: nothing is followed

  // evaluation_lib.test_instruction_following_loose: the response, without its first line,
  // without its last line, without both, and each of those with every '*' removed.
  std::vector<std::string_view> lines;
  for (size_t start = 0;;) {
    const size_t nl = response.find('\n', start);
    lines.push_back(response.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  const size_t n = lines.size();
  const std::string remove_first = trimmed(join_lines(lines, 1, n));
  const std::string remove_last = trimmed(join_lines(lines, 0, n - 1));
  const std::string remove_both = n >= 2 ? trimmed(join_lines(lines, 1, n - 1)) : std::string();
  const std::string variants[] = {std::string(response),     remove_stars(response),    remove_first,
                                  remove_last,               remove_both,               remove_stars(remove_first),
                                  remove_stars(remove_last), remove_stars(remove_both)};

  for (size_t i = 0; i < checkers.size(); ++i) {
    verdict.strict[i] = !py::strip(response).empty() && checkers[i](response);
    for (const std::string& v : variants)
      if (!py::strip(v).empty() && checkers[i](v)) {
        verdict.loose[i] = true;
        break;
      }
  }
  return verdict;
}

}  // namespace tt::eval
