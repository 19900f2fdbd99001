#include "infer/generation_config.h"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/file.h"

namespace tt::infer {

bool ModelSamplingDefaults::empty() const {
  return !temperature && !top_p && !min_p && !repetition_penalty && !top_k && !max_new_tokens;
}

std::string ModelSamplingDefaults::describe() const {
  std::string out;
  auto add = [&](const char* key, const std::string& value) { out += fmt::format("{}{} {}", out.empty() ? "" : ", ", key, value); };
  if (temperature) add("temperature", fmt::format("{}", *temperature));
  if (top_p) add("top_p", fmt::format("{}", *top_p));
  if (top_k) add("top_k", fmt::format("{}", *top_k));
  if (min_p) add("min_p", fmt::format("{}", *min_p));
  if (repetition_penalty) add("repetition_penalty", fmt::format("{}", *repetition_penalty));
  if (max_new_tokens) add("max_new_tokens", fmt::format("{}", *max_new_tokens));
  return out;
}

namespace {

std::optional<float> read_number(const nlohmann::json& config, const std::string& path, const char* key) {
  if (!config.contains(key) || config[key].is_null()) return std::nullopt;
  const auto& v = config[key];
  if (!v.is_number()) fail("{}: '{}' is not a number ({})", path, key, v.dump());
  return static_cast<float>(v.get<double>());
}

std::optional<int64_t> read_integer(const nlohmann::json& config, const std::string& path, const char* key) {
  if (!config.contains(key) || config[key].is_null()) return std::nullopt;
  const auto& v = config[key];
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    fail("{}: '{}' is out of range ({})", path, key, v.dump());
  if (!v.is_number_integer()) fail("{}: '{}' is not an integer ({})", path, key, v.dump());
  return v.get<int64_t>();
}

}  // namespace

ModelSamplingDefaults read_sampling_defaults(const std::string& source, const std::string& model_dir) {
  ModelSamplingDefaults d;
  if (source == "vllm") return d;
  const bool automatic = source == "auto";
  const std::string path = (automatic ? model_dir : source) + "/generation_config.json";
  if (!std::filesystem::exists(path)) {
    if (automatic) return d;
    fail("--generation-config {}: no generation_config.json in that folder (give a folder that holds one, "
         "'auto' for the model's own or 'vllm' for none)", source);
  }
  const nlohmann::json config = read_json_file(path);
  if (!config.is_object()) fail("{}: expected a JSON object", path);
  d.path = path;
  d.temperature = read_number(config, path, "temperature");
  d.top_p = read_number(config, path, "top_p");
  d.min_p = read_number(config, path, "min_p");
  d.repetition_penalty = read_number(config, path, "repetition_penalty");
  d.top_k = read_integer(config, path, "top_k");
  if (d.top_k == -1) d.top_k = 0;  // off, as vLLM reads -1
  d.max_new_tokens = read_integer(config, path, "max_new_tokens");
  try {  // each value on its own, so that the error names the key the file got wrong
    SamplingParams p;
    apply_sampling_defaults(d, {}, p);
    validate(p);
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
  return d;
}

void apply_sampling_defaults(const ModelSamplingDefaults& d, const std::set<std::string>& given, SamplingParams& p) {
  auto set = [&](const char* field, const auto& value, auto& target) {
    if (value && !given.contains(field)) target = *value;
  };
  set("temperature", d.temperature, p.temperature);
  set("top_p", d.top_p, p.top_p);
  set("top_k", d.top_k, p.top_k);
  set("min_p", d.min_p, p.min_p);
  set("repetition_penalty", d.repetition_penalty, p.repetition_penalty);
  set("max_new_tokens", d.max_new_tokens, p.max_new_tokens);
}

}  // namespace tt::infer
