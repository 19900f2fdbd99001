// lm-eval's --gen_kwargs over a task's generation defaults, and the generation arguments written into
// samples files. Accepted as lm-eval (0.4.10 and later) accepts it:
//   "temperature=0.6,top_p=0.95,max_gen_toks=1024,do_sample=true"   key=value items; a value is
//       true/false, a number, a Python literal (a quoted string, a list of strings: until=["\n\n"]) or
//       else the text as given
//   '{"temperature": 0.6, "until": ["Q:", "\n\n"]}'                  one JSON object
// tinythink's own form of a stop list, until=a|b (a bare value), still splits on '|'.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/task.h"

namespace tt::eval {

struct GenKwargs {
  std::optional<bool> do_sample;
  std::optional<double> temperature, top_p, min_p, repetition_penalty, presence_penalty, frequency_penalty;
  std::optional<int64_t> top_k, max_gen_toks, min_tokens;  // min_tokens and the penalties: vLLM's, passed through
  std::optional<uint64_t> seed;  // the base of each document's seed (eval's --seed otherwise)
  std::optional<std::vector<std::string>> until;
};

// Unknown keys and bad values fail with a one-line error naming the item. max_gen_toks' aliases are
// taken by lm-eval's priority: max_gen_toks > max_new_tokens > max_tokens > max_completion_tokens.
GenKwargs parse_gen_kwargs(const std::string& text);

// The keys given, in GenKwargs' order (max_gen_toks for any of its aliases).
std::vector<std::string> given_keys(const GenKwargs& g);

// Task defaults, then --gen-kwargs merged over them, then lm-eval's normalize_gen_kwargs: do_sample
// false means greedy (temperature 0) even when a temperature was given, as lm-eval 0.4.10 and later
// (0.4.9 and earlier sampled at that temperature).
GenerationDefaults effective_generation(GenerationDefaults d, const GenKwargs& g);
// The warning lm-eval prints in that case ("" when there is none).
std::string greedy_override_warning(const GenerationDefaults& task_defaults, const GenKwargs& g);

// The generation arguments as lm-eval writes them (samples' arguments.gen_args_0.arg_1).
nlohmann::ordered_json generation_json(const GenerationDefaults& d, const GenKwargs& g);

}  // namespace tt::eval
