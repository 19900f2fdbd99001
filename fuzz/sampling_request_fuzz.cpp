// A generation request's sampling fields (generate's --input lines, vLLM's SamplingParams names) and
// a model's generation_config.json sampling defaults: the same JSON read both ways.
#include "core/error.h"
#include "fuzz/fuzz_input.h"
#include "infer/generation_config.h"
#include "infer/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto json = nlohmann::json::parse(data, data + size, nullptr, false);
  if (json.is_discarded()) return 0;
  try {
    if (json.is_object()) (void)tt::infer::sampling_params_from_row("in.jsonl:1", json, {});
  } catch (const tt::Error&) {
  }
  const std::string path = tt::fuzz::write_input(data, size, "generation_config.json");
  tt::infer::ModelSamplingDefaults d;
  try {
    d = tt::infer::read_sampling_defaults("auto", path.substr(0, path.rfind('/')));
  } catch (const tt::Error&) {
    return 0;
  }
  (void)d.describe();
  tt::infer::SamplingParams p;
  tt::infer::apply_sampling_defaults(d, {}, p);
  try {
    tt::infer::validate(p);  // what the reader accepted makes a valid request
  } catch (const tt::Error&) {
    __builtin_trap();
  }
  return 0;
}
