#include "train/trainer_state.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <filesystem>
#include <regex>
#include <vector>

#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "model/finite_check.h"

namespace tt {

namespace fs = std::filesystem;

namespace {

// checkpoint-STEP, the name save_checkpoint gives a checkpoint folder
const std::regex& checkpoint_folder_name() {
  static const std::regex name("checkpoint-([0-9]+)");
  return name;
}

}  // namespace

std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& output_dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  if (!fs::is_directory(output_dir)) return found;
  const std::regex& name = checkpoint_folder_name();
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    std::smatch m;
    std::string base = entry.path().filename().string();
    if (!entry.is_directory() || !std::regex_match(base, m, name)) continue;
    int64_t step = 0;
    const std::string digits = m[1];
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
    if (error != std::errc() || end != digits.data() + digits.size())
      fail("{}: the step in the folder's name is out of range (a checkpoint's step is at most {}); move the folder "
           "away", entry.path().string(), INT64_MAX);
    found.emplace_back(step, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string save_checkpoint(const std::string& output_dir, const Model& model, const AdamWState& adam,
                            const CheckpointState& state, const std::string& tokenizer_source,
                            int64_t save_total_limit) {
  fs::create_directories(output_dir);
  const std::string dir = output_dir + "/checkpoint-" + std::to_string(state.global_step);
  SaveOptions options;
  options.tokenizer_source = tokenizer_source;
  options.extra_files = [&](const std::string& temp) {
    fs::create_directories(temp + "/trainer_state");
    std::vector<TensorToWrite> moments;
    std::vector<int64_t> size = {static_cast<int64_t>(adam.m.size())};
    moments.push_back({"exp_avg", DType::F32, size, adam.m.data(), nullptr});
    moments.push_back({"exp_avg_sq", DType::F32, size, adam.v.data(), nullptr});
    write_safetensors(temp + "/trainer_state/optimizer.safetensors", moments);
    if (!state.tensors.empty()) write_safetensors(temp + "/trainer_state/objective.safetensors", state.tensors);
    nlohmann::json json = {{"global_step", state.global_step},
                           {"optimizer_step", adam.step},
                           {"seen_tokens", state.seen_tokens},
                           {"extra", state.extra},
                           {"layout", state.layout}};
    if (state.best_step >= 0) {
      json["best_metric"] = state.best_metric;
      json["best_global_step"] = state.best_step;
    }
    if (!state.lr_scheduler.is_null()) json["lr_scheduler"] = state.lr_scheduler;
    write_json_file(temp + "/trainer_state/state.json", json);
  };
  save_model(model, dir, options);
  if (save_total_limit > 0) prune_checkpoints(output_dir, save_total_limit, state.best_step);
  return dir;
}

void prune_checkpoints(const std::string& output_dir, int64_t keep, int64_t best_step) {
  auto all = list_checkpoints(output_dir);
  keep = std::max<int64_t>(1, keep);
  const auto best = std::find_if(all.begin(), all.end(), [&](const auto& c) { return c.first == best_step; });
  if (best != all.end() && best + 1 != all.end()) {
    std::rotate(best, best + 1, all.end() - 1);  // the best becomes the second newest
    keep = std::max<int64_t>(keep, 2);
  }
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) {
    // Renamed first: a run killed while removing it leaves a checkpoint-N.old-PID that the next
    // resume removes, never a half-deleted checkpoint-N (a kill used to leave one with
    // config.json and no weights, over save_total_limit for good).
    const std::string doomed = all[i].second + ".old-" + std::to_string(::getpid());
    fs::rename(all[i].second, doomed);
    fs::remove_all(doomed);
  }
}

void remove_interrupted_saves(const std::string& output_dir) {
  if (!fs::is_directory(output_dir)) return;
  size_t removed = 0;
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    std::string base = entry.path().filename().string();
    if (base.rfind("checkpoint-", 0) == 0 && (base.find(".tmp-") != std::string::npos || base.find(".old-") != std::string::npos))
      removed += fs::remove_all(entry.path()) > 0;
  }
  removed += remove_stale_atomic_temp_files(output_dir).size();
  if (removed > 0) log_info("{}: removed {} file(s) left by an interrupted save", output_dir, removed);
}

std::optional<std::string> latest_checkpoint(const std::string& output_dir, bool clean) {
  if (!fs::is_directory(output_dir)) return std::nullopt;
  if (clean) remove_interrupted_saves(output_dir);
  auto all = list_checkpoints(output_dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (file_exists(it->second + "/trainer_state/state.json")) return it->second;
  return std::nullopt;
}

CheckpointState load_checkpoint(const std::string& dir, Model& model, AdamWState& adam) {
  Model loaded = load_model(dir);
  if (loaded.layout.total != model.layout.total)
    fail("{}: checkpoint has {} parameters, the run's model {}", dir, loaded.layout.total, model.layout.total);
  // the same count in other tensors (another vocabulary, tied or not) would scramble the weights
  for (size_t i = 0; i < std::max(loaded.layout.slots.size(), model.layout.slots.size()); ++i) {
    const TensorSlot* a = i < loaded.layout.slots.size() ? &loaded.layout.slots[i] : nullptr;
    const TensorSlot* b = i < model.layout.slots.size() ? &model.layout.slots[i] : nullptr;
    if (!a || !b || a->name != b->name || a->shape != b->shape)
      fail("{}: the checkpoint's tensors differ from the run's model ({} {} vs {} {}): it is another model's", dir,
           a ? a->name : "(none)", a ? fmt::format("{}", fmt::join(a->shape, "x")) : "",
           b ? b->name : "(none)", b ? fmt::format("{}", fmt::join(b->shape, "x")) : "");
  }
  model.params = std::move(loaded.params);
  SafetensorsFile moments(dir + "/trainer_state/optimizer.safetensors");
  adam.m.resize(model.params.size());
  adam.v.resize(model.params.size());
  std::vector<int64_t> size = {static_cast<int64_t>(model.params.size())};
  moments.read_f32("exp_avg", adam.m.data(), size);
  moments.read_f32("exp_avg_sq", adam.v.data(), size);
  for (const auto& [name, values] : {std::pair{"exp_avg", &adam.m}, std::pair{"exp_avg_sq", &adam.v}})
    if (auto i = first_non_finite(values->data(), values->size()))
      fail("{}/trainer_state/optimizer.safetensors: tensor {} has a non-finite value ({}) at element {}", dir, name,
           (*values)[*i], *i);
  nlohmann::json json = read_json_file(dir + "/trainer_state/state.json");
  CheckpointState state;
  const std::string where = dir + "/trainer_state/state.json";
  if (!json.is_object()) fail("{}: expected a JSON object", where);
  auto integer = [&](const char* key) {  // a whole number, never truncated (2.5 or "2")
    if (!json.contains(key)) fail("{}: '{}' is missing", where, key);
    if (!json[key].is_number_integer()) fail("{}: '{}' must be an integer, got {}", where, key, json[key].dump());
    if (json[key].is_number_unsigned() && json[key].get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      fail("{}: '{}' is out of range, got {}", where, key, json[key].dump());
    return json[key].get<int64_t>();
  };
  state.global_step = integer("global_step");
  adam.step = integer("optimizer_step");
  if (!json.contains("seen_tokens") || !json["seen_tokens"].is_number())
    fail("{}: 'seen_tokens' must be a number", where);
  state.seen_tokens = json["seen_tokens"].get<double>();
  for (const char* key : {"extra", "layout"})  // absent: a checkpoint from before them
    if (json.contains(key) && !json[key].is_object() && !json[key].is_null())
      fail("{}: '{}' must be an object, got {}", where, key, json[key].dump().substr(0, 80));
  state.extra = json.value("extra", nlohmann::json::object());
  state.layout = json.value("layout", nlohmann::json::object());
  if (state.extra.is_null()) state.extra = nlohmann::json::object();
  if (state.layout.is_null()) state.layout = nlohmann::json::object();
  if (state.global_step < 0) fail("{}/trainer_state/state.json: global_step {} is negative", dir, state.global_step);
  if (json.contains("best_global_step")) {  // absent: no best metric tracked
    state.best_step = integer("best_global_step");
    if (!json.contains("best_metric") || !json["best_metric"].is_number() ||
        !std::isfinite(json["best_metric"].get<double>()))
      fail("{}: 'best_metric' must be a finite number with best_global_step", where);
    state.best_metric = json["best_metric"].get<double>();
    if (state.best_step < 0 || state.best_step > state.global_step)
      fail("{}: best_global_step {} is not a step of this run (0 to {})", where, state.best_step, state.global_step);
  }
  state.lr_scheduler = json.value("lr_scheduler", nlohmann::json(nullptr));  // checked by the trainer that reads it
  if (adam.step < 0) fail("{}/trainer_state/state.json: optimizer_step {} is negative", dir, adam.step);
  // the folder is named after its step (save_checkpoint): another step is another checkpoint's state
  const std::string folder = fs::path(dir).filename().string();
  if (std::smatch m; std::regex_match(folder, m, checkpoint_folder_name()) &&
                     m[1] != std::to_string(state.global_step))
    fail("{}: global_step {} is not the step of its folder ({}): the state was written for another checkpoint", where,
         state.global_step, folder);
  if (!std::isfinite(state.seen_tokens) || state.seen_tokens < 0)
    fail("{}/trainer_state/state.json: seen_tokens {} is not a finite non-negative number", dir, state.seen_tokens);
  return state;
}

}  // namespace tt
