// lm-eval's --gen_kwargs ("temperature=0.6,top_p=0.95,max_gen_toks=1024,do_sample=true") over a
// task's generation defaults, and the generation arguments written into samples files.
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
  std::optional<double> temperature, top_p;
  std::optional<int64_t> top_k, max_gen_toks;
  std::optional<std::vector<std::string>> until;
};

// "key=value,key=value"; `until` takes '|'-separated strings. Unknown keys and bad values fail.
GenKwargs parse_gen_kwargs(const std::string& text);

// Task defaults, then --gen-kwargs (lm-eval: a temperature > 0 without do_sample turns sampling on).
GenerationDefaults effective_generation(GenerationDefaults d, const GenKwargs& g);

// The generation arguments as lm-eval writes them (samples' arguments.gen_args_0.arg_1).
nlohmann::ordered_json generation_json(const GenerationDefaults& d, const GenKwargs& g);

}  // namespace tt::eval
