// tiktoken tokenizer.model loading ("base64 rank" lines), then encoding and decoding a fixed text.
#include "core/error.h"
#include "fuzz/fuzz_input.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tt::fuzz::write_input(data, size, "tokenizer.model");
  try {
    tt::Tokenizer tokenizer = tt::Tokenizer::load_tiktoken(path);
    auto ids = tokenizer.encode("Hello, world! 123 \xc3\xa9", false);
    tokenizer.decode(ids);
  } catch (const tt::Error&) {
  }
  return 0;
}
