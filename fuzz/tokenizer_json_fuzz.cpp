// tokenizer.json loading, then encoding and decoding a fixed text with whatever loaded.
#include "core/error.h"
#include "fuzz/fuzz_input.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tt::fuzz::write_input(data, size, "tokenizer.json");
  try {
    tt::Tokenizer tokenizer = tt::Tokenizer::load_json(path);
    auto ids = tokenizer.encode("Hello, world! 123 <|eot_id|> \xc3\xa9\xe4\xb8\xad", true);
    tokenizer.decode(ids);
  } catch (const tt::Error&) {
  }
  return 0;
}
