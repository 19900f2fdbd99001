// The engine's response cache files (infer/response_cache.h) as a rerun reads them: every input gives
// entries or a tt::Error naming file:line, never a crash or a hang.
#include <string>
#include <string_view>

#include "core/error.h"
#include "infer/response_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view content(reinterpret_cast<const char*>(data), size);
  tt::infer::ResponseCacheEntries entries;
  try {
    tt::infer::parse_response_cache(content, "fuzz.jsonl", entries);
  } catch (const tt::Error&) {
  }
  return 0;
}
