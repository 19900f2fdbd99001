// HF config.json parsing and validation (sizes, rope scaling, Llama 4 layer lists).
#include "core/error.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto json = nlohmann::json::parse(data, data + size, nullptr, false);
  if (json.is_discarded()) return 0;
  try {
    tt::ModelConfig config = tt::config_from_json(json, "config.json");
    (void)tt::parameter_count(config);
  } catch (const tt::Error&) {
  }
  return 0;
}
