// JSONL rows: the line reader and JSON parsing with line-numbered errors.
#include "core/error.h"
#include "fuzz/fuzz_input.h"
#include "io/jsonl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tt::fuzz::write_input(data, size, "rows.jsonl");
  try {
    size_t rows = 0;
    tt::read_jsonl(path, [&](int64_t, const nlohmann::json& row) { rows += row.size(); });
  } catch (const tt::Error&) {
  }
  return 0;
}
