// Chat templates are untrusted code: lexer, parser and evaluator on arbitrary source, rendered
// with a small conversation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "text/jinja.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json variables = nlohmann::ordered_json::parse(R"({
    "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "2+2?"},
                 {"role": "assistant", "content": "4"}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "tools": null})");
  try {
    tt::jinja::Template tmpl(std::string(reinterpret_cast<const char*>(data), size), "fuzz.jinja");
    tmpl.render(variables);
  } catch (const tt::Error&) {
  }
  return 0;
}
