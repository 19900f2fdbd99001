// Four BIG-Bench Hard tasks regenerated with correct targets, inputs written as BBH writes them.
#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "study/synthetic_tasks.h"

namespace tt::synth {

namespace {

int64_t uniform(Rng& rng, int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1))); }
const char* bool_name(bool v) { return v ? "True" : "False"; }

// ---- boolean_expressions: expr := term (or term)*, term := factor (and factor)*,
// factor := not factor | True | False | ( expr ). Evaluated as it is generated; each
// operation is one trace line.
struct BoolGen {
  Rng& rng;
  int constants_left;
  std::vector<std::string> trace;

  std::pair<std::string, bool> factor(int depth) {
    uint64_t r = rng.below(10);
    if (r < 3) {
      auto [text, v] = factor(depth + 1);
      trace.push_back(fmt::format("not {} = {}", bool_name(v), bool_name(!v)));
      return {"not " + text, !v};
    }
    if (r < 5 && depth < 2 && constants_left >= 2) {
      auto [text, v] = expr(depth + 1);
      return {"( " + text + " )", v};
    }
    --constants_left;
    bool v = rng.below(2) == 0;
    return {bool_name(v), v};
  }
  std::pair<std::string, bool> term(int depth) {
    auto [text, v] = factor(depth);
    while (constants_left > 0 && rng.below(2) == 0) {
      auto [rhs, w] = factor(depth);
      trace.push_back(fmt::format("{} and {} = {}", bool_name(v), bool_name(w), bool_name(v && w)));
      text += " and " + rhs;
      v = v && w;
    }
    return {text, v};
  }
  std::pair<std::string, bool> expr(int depth) {
    auto [text, v] = term(depth);
    while (constants_left > 0 && rng.below(3) != 0) {
      auto [rhs, w] = term(depth);
      trace.push_back(fmt::format("{} or {} = {}", bool_name(v), bool_name(w), bool_name(v || w)));
      text += " or " + rhs;
      v = v || w;
    }
    return {text, v};
  }
};

BbhItem boolean_expressions(Rng& rng) {
  BoolGen gen{rng, static_cast<int>(uniform(rng, 2, 4)), {}};
  auto [text, value] = gen.expr(0);
  BbhItem item;
  item.input = text + " is";
  item.target = bool_name(value);
  for (const auto& line : gen.trace) item.trace += line + "\n";
  item.trace += fmt::format("The expression is {}.", item.target);
  return item;
}

// ---- object_counting
struct Noun {
  const char* singular;
  const char* plural;
};
struct Category {
  const char* question;  // "musical instruments"
  std::vector<Noun> nouns;
};
const std::vector<Category>& categories() {
  static const std::vector<Category> table = {
      {"musical instruments", {{"piano", "pianos"}, {"flute", "flutes"}, {"trumpet", "trumpets"}, {"violin", "violins"},
                               {"drum", "drums"}, {"clarinet", "clarinets"}, {"trombone", "trombones"}, {"accordion", "accordions"}}},
      {"fruits", {{"apple", "apples"}, {"banana", "bananas"}, {"strawberry", "strawberries"}, {"peach", "peaches"},
                  {"orange", "oranges"}, {"plum", "plums"}, {"raspberry", "raspberries"}, {"grape", "grapes"},
                  {"nectarine", "nectarines"}, {"blackberry", "blackberries"}}},
      {"vegetables", {{"carrot", "carrots"}, {"potato", "potatoes"}, {"onion", "onions"}, {"cabbage", "cabbages"},
                      {"yam", "yams"}, {"garlic", "garlics"}, {"stalk of celery", "stalks of celery"},
                      {"head of broccoli", "heads of broccoli"}, {"cauliflower", "cauliflowers"}}},
      {"animals", {{"cat", "cats"}, {"dog", "dogs"}, {"rabbit", "rabbits"}, {"goat", "goats"}, {"cow", "cows"},
                   {"pig", "pigs"}, {"snake", "snakes"}, {"donkey", "donkeys"}, {"mouse", "mice"}, {"frog", "frogs"},
                   {"duck", "ducks"}, {"chicken", "chickens"}, {"bear", "bears"}, {"snail", "snails"}}},
      {"objects", {{"chair", "chairs"}, {"table", "tables"}, {"bed", "beds"}, {"couch", "couches"}, {"lamp", "lamps"},
                   {"stove", "stoves"}, {"oven", "ovens"}, {"microwave", "microwaves"}, {"fridge", "fridges"},
                   {"car", "cars"}, {"toaster", "toasters"}}},
  };
  return table;
}

std::string counted(const Noun& noun, int64_t n) {
  static const char* const words[] = {"", "", "two", "three", "four", "five"};
  if (n > 1) return fmt::format("{} {}", words[n], noun.plural);
  char c = noun.singular[0];
  bool vowel = c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
  return fmt::format("{} {}", vowel ? "an" : "a", noun.singular);
}

BbhItem object_counting(Rng& rng) {
  const auto& table = categories();
  size_t asked = rng.below(table.size());
  struct Entry {
    const Noun* noun;
    int64_t count;
    bool counts;
  };
  std::vector<Entry> entries;
  size_t distractors = table[asked].question == std::string("objects") ? 0 : rng.below(3);
  // At most as many asked-for entries as the category has nouns (entries name distinct nouns).
  size_t total_entries = std::min(static_cast<size_t>(uniform(rng, 2, 9)), table[asked].nouns.size() + distractors);
  auto used = [&](const Noun* n) { return std::any_of(entries.begin(), entries.end(), [&](const Entry& e) { return e.noun == n; }); };
  while (entries.size() < total_entries) {
    bool distract = entries.size() + distractors >= total_entries;
    size_t cat = asked;
    if (distract) {
      do cat = rng.below(table.size());
      while (cat == asked);
    }
    const auto& nouns = table[cat].nouns;
    const Noun* noun = &nouns[rng.below(nouns.size())];
    if (used(noun)) continue;
    int64_t count = rng.below(3) == 0 ? uniform(rng, 2, 5) : 1;
    entries.push_back({noun, count, cat == asked});
  }
  // Shuffle so distractors are not always last.
  for (size_t i = entries.size(); i > 1; --i) std::swap(entries[i - 1], entries[rng.below(i)]);
  if (std::none_of(entries.begin(), entries.end(), [](const Entry& e) { return e.counts; })) return object_counting(rng);

  BbhItem item;
  item.input = "I have ";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i) item.input += entries.size() == 2 ? " and " : (i + 1 == entries.size() ? ", and " : ", ");
    item.input += counted(*entries[i].noun, entries[i].count);
  }
  item.input += fmt::format(". How many {} do I have?", table[asked].question);
  int64_t total = 0;
  std::string sum;
  for (const auto& e : entries) {
    if (!e.counts) continue;
    item.trace += fmt::format("{}: {}\n", e.count == 1 ? e.noun->singular : e.noun->plural, e.count);
    sum += (sum.empty() ? "" : " + ") + std::to_string(e.count);
    total += e.count;
  }
  item.trace += fmt::format("Total: {} = {}.", sum, total);
  item.target = std::to_string(total);
  return item;
}

// ---- word_sorting
const char* const kWords[] = {
    "anchor", "badge", "canyon", "delta", "ember", "fabric", "gallon", "harbor", "igloo", "jacket", "kettle", "ladder",
    "magnet", "needle", "oyster", "pepper", "quartz", "rocket", "saddle", "tunnel", "umpire", "velvet", "walnut", "yogurt",
    "zipper", "almond", "bishop", "cactus", "dragon", "engine", "falcon", "garlic", "hammer", "island", "jungle", "kitten",
    "lemon", "marble", "napkin", "orbit", "parrot", "quiver", "rabbit", "salmon", "timber", "uncle", "vessel", "window",
    "yellow", "zebra", "acorn", "bottle", "candle", "donkey", "eagle", "feather", "goblet", "helmet", "insect", "jigsaw",
    "kennel", "locket", "mirror", "nutmeg", "otter", "pillow", "quilt", "ribbon", "spider", "turnip", "unicorn", "violin",
    "wizard", "yarn", "zinc", "arrow", "basket", "cereal", "dentist", "elbow", "forest", "guitar", "hollow", "inkwell",
    "jester", "koala", "lizard", "muffin", "nectar", "onion", "pirate", "quarry", "radish", "sponge", "tomato", "utensil",
    "valley", "wagon", "yodel", "zigzag", "cobalt", "bronze", "cinder", "dune", "fossil", "glacier", "hazel", "ivory",
    "juniper", "kiwi", "lagoon", "meadow", "nomad", "opal", "pebble", "raven", "summit", "thistle", "tulip", "willow",
    "beacon", "bramble", "cradle", "drizzle", "estuary", "fiddle", "gravel", "harvest", "lantern", "mosaic", "nickel",
    "paddle", "pretzel", "riddle", "scarf", "sketch", "tangle", "tripod", "vapor", "whisker", "wrench", "crater",
};

BbhItem word_sorting(Rng& rng) {
  size_t n = static_cast<size_t>(uniform(rng, 3, 10));
  std::vector<std::string> words;
  while (words.size() < n) {
    std::string w = kWords[rng.below(std::size(kWords))];
    if (std::find(words.begin(), words.end(), w) == words.end()) words.push_back(w);
  }
  BbhItem item;
  item.input = "Sort the following words alphabetically: List:";
  for (const auto& w : words) item.input += " " + w;
  std::sort(words.begin(), words.end());
  for (size_t i = 0; i < words.size(); ++i) {
    item.target += (i ? " " : "") + words[i];
    item.trace += fmt::format("{}{} ({})", i ? "\n" : "", words[i], words[i][0]);
  }
  return item;
}

// ---- dyck_languages: a random prefix of a balanced sequence; the target closes it.
BbhItem dyck_languages(Rng& rng) {
  static const char open[] = "([{<", close[] = ")]}>";
  int64_t length = uniform(rng, 3, 16);
  std::vector<int> stack;
  std::vector<char> sequence;
  for (int64_t i = 0; i < length || stack.empty(); ++i) {
    bool push = stack.empty() || (stack.size() < 6 && rng.below(5) < 3);
    if (push) {
      int kind = static_cast<int>(rng.below(4));
      stack.push_back(kind);
      sequence.push_back(open[kind]);
    } else {
      sequence.push_back(close[stack.back()]);
      stack.pop_back();
    }
  }
  BbhItem item;
  item.input = "Complete the rest of the sequence, making sure that the parentheses are closed properly. Input:";
  for (char c : sequence) item.input += std::string(" ") + c;
  std::string open_now;
  for (int kind : stack) open_now += std::string(open_now.empty() ? "" : " ") + open[kind];
  for (size_t i = stack.size(); i > 0; --i) item.target += std::string(i == stack.size() ? "" : " ") + close[stack[i - 1]];
  item.trace = fmt::format("Still open: {}\nClose them in reverse order: {}", open_now, item.target);
  return item;
}

}  // namespace

std::string bbh_description(const std::string& task) {
  if (task == "boolean_expressions") return "Evaluate the result of a random Boolean expression.";
  if (task == "object_counting") return "Questions that involve enumerating objects and asking the model to count them.";
  if (task == "word_sorting") return "Sort a list of words.";
  if (task == "dyck_languages") return "Correctly close a Dyck-n word.";
  fail("synth: no description for BBH task '{}'", task);
}

const std::vector<std::string>& bbh_task_names() {
  static const std::vector<std::string> names = {"boolean_expressions", "object_counting", "word_sorting", "dyck_languages"};
  return names;
}

BbhItem make_bbh_item(const std::string& task, Rng& rng) {
  if (task == "boolean_expressions") return boolean_expressions(rng);
  if (task == "object_counting") return object_counting(rng);
  if (task == "word_sorting") return word_sorting(rng);
  if (task == "dyck_languages") return dyck_languages(rng);
  fail("synthetic BBH: unknown task '{}'", task);
}

}  // namespace tt::synth
