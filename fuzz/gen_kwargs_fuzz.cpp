// lm-eval's --gen_kwargs as tinythink reads it: key=value items with Python literals, or a JSON
// object; every input gives GenKwargs or a tt::Error, never a crash, a hang or a stack overflow.
#include <string>

#include "core/error.h"
#include "eval/gen_kwargs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const tt::eval::GenKwargs g = tt::eval::parse_gen_kwargs(text);
    tt::eval::GenerationDefaults defaults;
    (void)tt::eval::generation_json(tt::eval::effective_generation(defaults, g), g);
  } catch (const tt::Error&) {
  }
  return 0;
}
