// Arithmetic word problems in the spirit of GSM8K, small enough for a micro model: a start amount
// and 1-3 operations (+, -, *, exact /), each written as one sentence of the question and one line
// of the worked solution, in the same order.
#include <fmt/format.h>

#include "study/synthetic_tasks.h"

namespace tt::synth {

namespace {

struct Person {
  const char* name;
  bool she;
};
const Person kPeople[] = {{"Mia", true},   {"Leo", false},  {"Ava", true},   {"Noah", false}, {"Emma", true},
                          {"Liam", false}, {"Zoe", true},   {"Omar", false}, {"Lily", true},  {"Sam", false},
                          {"Nora", true},  {"Ben", false},  {"Ruby", true},  {"Jack", false}, {"Maya", true},
                          {"Eli", false},  {"Sara", true},  {"Tom", false},  {"Anna", true},  {"Max", false},
                          {"Ivy", true},   {"Owen", false}, {"Rosa", true},  {"Dan", false}};

struct Thing {
  const char* plural;
  const char* container;   // singular
  const char* containers;  // plural
};
const Thing kThings[] = {{"pencils", "box", "boxes"},     {"apples", "basket", "baskets"}, {"marbles", "bag", "bags"},
                         {"cookies", "jar", "jars"},      {"stickers", "sheet", "sheets"}, {"books", "shelf", "shelves"},
                         {"cards", "deck", "decks"},      {"shells", "bucket", "buckets"}, {"stamps", "album", "albums"},
                         {"crayons", "box", "boxes"},     {"eggs", "carton", "cartons"},   {"beads", "jar", "jars"},
                         {"coins", "purse", "purses"},    {"flowers", "vase", "vases"},    {"candies", "bag", "bags"},
                         {"balloons", "pack", "packs"},   {"oranges", "crate", "crates"},  {"cupcakes", "tray", "trays"},
                         {"buttons", "tin", "tins"},      {"toy cars", "box", "boxes"}};

int64_t uniform(Rng& rng, int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1))); }

std::string cap(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

}  // namespace

ArithmeticProblem make_arithmetic_problem(Rng& rng, const ArithmeticOptions& o) {
  const Person& hero = kPeople[rng.below(std::size(kPeople))];
  const Person* other = &kPeople[rng.below(std::size(kPeople))];
  while (other == &hero) other = &kPeople[rng.below(std::size(kPeople))];
  const Thing& thing = kThings[rng.below(std::size(kThings))];
  const std::string he = hero.she ? "she" : "he", him = hero.she ? "her" : "him", He = cap(he);
  const int64_t max_number = std::max<int64_t>(o.max_number, 3), max_factor = std::max<int64_t>(o.max_factor, 2);

  double total = o.weight_1 + o.weight_2 + o.weight_3, u = rng.uniform() * total;
  int ops = u < o.weight_1 ? 1 : u < o.weight_1 + o.weight_2 ? 2 : 3;

  ArithmeticProblem p;
  std::string& q = p.question;
  auto step = [&](char op, int64_t a, int64_t b, int64_t r, std::string description) {
    p.steps.push_back({op, a, b, r, std::move(description)});
    return r;
  };
  int64_t value;
  if (rng.below(4) == 0) {  // the start amount is itself a product
    int64_t n = uniform(rng, 2, max_factor), k = uniform(rng, 2, max_factor);
    q += fmt::format("{} has {} {} of {}. Each {} holds {} {}. ", hero.name, n, thing.containers, thing.plural, thing.container, k, thing.plural);
    value = step('*', n, k, n * k, fmt::format("{} {} with {} each", n, thing.containers, k));
    --ops;
  } else {
    value = uniform(rng, 2, max_number);
    q += fmt::format("{} has {} {}. ", hero.name, value, thing.plural);
  }
  std::string ask = fmt::format("How many {} does {} have now?", thing.plural, hero.name);
  while (ops > 0) {
    // Divisors d with value / d >= 2, for an exact share as the last step.
    std::vector<int64_t> divisors;
    for (int64_t d = 2; d <= max_factor; ++d) {
      if (value % d == 0 && value / d >= 2) divisors.push_back(d);
    }
    enum { Add, Sub, Times, Packs, Share } kind;
    for (;;) {
      kind = static_cast<decltype(kind)>(rng.below(5));
      if (kind == Sub && value < 3) continue;
      if (kind == Times && value > 4 * max_number) continue;
      if (kind == Packs && ops < 2) continue;
      if (kind == Share && (ops != 1 || divisors.empty())) continue;
      break;
    }
    switch (kind) {
      case Add: {
        int64_t b = uniform(rng, 1, max_number);
        switch (rng.below(3)) {
          case 0: q += fmt::format("{} buys {} more {}. ", He, b, thing.plural); break;
          case 1: q += fmt::format("{} gives {} {} more {}. ", other->name, him, b, thing.plural); break;
          default: q += fmt::format("Then {} finds {} more {}. ", he, b, thing.plural); break;
        }
        value = step('+', value, b, value + b, fmt::format("{} gets {} more", He, b));
        break;
      }
      case Sub: {
        int64_t b = uniform(rng, 1, std::min(value - 1, max_number));
        switch (rng.below(3)) {
          case 0: q += fmt::format("{} gives {} {} to {}. ", He, b, thing.plural, other->name); break;
          case 1: q += fmt::format("{} loses {} {}. ", He, b, thing.plural); break;
          default: q += fmt::format("Then {} uses {} of the {}. ", he, b, thing.plural); break;
        }
        value = step('-', value, b, value - b, fmt::format("{} has {} fewer", He, b));
        break;
      }
      case Times: {
        int64_t k = uniform(rng, 2, 3);
        q += fmt::format("Then the number of {} {} has {}. ", thing.plural, he, k == 2 ? "doubles" : "triples");
        value = step('*', value, k, value * k, fmt::format("The amount {}", k == 2 ? "doubles" : "triples"));
        break;
      }
      case Packs: {
        int64_t n = uniform(rng, 2, max_factor), k = uniform(rng, 2, max_factor);
        q += fmt::format("{} buys {} {} with {} {} in each. ", He, n, thing.containers, k, thing.plural);
        int64_t bought = step('*', n, k, n * k, fmt::format("{} {} of {}", n, thing.containers, k));
        value = step('+', value, bought, value + bought, fmt::format("{} adds them", He));
        --ops;
        break;
      }
      case Share: {
        int64_t d = divisors[rng.below(divisors.size())];
        if (rng.below(2) == 0) {
          q += fmt::format("{} shares the {} equally among {} friends. ", He, thing.plural, d);
          ask = fmt::format("How many {} does each friend get?", thing.plural);
          value = step('/', value, d, value / d, "Each friend gets");
        } else {
          q += fmt::format("{} puts all the {} into {} with {} in each. ", He, thing.plural, thing.containers, d);
          ask = fmt::format("How many {} does {} fill?", thing.containers, he);
          value = step('/', value, d, value / d, fmt::format("{} fills", He));
        }
        break;
      }
    }
    --ops;
  }
  q += ask;
  p.answer = value;
  return p;
}

std::string arithmetic_trace(const ArithmeticProblem& p) {
  std::string out;
  for (const auto& s : p.steps) {
    if (!out.empty()) out += '\n';
    out += fmt::format("{}: {} {} {} = {}.", s.description, s.a, s.op, s.b, s.result);
  }
  return out;
}

std::string arithmetic_gsm8k_answer(const ArithmeticProblem& p) {
  std::string out;
  for (const auto& s : p.steps) {
    out += fmt::format("{}: {} {} {} = <<{}{}{}={}>>{}.\n", s.description, s.a, s.op, s.b, s.a, s.op, s.b, s.result, s.result);
  }
  return out + fmt::format("#### {}", p.answer);
}

std::string answer_sentence(const std::string& answer) {
  if (answer.find_first_of("{}") != std::string::npos) return "The answer is " + answer + ".";
  return "The answer is \\boxed{" + answer + "}.";
}

}  // namespace tt::synth
