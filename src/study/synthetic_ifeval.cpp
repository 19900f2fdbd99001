// Verifiable instructions in IFEval's format: a writing request about a topic plus 1-3
// instructions from a subset of the official ids whose checks are simple and mutually compatible,
// and a response built to satisfy them (content first, then layout, case, quoting).
#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "study/synthetic_tasks.h"

namespace tt::synth {

namespace {

struct Topic {
  const char* name;   // as used in a request: "the ocean"
  const char* title;  // for <<title>>
  const char* sentences[4];  // plain sentences without commas
};

const Topic kTopics[] = {
    {"the ocean", "The Deep Blue Sea", {"The ocean covers most of our planet.", "Many fish and whales live in the ocean.", "Waves are made by the wind.", "People love to swim and sail in the sea."}},
    {"bicycles", "Two Wheels", {"A bicycle has two wheels and a chain.", "Riding a bike is good for your health.", "Many people ride bikes to work.", "Bikes do not need any fuel."}},
    {"rainy days", "When It Rains", {"Rainy days can feel calm and slow.", "Rain helps plants and trees grow.", "People carry umbrellas when it rains.", "Children like to jump in puddles."}},
    {"coffee", "A Warm Cup", {"Coffee is made from roasted beans.", "Many people drink coffee in the morning.", "It can help you feel awake.", "Some people like it with milk."}},
    {"gardening", "Life in the Garden", {"Gardening means growing plants at home.", "Seeds need water and sun to grow.", "A garden can give you fresh food.", "Working with soil can be relaxing."}},
    {"the moon", "Our Moon", {"The moon moves around the earth.", "It shines because it reflects sunlight.", "The moon changes shape during the month.", "People first walked on the moon long ago."}},
    {"dogs", "Best Friends", {"Dogs are loyal and friendly animals.", "They need walks and play every day.", "Many dogs learn simple tricks.", "A dog can be a great friend."}},
    {"libraries", "A Place for Books", {"A library lends books for free.", "People go there to read and study.", "Libraries are quiet and calm.", "Many libraries also have computers."}},
    {"mountains", "Above the Clouds", {"Mountains are tall and rocky.", "The air is cold near the top.", "Many people enjoy hiking in the hills.", "Snow can stay on high peaks all year."}},
    {"cooking at home", "Home Cooking", {"Cooking at home can save money.", "You can choose fresh and healthy food.", "Simple meals are easy to learn.", "Cooking with friends is a lot of fun."}},
    {"trains", "On the Rails", {"Trains run on long steel rails.", "They can carry many people at once.", "Train trips let you watch the land go by.", "Some trains are very fast."}},
    {"music", "The Sound of Music", {"Music is part of every culture.", "People play songs to relax.", "Learning an instrument takes practice.", "A good song can lift your mood."}},
    {"the desert", "Sand and Sun", {"A desert gets very little rain.", "Days can be hot and nights can be cold.", "Cactus plants store water.", "Some animals rest in the shade all day."}},
    {"honey bees", "Busy Bees", {"Honey bees live in large groups.", "They visit flowers to collect nectar.", "Bees help plants make fruit.", "They turn nectar into honey."}},
    {"winter mornings", "Cold Mornings", {"Winter mornings are dark and cold.", "Frost can cover the grass.", "A warm drink helps on a cold day.", "Some people love the quiet of snow."}},
    {"chess", "The Game of Kings", {"Chess is a game for two players.", "Each side starts with sixteen pieces.", "The goal is to trap the king.", "Good players think many moves ahead."}},
    {"the city park", "A Green Place", {"A park gives a city some green space.", "People walk and play there.", "Trees in the park give cool shade.", "Parks are a good place to meet friends."}},
    {"recycling", "Use It Again", {"Recycling turns old things into new ones.", "Paper and glass can be recycled.", "It helps keep the land clean.", "Sorting waste at home is easy."}},
    {"volcanoes", "Fire Mountains", {"A volcano is an opening in the ground.", "Hot rock called lava can flow out.", "Some volcanoes sleep for many years.", "Ash from a volcano can travel far."}},
    {"learning a language", "New Words", {"Learning a language opens new doors.", "Practice a little every day.", "Listening to songs can help.", "Mistakes are a normal part of learning."}},
    {"the night sky", "Look Up", {"The night sky is full of stars.", "Some bright dots are planets.", "A clear night is best for looking up.", "People have named groups of stars."}},
    {"bread", "Fresh Bread", {"Bread is made from flour and water.", "Yeast makes the dough rise.", "Fresh bread smells very good.", "Many countries have their own bread."}},
    {"soccer", "The Beautiful Game", {"Soccer is played by two teams.", "Players kick a ball into a goal.", "It is the most popular sport in the world.", "A match lasts ninety minutes."}},
    {"rivers", "Running Water", {"A river carries water to the sea.", "Many towns grew near rivers.", "Rivers give homes to fish and birds.", "Some rivers are very long."}},
};

const char* const kForms[] = {"Write a short paragraph about {}.", "Tell me about {}.", "Write a short note about {}.",
                              "Describe {} in a few sentences.", "Write a short blog post about {}.", "Explain why people like {}."};
const char* const kKeywords[] = {"sunshine", "journey", "balance", "lantern", "harvest", "puzzle", "compass", "ribbon",
                                 "meadow", "whistle", "courage", "festival", "blanket", "pebble", "rhythm", "orchard"};
const char* const kForbidden[] = {"money", "danger", "politics", "computer", "secret", "price", "war", "taxes",
                                  "phone", "office", "engine", "robot"};
const char* const kEndPhrases[] = {"Is there anything else I can help with?", "Any other questions?",
                                   "Let me know if you have additional questions.", "Hope this helps."};
const char* const kPostscripts[] = {"P.S. Thank you for reading.", "P.S. I hope you enjoyed this.", "P.S. Have a great day."};
const char* const kPlaceholders[] = {"[name]", "[address]", "[date]"};

enum Id {
  Lowercase, Capital, NoComma, Title, EndChecker, Quotation, Existence, Forbidden, NumberWords, Postscript,
  Bullets, Highlights, Placeholders, Json, kIdCount
};
const char* const kIdNames[kIdCount] = {
    "change_case:english_lowercase", "change_case:english_capital", "punctuation:no_comma", "detectable_format:title",
    "startend:end_checker", "startend:quotation", "keywords:existence", "keywords:forbidden_words",
    "length_constraints:number_words", "detectable_content:postscript", "detectable_format:number_bullet_lists",
    "detectable_format:number_highlighted_sections", "detectable_content:number_placeholders",
    "detectable_format:json_format"};

bool conflicts(Id a, Id b) {
  auto pair = [&](Id x, Id y) { return (a == x && b == y) || (a == y && b == x); };
  return a == b || a == Json || b == Json || pair(Lowercase, Capital) || pair(Bullets, Highlights) ||
         pair(Bullets, Quotation) || pair(Postscript, EndChecker);
}

// Whole-word, case-insensitive search (the forbidden-words check).
bool has_word(const std::string& text, const std::string& word) {
  std::string lower = text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t pos = lower.find(word); pos != std::string::npos; pos = lower.find(word, pos + 1)) {
    bool left = pos == 0 || !is_word(lower[pos - 1]);
    bool right = pos + word.size() >= lower.size() || !is_word(lower[pos + word.size()]);
    if (left && right) return true;
  }
  return false;
}

// Words as the checker counts them (runs of \w).
int64_t count_words(const std::string& text) {
  int64_t n = 0;
  bool in = false;
  for (char c : text) {
    bool w = std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    if (w && !in) ++n;
    in = w;
  }
  return n;
}

template <size_t N>
std::vector<std::string> pick_distinct(Rng& rng, const char* const (&pool)[N], size_t count) {
  std::vector<std::string> out;
  while (out.size() < count) {
    std::string w = pool[rng.below(N)];
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  }
  return out;
}

std::string quoted_list(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) out += (i ? ", " : "") + words[i];
  return out;
}

}  // namespace

std::vector<std::string> ifeval_ids_used() { return {std::begin(kIdNames), std::end(kIdNames)}; }

IfevalItem make_ifeval_item(Rng& rng) {
  for (;;) {
    const Topic& topic = kTopics[rng.below(std::size(kTopics))];
    size_t want = rng.below(10) < 5 ? 1 : rng.below(5) < 4 ? 2 : 3;
    std::vector<Id> ids;
    for (int tries = 0; ids.size() < want && tries < 50; ++tries) {
      Id id = static_cast<Id>(rng.below(kIdCount));
      if (std::none_of(ids.begin(), ids.end(), [&](Id other) { return conflicts(id, other); })) ids.push_back(id);
    }
    auto has = [&](Id id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); };

    IfevalItem item;
    std::vector<nlohmann::ordered_json> kwargs(ids.size(), nlohmann::ordered_json::object());
    auto slot = [&](Id id) -> nlohmann::ordered_json& { return kwargs[std::find(ids.begin(), ids.end(), id) - ids.begin()]; };
    std::vector<std::string> plan{fmt::format("I will write about {}.", topic.name)};

    // Content: 3-4 of the topic's sentences, in order.
    size_t count = 3 + rng.below(2), first = rng.below(5 - count);
    std::vector<std::string> sentences(topic.sentences + first, topic.sentences + first + count);
    if (has(Highlights)) {
      int64_t n = 1 + static_cast<int64_t>(rng.below(std::min<size_t>(3, count)));
      for (int64_t i = 0; i < n; ++i) sentences[i] = "*" + sentences[i] + "*";
      slot(Highlights)["num_highlights"] = n;
      plan.push_back(fmt::format("Highlight at least {} {} with asterisks.", n, n == 1 ? "section" : "sections"));
    }
    std::string text;
    if (has(Bullets)) {
      for (size_t i = 0; i < sentences.size(); ++i) text += (i ? "\n* " : "* ") + sentences[i];
      slot(Bullets)["num_bullets"] = static_cast<int64_t>(sentences.size());
      plan.push_back(fmt::format("Use exactly {} bullet points.", sentences.size()));
    } else {
      for (size_t i = 0; i < sentences.size(); ++i) text += (i ? " " : "") + sentences[i];
    }
    std::vector<std::string> keywords;
    if (has(Existence)) {
      keywords = pick_distinct(rng, kKeywords, 1 + rng.below(2));
      text += "\n" + (keywords.size() == 1 ? fmt::format("This also brings to mind {}.", keywords[0])
                                           : fmt::format("This also brings to mind {} and {}.", keywords[0], keywords[1]));
      slot(Existence)["keywords"] = keywords;
      plan.push_back(fmt::format("Include the words {}.", fmt::join(keywords, " and ")));
    }
    if (has(Placeholders)) {
      size_t n = 1 + rng.below(3);
      std::vector<std::string> marks(kPlaceholders, kPlaceholders + n);
      text += "\nWritten by " + fmt::format("{}", fmt::join(marks, " on ")) + ".";
      slot(Placeholders)["num_placeholders"] = static_cast<int64_t>(n);
      plan.push_back(fmt::format("Include at least {} {} in square brackets.", n, n == 1 ? "placeholder" : "placeholders"));
    }
    if (has(Title)) {
      text = fmt::format("<<{}>>\n\n{}", topic.title, text);
      plan.push_back("Add a title in double angular brackets.");
    }
    if (has(Postscript)) {
      text += "\n\n" + std::string(kPostscripts[rng.below(std::size(kPostscripts))]);
      slot(Postscript)["postscript_marker"] = "P.S.";
      plan.push_back("Add a postscript starting with P.S. at the end.");
    }
    std::string end_phrase;
    if (has(EndChecker)) {
      end_phrase = kEndPhrases[rng.below(std::size(kEndPhrases))];
      text += "\n\n" + end_phrase;
      slot(EndChecker)["end_phrase"] = end_phrase;
      plan.push_back(fmt::format("End with the exact phrase \"{}\".", end_phrase));
    }
    if (has(NoComma)) {
      std::erase(text, ',');
      plan.push_back("Do not use any commas.");
    }
    if (has(Lowercase)) {
      for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      plan.push_back("Use only lowercase letters.");
    }
    if (has(Capital)) {
      for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      plan.push_back("Use only capital letters.");
    }
    if (has(Json)) {
      text = "```json\n{\n  \"text\": " + nlohmann::json(text).dump() + "\n}\n```";
      plan.push_back("Wrap the whole answer in JSON.");
    }
    if (has(NumberWords)) {
      int64_t words = count_words(text);
      nlohmann::ordered_json& kw = slot(NumberWords);
      if (rng.below(2) == 0) {
        int64_t n = std::max<int64_t>(5, words * 4 / 5 / 5 * 5);
        n = std::min(n, words);
        kw["relation"] = "at least";
        kw["num_words"] = n;
        plan.push_back(fmt::format("Use at least {} words.", n));
      } else {
        int64_t n = (words * 6 / 5 / 10 + 1) * 10;
        kw["relation"] = "less than";
        kw["num_words"] = n;
        plan.push_back(fmt::format("Use fewer than {} words.", n));
      }
    }
    std::vector<std::string> forbidden;
    if (has(Forbidden)) {
      forbidden = pick_distinct(rng, kForbidden, 2);
      slot(Forbidden)["forbidden_words"] = forbidden;
      plan.push_back(fmt::format("Avoid the words {}.", fmt::join(forbidden, " and ")));
      if (std::any_of(forbidden.begin(), forbidden.end(), [&](const std::string& w) { return has_word(text, w); })) continue;
    }
    if (has(Quotation)) {
      text = "\"" + text + "\"";
      plan.push_back("Wrap the whole response in double quotation marks.");
    }

    // The request, then one sentence per instruction (phrased as IFEval's prompts are).
    std::string prompt = fmt::format(fmt::runtime(kForms[rng.below(std::size(kForms))]), topic.name);
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto& kw = kwargs[i];
      switch (ids[i]) {
        case Lowercase: prompt += " Your entire response should be in English, and in all lowercase letters. No capital letters are allowed."; break;
        case Capital: prompt += " Your entire response should be in English, and in all capital letters."; break;
        case NoComma: prompt += rng.below(2) ? " Do not include any commas in your response." : " You are not allowed to use any commas in your response."; break;
        case Title: prompt += fmt::format(" Your answer must contain a title, wrapped in double angular brackets, such as <<{}>>.", "my title"); break;
        case EndChecker: prompt += fmt::format(" Finish your response with this exact phrase \"{}\". No other words should follow this phrase.", end_phrase); break;
        case Quotation: prompt += " Wrap your entire response with double quotation marks."; break;
        case Existence: prompt += fmt::format(" Include keywords {} in the response.", quoted_list(keywords)); break;
        case Forbidden: prompt += fmt::format(" Do not include keywords {} in the response.", quoted_list(forbidden)); break;
        case NumberWords: prompt += fmt::format(" Answer with {} {} words.", kw["relation"].get<std::string>(), kw["num_words"].get<int64_t>()); break;
        case Postscript: prompt += " At the end of your response, please explicitly add a postscript starting with P.S."; break;
        case Bullets: prompt += fmt::format(" Your answer must contain exactly {} bullet points. Use the markdown bullet points such as:\n* This is point 1.\n* This is point 2", kw["num_bullets"].get<int64_t>()); break;
        case Highlights: prompt += fmt::format(" Highlight at least {} sections in your answer with markdown, i.e. *highlighted section*.", kw["num_highlights"].get<int64_t>()); break;
        case Placeholders: prompt += fmt::format(" The response must contain at least {} placeholders represented by square brackets, such as [address].", kw["num_placeholders"].get<int64_t>()); break;
        case Json: prompt += " Entire output should be wrapped in JSON format. You can use markdown ticks such as ```."; break;
        case kIdCount: break;
      }
    }
    item.prompt = std::move(prompt);
    for (size_t i = 0; i < ids.size(); ++i) {
      item.instruction_ids.push_back(kIdNames[ids[i]]);
      item.kwargs.push_back(std::move(kwargs[i]));
    }
    for (size_t i = 0; i < plan.size(); ++i) item.plan += (i ? "\n" : "") + plan[i];
    item.response = std::move(text);
    return item;
  }
}

}  // namespace tt::synth
