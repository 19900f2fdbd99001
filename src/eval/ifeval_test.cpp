#include "eval/ifeval.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/task_families.h"
#include "tests/test_util.h"

namespace tt::eval {
namespace {

using nlohmann::json;

std::vector<json> read_lines(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::string ifeval_dir() { return tt::testing::shared_dir() + "/data/ifeval"; }

// ---------------------------------------------------------------------------------------------
// The official verdicts on GPT-4's responses (SOURCES.md), instruction by instruction.

struct Disagreement {
  int64_t key;
  std::string instruction;
  bool operator<(const Disagreement& o) const { return std::tie(key, instruction) < std::tie(o.key, o.instruction); }
};

// Where this checker and the official one (Nov 2023 release, langdetect, NLTK's english.pickle)
// disagree on GPT-4's responses. Each one is understood; anything else fails the test.
const std::set<Disagreement> kStrictDisagreements = {
    // letter '#': the official checker replaced any letter outside a-z by a random ASCII letter
    // (`ord(letter.lower()) < 97 or > 122` -> random.choice), so its verdict tested some other
    // letter. Here '#' is counted: 4 times, "at least 4" holds.
    {1122, "keywords:letter_frequency"},
    // letter '!': the same random substitution; here '!' is counted: 10 times, "at least 6" holds.
    // (The loose run drew a letter that passed, so only strict disagrees.)
    {1129, "keywords:letter_frequency"},
    // No language check disagrees: langdetect seeded 0 (eval/langdetect.h) gives the official
    // verdicts on all 95 language-dependent instructions (kLanguageChecks), strict and loose,
    // including the one CLD2 got wrong: 1843's whole response "\"coastal elegance properties\""
    // (langdetect: not "en", so english_lowercase fails; CLD2 said English). The official run was
    // unseeded; on these responses Python's langdetect gives the official verdicts under every seed
    // tried (0-39, tools/check_ifeval_langdetect_seeds.py), so the agreement does not hang on the
    // choice of seed 0.
};
const std::set<Disagreement> kLooseDisagreements = {
    {1122, "keywords:letter_frequency"},  // as in strict: random letter in the official checker
};

// The instructions whose check calls langdetect.
const std::set<std::string> kLanguageChecks = {"change_case:english_capital", "change_case:english_lowercase",
                                               "language:response_language"};

TEST(IfevalOfficial, MatchesOfficialVerdictsOnGpt4Responses) {
  const auto inputs = read_lines(ifeval_dir() + "/input_data.jsonl");
  std::map<std::string, std::string> responses;
  for (const auto& r : read_lines(ifeval_dir() + "/input_response_data_gpt4_20231107_145030.jsonl"))
    responses[r["prompt"]] = r["response"];
  std::map<std::string, json> official[2];
  const char* files[2] = {"/eval_results_strict.jsonl", "/eval_results_loose.jsonl"};
  for (int mode = 0; mode < 2; ++mode)
    for (const auto& r : read_lines(ifeval_dir() + files[mode])) official[mode][r["prompt"]] = r;
  ASSERT_EQ(inputs.size(), 541u);

  std::set<Disagreement> found[2];
  int prompts[2] = {0, 0}, insts[2] = {0, 0}, official_prompts[2] = {0, 0}, official_insts[2] = {0, 0};
  int total = 0, language_checks = 0;
  for (const auto& doc : inputs) {
    const auto ids = doc["instruction_id_list"].get<std::vector<std::string>>();
    const std::string prompt = doc["prompt"];
    ASSERT_TRUE(responses.count(prompt)) << doc["key"];
    const IfevalVerdict v = check_ifeval(ids, doc["kwargs"], prompt, responses[prompt]);
    total += static_cast<int>(ids.size());
    language_checks += static_cast<int>(std::count_if(ids.begin(), ids.end(), [](const std::string& id) {
      return kLanguageChecks.count(id) > 0;
    }));
    for (int mode = 0; mode < 2; ++mode) {
      const auto& mine = mode == 0 ? v.strict : v.loose;
      const auto& theirs = official[mode].at(prompt);
      ASSERT_EQ(theirs["follow_instruction_list"].size(), ids.size());
      bool all = true;
      for (size_t i = 0; i < ids.size(); ++i) {
        const bool their = theirs["follow_instruction_list"][i].get<bool>();
        all = all && mine[i];
        insts[mode] += mine[i];
        official_insts[mode] += their;
        if (mine[i] != their) found[mode].insert({doc["key"].get<int64_t>(), ids[i]});
      }
      prompts[mode] += all;
      official_prompts[mode] += theirs["follow_all_instructions"].get<bool>();
    }
  }
  EXPECT_EQ(total, 834);
  // None of them is in the disagreement lists: all 95 agree, strict and loose.
  EXPECT_EQ(language_checks, 95);
  // The official aggregates (SOURCES.md): strict 415/541 and 696/834, loose 430/541 and 713/834.
  EXPECT_EQ(official_prompts[0], 415);
  EXPECT_EQ(official_insts[0], 696);
  EXPECT_EQ(official_prompts[1], 430);
  EXPECT_EQ(official_insts[1], 713);
  const std::set<Disagreement>* expected[2] = {&kStrictDisagreements, &kLooseDisagreements};
  for (int mode = 0; mode < 2; ++mode) {
    const char* name = mode ? "loose" : "strict";
    EXPECT_LE(found[mode].size(), 2u) << name;  // 3 with CLD2 (1843 in both modes)
    for (const auto& d : found[mode])
      EXPECT_FALSE(kLanguageChecks.count(d.instruction)) << name << ": language check disagrees, key " << d.key;
    for (const auto& d : found[mode])
      EXPECT_TRUE(expected[mode]->count(d)) << name << ": unexplained disagreement, key " << d.key << " " << d.instruction;
    for (const auto& d : *expected[mode])
      EXPECT_TRUE(found[mode].count(d)) << name << ": listed disagreement now agrees, key " << d.key << " " << d.instruction;
    // Every disagreement moves the counts by at most one.
    EXPECT_LE(std::abs(insts[mode] - official_insts[mode]), static_cast<int>(found[mode].size())) << name;
    EXPECT_LE(std::abs(prompts[mode] - official_prompts[mode]), static_cast<int>(found[mode].size())) << name;
    std::printf("%s: prompt-level %d/541 (official %d), instruction-level %d/834 (official %d)\n", name,
                prompts[mode], official_prompts[mode], insts[mode], official_insts[mode]);
  }
}

// ---------------------------------------------------------------------------------------------
// One instruction at a time.

IfevalVerdict check_one(const std::string& id, const json& kwargs, std::string_view response,
                        const std::string& prompt = "the prompt") {
  return check_ifeval({id}, json::array({kwargs}), prompt, response);
}
bool strict(const std::string& id, const json& kwargs, std::string_view response) {
  return check_one(id, kwargs, response).strict[0];
}

const char* const kEnglish =
    "The weather today is sunny and warm, and tomorrow it will rain in the afternoon. We plan to "
    "visit the museum in the morning and walk along the river after lunch.";
const char* const kGerman =
    "Das Wetter ist heute sonnig und warm, und morgen wird es am Nachmittag regnen. Wir wollen am "
    "Morgen das Museum besuchen und nach dem Mittagessen am Fluss spazieren gehen.";

TEST(IfevalKeywords, Existence) {
  const json kw = {{"keywords", {"apple", "Banana"}}};
  EXPECT_TRUE(strict("keywords:existence", kw, "I like APPLES and bananas."));  // substring, any case
  EXPECT_FALSE(strict("keywords:existence", kw, "Only an apple here."));
}

TEST(IfevalKeywords, Frequency) {
  const json at_least = {{"keyword", " cat "}, {"frequency", 2}, {"relation", "at least"}};
  EXPECT_TRUE(strict("keywords:frequency", at_least, "A cat and another Cat."));
  EXPECT_FALSE(strict("keywords:frequency", at_least, "One cat."));
  const json less = {{"keyword", "cat"}, {"frequency", 2}, {"relation", "less than"}};
  EXPECT_TRUE(strict("keywords:frequency", less, "One cat."));
  EXPECT_FALSE(strict("keywords:frequency", less, "cat, cat, cat"));
}

TEST(IfevalKeywords, ForbiddenWordsUseWordBoundaries) {
  const json kw = {{"forbidden_words", {"cat", "dog"}}};
  EXPECT_TRUE(strict("keywords:forbidden_words", kw, "We concatenate strings; hotdogs are food."));
  EXPECT_FALSE(strict("keywords:forbidden_words", kw, "The Cat sat."));
}

TEST(IfevalKeywords, LetterFrequency) {
  const json kw = {{"letter", "A"}, {"let_frequency", 3}, {"let_relation", "at least"}};
  EXPECT_TRUE(strict("keywords:letter_frequency", kw, "Aardvarks"));  // 3 a's, any case
  EXPECT_TRUE(strict("keywords:letter_frequency", {{"letter", "#"}, {"let_frequency", 2}, {"let_relation", "at least"}},
                     "#one #two"));  // any character is counted (see kStrictDisagreements)
  EXPECT_FALSE(strict("keywords:letter_frequency", kw, "bAnan"));
  const json less = {{"letter", "z"}, {"let_frequency", 2}, {"let_relation", "less than"}};
  EXPECT_TRUE(strict("keywords:letter_frequency", less, "zero"));
  EXPECT_FALSE(strict("keywords:letter_frequency", less, "Zigzag"));
}

TEST(IfevalLanguage, ResponseLanguage) {
  EXPECT_TRUE(strict("language:response_language", {{"language", "de"}}, kGerman));
  EXPECT_FALSE(strict("language:response_language", {{"language", "de"}}, kEnglish));
  // No letters: langdetect raises and the checker counts the instruction as followed.
  EXPECT_TRUE(strict("language:response_language", {{"language", "de"}}, "12345 !!! 678"));
  EXPECT_EQ(ifeval_text::detect_language(kEnglish), "en");
  EXPECT_EQ(ifeval_text::detect_language("Привет, как у тебя дела? Я сегодня весь день работал дома."), "ru");
  EXPECT_EQ(ifeval_text::detect_language("42"), std::nullopt);
}

TEST(IfevalLength, NumberSentences) {
  const json less = {{"num_sentences", 3}, {"relation", "less than"}};
  EXPECT_TRUE(strict("length_constraints:number_sentences", less, "One here. Two here."));
  EXPECT_FALSE(strict("length_constraints:number_sentences", less, "One here. Two here. Three here."));
  const json at_least = {{"num_sentences", 2}, {"relation", "at least"}};
  EXPECT_TRUE(strict("length_constraints:number_sentences", at_least, "Is it? Yes!"));
  EXPECT_FALSE(strict("length_constraints:number_sentences", at_least, "Mr. Smith met Dr. Jones at 5 p.m. today."));
}

TEST(IfevalLength, PunktSentences) {
  using ifeval_text::split_sentences;
  EXPECT_EQ(split_sentences("Mr. Smith went home. He slept."),
            (std::vector<std::string>{"Mr. Smith went home.", "He slept."}));
  EXPECT_EQ(split_sentences("Is it? yes it is."), (std::vector<std::string>{"Is it?", "yes it is."}));
  EXPECT_EQ(split_sentences("Hello world"), (std::vector<std::string>{"Hello world"}));
  EXPECT_EQ(split_sentences("Wait... what happened."), (std::vector<std::string>{"Wait... what happened."}));
  // Closing quotes and brackets stay with the sentence they close.
  EXPECT_EQ(split_sentences("(He left.) \"She stayed.\" Then it rained."),
            (std::vector<std::string>{"(He left.)", "\"She stayed.\"", "Then it rained."}));
  // A numbered list item's number ends a "sentence" when a capitalised word follows.
  EXPECT_EQ(split_sentences("1. The first\n2. the second").size(), 2u);
  EXPECT_EQ(split_sentences("").size(), 0u);
}

TEST(IfevalLength, NumberWords) {
  EXPECT_EQ(ifeval_text::count_words("Hello, world! It's 2024."), 5);  // Hello world It s 2024
  EXPECT_EQ(ifeval_text::count_words("naïve café_bar"), 2);
  const json at_least = {{"num_words", 5}, {"relation", "at least"}};
  EXPECT_TRUE(strict("length_constraints:number_words", at_least, "Hello, world! It's 2024."));
  EXPECT_FALSE(strict("length_constraints:number_words", at_least, "Too short here."));
  const json less = {{"num_words", 3}, {"relation", "less than"}};
  EXPECT_TRUE(strict("length_constraints:number_words", less, "Two words"));
  EXPECT_FALSE(strict("length_constraints:number_words", less, "Now three words"));
}

TEST(IfevalLength, NumberParagraphs) {
  const json kw = {{"num_paragraphs", 2}};
  EXPECT_TRUE(strict("length_constraints:number_paragraphs", kw, "First part.\n***\nSecond part."));
  EXPECT_TRUE(strict("length_constraints:number_paragraphs", kw, "***\nFirst.\n***\nSecond.\n***"));
  EXPECT_FALSE(strict("length_constraints:number_paragraphs", kw, "First.\n***\n\n***\nSecond."));
  EXPECT_FALSE(strict("length_constraints:number_paragraphs", kw, "First.\n\nSecond."));
}

TEST(IfevalLength, NthParagraphFirstWord) {
  const json kw = {{"num_paragraphs", 2}, {"nth_paragraph", 2}, {"first_word", "Summer"}};
  EXPECT_TRUE(strict("length_constraints:nth_paragraph_first_word", kw, "Intro here.\n\n\"Summer, is here.\""));
  EXPECT_FALSE(strict("length_constraints:nth_paragraph_first_word", kw, "Intro here.\n\nWinter is here."));
  EXPECT_FALSE(strict("length_constraints:nth_paragraph_first_word", kw, "Intro.\n\nSummer.\n\nMore."));
}

TEST(IfevalContent, Placeholders) {
  const json kw = {{"num_placeholders", 2}};
  EXPECT_TRUE(strict("detectable_content:number_placeholders", kw, "Dear [name], at [address]."));
  EXPECT_FALSE(strict("detectable_content:number_placeholders", kw, "Dear [name]."));
}

TEST(IfevalContent, Postscript) {
  const json ps = {{"postscript_marker", "P.S."}};
  EXPECT_TRUE(strict("detectable_content:postscript", ps, "Hello.\n\nP.S. See you."));
  EXPECT_TRUE(strict("detectable_content:postscript", ps, "Hello.\np. s. see you."));
  EXPECT_FALSE(strict("detectable_content:postscript", ps, "Hello. PS see you."));
  EXPECT_TRUE(strict("detectable_content:postscript", {{"postscript_marker", "P.P.S"}}, "Hi.\nP.P.S more"));
  EXPECT_TRUE(strict("detectable_content:postscript", {{"postscript_marker", "Note:"}}, "Hi.\nNOTE: more"));
}

TEST(IfevalFormat, BulletLists) {
  const json kw = {{"num_bullets", 2}};
  EXPECT_TRUE(strict("detectable_format:number_bullet_lists", kw, "Intro:\n* one\n* two"));
  EXPECT_TRUE(strict("detectable_format:number_bullet_lists", kw, "- one\n- two\n**bold** line"));
  EXPECT_FALSE(strict("detectable_format:number_bullet_lists", kw, "* one\n- two\n- three"));
}

TEST(IfevalFormat, ConstrainedResponse) {
  EXPECT_TRUE(strict("detectable_format:constrained_response", {}, "  My answer is maybe.  "));
  EXPECT_FALSE(strict("detectable_format:constrained_response", {}, "My answer is yes"));
}

TEST(IfevalFormat, HighlightedSections) {
  const json kw = {{"num_highlights", 2}};
  EXPECT_TRUE(strict("detectable_format:number_highlighted_sections", kw, "*one* and **two**"));
  EXPECT_FALSE(strict("detectable_format:number_highlighted_sections", kw, "*one* and ** ** and *\n*"));
}

TEST(IfevalFormat, MultipleSections) {
  const json kw = {{"section_spliter", "Section"}, {"num_sections", 2}};
  EXPECT_TRUE(strict("detectable_format:multiple_sections", kw, "Section 1\nA\nSection 2\nB"));
  EXPECT_FALSE(strict("detectable_format:multiple_sections", kw, "Section 1\nA\nSECTION 2\nB"));
}

TEST(IfevalFormat, JsonWithFences) {
  EXPECT_TRUE(strict("detectable_format:json_format", {}, "```json\n{\"a\": [1, 2]}\n```"));
  EXPECT_TRUE(strict("detectable_format:json_format", {}, " \"just a string\" "));
  EXPECT_FALSE(strict("detectable_format:json_format", {}, "Here: {\"a\": 1}"));
  EXPECT_FALSE(strict("detectable_format:json_format", {}, "{a: 1}"));
}

TEST(IfevalFormat, Title) {
  EXPECT_TRUE(strict("detectable_format:title", {}, "<<Poem of Joy>>\nRoses are red."));
  EXPECT_FALSE(strict("detectable_format:title", {}, "<< >> and <<broken\ntitle>>"));
}

TEST(IfevalCombination, TwoResponses) {
  EXPECT_TRUE(strict("combination:two_responses", {}, "First answer.\n******\nSecond answer."));
  EXPECT_FALSE(strict("combination:two_responses", {}, "Same.\n******\nSame."));
  EXPECT_FALSE(strict("combination:two_responses", {}, "A.\n******\n\n******\nB."));
  EXPECT_FALSE(strict("combination:two_responses", {}, "Only one."));
}

TEST(IfevalCombination, RepeatPrompt) {
  const json kw = {{"prompt_to_repeat", "Write a poem about cats."}};
  EXPECT_TRUE(strict("combination:repeat_prompt", kw, "  write a POEM about cats. Cats are soft."));
  EXPECT_FALSE(strict("combination:repeat_prompt", kw, "Sure! Write a poem about cats."));
}

TEST(IfevalStartEnd, EndChecker) {
  const json kw = {{"end_phrase", "Is there anything else I can help with?"}};
  EXPECT_TRUE(strict("startend:end_checker", kw, "Done.\nIs there anything else I can help with?\"\n"));
  EXPECT_FALSE(strict("startend:end_checker", kw, "Is there anything else I can help with? Bye."));
}

TEST(IfevalStartEnd, Quotation) {
  EXPECT_TRUE(strict("startend:quotation", {}, " \"Wrapped.\"\n"));
  EXPECT_FALSE(strict("startend:quotation", {}, "\""));
  EXPECT_FALSE(strict("startend:quotation", {}, "\"Not closed"));
}

TEST(IfevalCase, CapitalWordFrequency) {
  EXPECT_EQ(ifeval_text::word_tokenize("I DON'T like NASA."),
            (std::vector<std::string>{"I", "DO", "N'T", "like", "NASA", "."}));
  EXPECT_EQ(ifeval_text::word_tokenize("They'll say \"hi\" (maybe). CANNOT stop"),
            (std::vector<std::string>{"They", "'ll", "say", "``", "hi", "''", "(", "maybe", ")", ".", "CAN", "NOT",
                                      "stop"}));
  const json at_least = {{"capital_frequency", 4}, {"capital_relation", "at least"}};
  EXPECT_TRUE(strict("change_case:capital_word_frequency", at_least, "I DON'T like NASA."));
  EXPECT_FALSE(strict("change_case:capital_word_frequency", at_least, "I do not like NASA-style WORK."));
  const json less = {{"capital_frequency", 2}, {"capital_relation", "less than"}};
  EXPECT_TRUE(strict("change_case:capital_word_frequency", less, "Only ONE here."));
  EXPECT_FALSE(strict("change_case:capital_word_frequency", less, "TWO CAPS."));
}

TEST(IfevalCase, EnglishCapitalAndLowercase) {
  std::string upper = kEnglish, lower = kEnglish;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_TRUE(strict("change_case:english_capital", {}, upper));
  EXPECT_FALSE(strict("change_case:english_capital", {}, kEnglish));
  EXPECT_TRUE(strict("change_case:english_lowercase", {}, lower));
  EXPECT_FALSE(strict("change_case:english_lowercase", {}, kEnglish));
  std::string german_lower = kGerman;
  for (char& c : german_lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_FALSE(strict("change_case:english_lowercase", {}, german_lower));  // lower case, not English
}

TEST(IfevalPunctuation, NoComma) {
  EXPECT_TRUE(strict("punctuation:no_comma", {}, "No commas here."));
  EXPECT_FALSE(strict("punctuation:no_comma", {}, "One, here."));
}

// ---------------------------------------------------------------------------------------------
// Strict and loose, bad responses, bad input.

TEST(IfevalLoose, DropsFirstOrLastLineAndStars) {
  // A chatty first line with a comma: strict fails, loose drops the line.
  auto v = check_one("punctuation:no_comma", {}, "Sure, here it is:\nNo commas in this part.");
  EXPECT_FALSE(v.strict[0]);
  EXPECT_TRUE(v.loose[0]);
  // Markdown bold around the quotes: loose removes the '*'.
  v = check_one("startend:quotation", {}, "**\"Quoted.\"**");
  EXPECT_FALSE(v.strict[0]);
  EXPECT_TRUE(v.loose[0]);
  // A trailing remark after the end phrase: loose drops the last line.
  v = check_one("startend:end_checker", {{"end_phrase", "The end."}}, "Story.\nThe end.\n(Hope you liked it!)");
  EXPECT_FALSE(v.strict[0]);
  EXPECT_TRUE(v.loose[0]);
  // Nothing saves a response that breaks the rule in its middle.
  v = check_one("punctuation:no_comma", {}, "Line one\nLine, two\nLine three");
  EXPECT_FALSE(v.loose[0]);
}

// Valid kwargs for every instruction id.
json kwargs_for(const std::string& id) {
  static const std::map<std::string, json> kwargs = {
      {"keywords:existence", {{"keywords", {"a"}}}},
      {"keywords:frequency", {{"keyword", "a"}, {"frequency", 1}, {"relation", "less than"}}},
      {"keywords:forbidden_words", {{"forbidden_words", {"a"}}}},
      {"keywords:letter_frequency", {{"letter", "a"}, {"let_frequency", 1}, {"let_relation", "less than"}}},
      {"language:response_language", {{"language", "en"}}},
      {"length_constraints:number_sentences", {{"num_sentences", 5}, {"relation", "less than"}}},
      {"length_constraints:number_paragraphs", {{"num_paragraphs", 1}}},
      {"length_constraints:number_words", {{"num_words", 5}, {"relation", "less than"}}},
      {"length_constraints:nth_paragraph_first_word",
       {{"num_paragraphs", 1}, {"nth_paragraph", 1}, {"first_word", "a"}}},
      {"detectable_content:number_placeholders", {{"num_placeholders", 0}}},
      {"detectable_content:postscript", {{"postscript_marker", "P.S."}}},
      {"detectable_format:number_bullet_lists", {{"num_bullets", 0}}},
      {"detectable_format:number_highlighted_sections", {{"num_highlights", 0}}},
      {"detectable_format:multiple_sections", {{"section_spliter", "Section"}, {"num_sections", 0}}},
      {"combination:repeat_prompt", {{"prompt_to_repeat", ""}}},
      {"startend:end_checker", {{"end_phrase", ""}}},
      {"change_case:capital_word_frequency", {{"capital_frequency", 5}, {"capital_relation", "less than"}}},
  };
  const auto it = kwargs.find(id);
  return it == kwargs.end() ? json::object() : it->second;
}

TEST(IfevalBadResponse, EmptyWhitespaceAndInvalidUtf8FailEverything) {
  const auto ids = ifeval_instruction_ids();
  ASSERT_EQ(ids.size(), 25u);
  json kwargs = json::array();
  for (const auto& id : ids) kwargs.push_back(kwargs_for(id));
  // Many of these instructions hold on any text ("less than 5 words", "at least 0 bullets"); the
  // checker still fails them all when there is no response.
  for (const std::string& response : {std::string(), std::string(" \n\t "), std::string("abc \xff\xfe def"),
                                     std::string("\xc3")}) {
    const IfevalVerdict v = check_ifeval(ids, kwargs, "prompt", response);
    ASSERT_EQ(v.strict.size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_FALSE(v.strict[i]) << ids[i];
      EXPECT_FALSE(v.loose[i]) << ids[i];
    }
  }
  // The same kwargs on a plain answer do pass some: the failures above come from the response.
  const IfevalVerdict ok = check_ifeval(ids, kwargs, "prompt", "a b");
  EXPECT_GT(std::count(ok.strict.begin(), ok.strict.end(), true), 5);
}

TEST(IfevalErrors, UnknownIdAndBadArguments) {
  try {
    check_one("keywords:telepathy", {}, "text");
    FAIL() << "no error";
  } catch (const tt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("keywords:telepathy"), std::string::npos) << e.what();
  }
  try {
    check_one("keywords:frequency", {{"keyword", "a"}, {"frequency", 1}}, "text");
    FAIL() << "no error";
  } catch (const tt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("relation"), std::string::npos) << e.what();
  }
  EXPECT_THROW(check_one("keywords:frequency", {{"keyword", "a"}, {"frequency", 1}, {"relation", "at most"}}, "t"),
               tt::Error);
  EXPECT_THROW(check_ifeval({"punctuation:no_comma"}, json::array(), "p", "text"), tt::Error);
  // Null-valued arguments are ignored, as the checker does.
  EXPECT_TRUE(strict("punctuation:no_comma", {{"num_words", nullptr}}, "text"));
}

// (The Python str / re semantics the checker builds on are tested in python_compat_test.cpp.)

// ---------------------------------------------------------------------------------------------
// The Task.

TEST(IfevalTask, DocsPromptMetricsAndExtras) {
  TaskOptions options;
  options.data_root = tt::testing::shared_dir() + "/data";
  const auto task = make_ifeval_task(options);
  EXPECT_EQ(task->name(), "ifeval");
  EXPECT_EQ(task->output_type(), OutputType::GenerateUntil);
  ASSERT_EQ(task->docs().size(), 541u);
  EXPECT_EQ(task->metric_keys(), (std::vector<std::string>{"prompt_level_strict_acc,none", "inst_level_strict_acc,none",
                                                          "prompt_level_loose_acc,none", "inst_level_loose_acc,none"}));
  EXPECT_EQ(task->doc_text_fields(), std::vector<std::string>{"prompt"});
  const auto g = task->generation_defaults();
  EXPECT_TRUE(g.until.empty());
  EXPECT_EQ(g.max_gen_toks, 1280);
  EXPECT_FALSE(g.do_sample);
  EXPECT_EQ(task->config()["num_fewshot"], 0);
  EXPECT_EQ(task->config()["generation_kwargs"]["max_gen_toks"], 1280);

  const Doc& doc = task->docs()[0];  // key 1000: no commas, 3 highlights, at least 300 words
  const Prompt p = task->prompt(doc);
  EXPECT_EQ(p.text, doc.fields["prompt"].get<std::string>());
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0]["role"], "user");
  EXPECT_EQ(p.messages[0]["content"], p.text);

  const std::string response = "*One* *Two* *Three*, and far fewer than three hundred words.";
  const DocScore s = task->score_response(doc, response);
  EXPECT_EQ(s.metrics.at("prompt_level_strict_acc,none"), std::vector<double>{0.0});
  EXPECT_EQ(s.metrics.at("inst_level_strict_acc,none"), (std::vector<double>{0.0, 1.0, 0.0}));
  EXPECT_EQ(s.metrics.at("prompt_level_loose_acc,none"), std::vector<double>{0.0});
  EXPECT_EQ(s.metrics.at("inst_level_loose_acc,none"), (std::vector<double>{0.0, 1.0, 0.0}));
  EXPECT_EQ(s.extra["prompt"], doc.fields["prompt"]);
  EXPECT_EQ(s.extra["instruction_id_list"], doc.fields["instruction_id_list"]);
  EXPECT_EQ(s.extra["follow_instruction_list_strict"], nlohmann::ordered_json({false, true, false}));
  EXPECT_EQ(s.extra["follow_all_instructions_loose"], false);

  // Bad responses score zero and never throw.
  for (const std::string& bad : {std::string(), std::string("\xff\xfe")}) {
    const DocScore z = task->score_response(doc, bad);
    EXPECT_EQ(z.metrics.at("inst_level_loose_acc,none"), (std::vector<double>{0.0, 0.0, 0.0}));
  }
}

TEST(IfevalTask, UnknownInstructionInDataNamesFileAndId) {
  const std::string root = tt::testing::make_temp_dir("ifeval");
  std::filesystem::create_directories(root + "/ifeval");
  std::ofstream(root + "/ifeval/input_data.jsonl")
      << R"({"key": 1, "prompt": "p", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]})" "\n"
      << R"({"key": 2, "prompt": "p", "instruction_id_list": ["x:unknown"], "kwargs": [{}]})" "\n";
  TaskOptions options;
  options.data_root = root;
  try {
    make_ifeval_task(options);
    FAIL() << "no error";
  } catch (const tt::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("input_data.jsonl"), std::string::npos) << message;
    EXPECT_NE(message.find("x:unknown"), std::string::npos) << message;
  }
  std::ofstream(root + "/ifeval/input_data.jsonl")
      << R"({"key": 1, "prompt": "p", "instruction_id_list": ["punctuation:no_comma"]})" "\n";
  EXPECT_THROW(make_ifeval_task(options), tt::Error);  // no kwargs
}

}  // namespace
}  // namespace tt::eval
