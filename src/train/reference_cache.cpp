#include "train/reference_cache.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/communicator.h"
#include "core/content_hash.h"
#include "core/error.h"
#include "core/log.h"
#include "core/system.h"
#include "io/file.h"
#include "io/hub.h"
#include "io/output_path.h"
#include "model/checkpoint.h"
#include "train/device_memory.h"

namespace tt {

namespace fs = std::filesystem;

namespace {

// What the reference log-probs depend on: the starting weights (every *.safetensors file and
// config.json of the model directory, by content), the tokenized, truncated pairs (so the data
// and every tokenization setting) and the precision of the pass.
std::string reference_cache_key(const std::string& model_dir, const std::vector<PreferencePair>& pairs,
                                Precision precision, std::optional<double> ld_alpha) {
  ContentKey key(0x452821e638d01377ull, 0xbe5466cf34e90c6cull);  // this cache's seeds: part of its keys
  key.add(std::string_view("tinythink-dpo-reference-v1"));
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(model_dir))
    if (e.path().extension() == ".safetensors" || e.path().filename() == "config.json") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    key.add(fs::path(f).filename().string());
    key.add_file(f);
  }
  key.add(std::string_view(precision_name(precision)));
  if (ld_alpha) {  // LD-DPO's weighted sums (absent: the keys of before)
    key.add(std::string_view("ld_alpha"));
    key.add(&*ld_alpha, sizeof(double));
  }
  uint64_t n = pairs.size();
  key.add(&n, sizeof n);
  for (const auto& p : pairs) {
    key.add(p.prompt);
    key.add(p.chosen);
    key.add(p.rejected);
    if (p.chosen_prompt_skip != 0 || p.rejected_prompt_skip != 0) {  // keep_end cuts (absent: the keys of before)
      const int64_t skips[2] = {p.chosen_prompt_skip, p.rejected_prompt_skip};
      key.add(skips, sizeof skips);
    }
  }
  return key.hex();
}


std::string logps_checksum(const ReferenceLogps& logps) {
  uint64_t h = hash_bytes(logps.chosen.data(), logps.chosen.size() * sizeof(double), 0x7474726566636b31ull);
  return hex64(hash_bytes(logps.rejected.data(), logps.rejected.size() * sizeof(double), h));
}

std::vector<double> read_logps(const nlohmann::json& entry, const char* field, size_t pairs, const std::string& file) {
  if (!entry.contains(field) || !entry[field].is_array())
    fail("{}: reference cache field '{}' is missing or not a list; delete the file", file, field);
  const auto& list = entry[field];
  if (list.size() != pairs)
    fail("{}: reference cache field '{}' has {} values for {} pairs; delete the file", file, field, list.size(), pairs);
  std::vector<double> out;
  out.reserve(pairs);
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_number() || !std::isfinite(list[i].get<double>()) || list[i].get<double>() > 0)
      fail("{}: reference cache field '{}[{}]' is {}, not a log-probability (finite, <= 0); delete the file", file,
           field, i, list[i].dump());
    out.push_back(list[i].get<double>());
  }
  return out;
}

}  // namespace

nlohmann::json reference_cache_entry(const std::string& key, const ReferenceLogps& logps, nlohmann::json description) {
  nlohmann::json entry = {{"key", key}};
  for (auto& [k, v] : description.items()) entry[k] = v;
  entry["chosen"] = logps.chosen;
  entry["rejected"] = logps.rejected;
  entry["checksum"] = logps_checksum(logps);
  return entry;
}

ReferenceLogps read_reference_cache(const std::string& file, const std::string& key, size_t pairs) {
  nlohmann::json entry = read_json_file(file);
  if (!entry.is_object()) fail("{}: reference cache entry is not a JSON object; delete the file", file);
  if (!entry.contains("key") || !entry["key"].is_string() || entry["key"].get<std::string>() != key)
    fail("{}: reference cache entry does not match its key; delete it", file);
  ReferenceLogps logps;
  logps.chosen = read_logps(entry, "chosen", pairs, file);
  logps.rejected = read_logps(entry, "rejected", pairs, file);
  if (entry.contains("checksum")) {  // entries of older builds have none; their values are checked above
    if (!entry["checksum"].is_string() || entry["checksum"].get<std::string>() != logps_checksum(logps))
      fail("{}: reference cache checksum mismatch (the log-probs were changed or damaged); delete the file", file);
  }
  return logps;
}

std::string default_reference_cache_dir(const std::string& output_dir) {
  return (fs::absolute(output_dir).parent_path() / "ref_cache").string();
}

ReferenceLogps cached_reference_logps(const DpoRun& run, const std::vector<PreferencePair>& pairs, Model& model,
                                      Precision precision, std::string& cache_file, bool& cache_hit) {
  const TrainingArgs& args = run.config.trainer;
  const std::string model_dir = resolve_model_dir(run.config.model_name);
  const std::string cache_dir =
      !run.ref_cache_dir.empty() ? run.ref_cache_dir : default_reference_cache_dir(args.output_dir);
  const std::optional<double> ld_alpha = DpoLossConfig::from_args(args).ld_alpha;
  const std::string key = reference_cache_key(model_dir, pairs, precision, ld_alpha);
  const std::string file = cache_dir + "/" + key + ".json";
  cache_file = file;
  ReferenceLogps summed;
  Communicator& world = Communicator::world();
  if (world.broadcast(file_exists(file))) {  // rank 0's view decides: every rank takes the same path
    summed = read_reference_cache(file, key, pairs.size());
    cache_hit = true;
    log_info("reference log-probs: reusing {} ({} pairs) - no reference pass", file, pairs.size());
    return summed;
  }
  const double t0 = now_seconds();
  // TRL's precompute_ref_batch_size, else the evaluation batch size (the values do not depend on it)
  const int64_t batch = args.precompute_ref_batch_size.value_or(args.per_device_eval_batch_size);
  if (run.cuda_device >= 0) {  // the training device's numbers; freed before training allocates
    std::unique_ptr<TrainDevice> device = open_train_device(run.cuda_device);
    require_device_memory(*device, model.config, {2 * batch, args.max_length},
                          fmt::format("dpo reference pass on cuda:{}", run.cuda_device));
    summed = summed_logps_on_device(model, *device, precision, pairs, batch, run.pad_id, ld_alpha);
  } else {
    std::vector<float> copy;
    WeightSet weights = make_weight_set(model, precision, copy);
    summed = summed_logps(model.config, weights, precision, pairs, batch, run.pad_id, ld_alpha);
  }
  if (world.is_root()) {
    fs::create_directories(cache_dir);
    nlohmann::json entry = reference_cache_entry(
        key, summed, {{"model", model_dir}, {"precision", precision_name(precision)}, {"pairs", pairs.size()}});
    write_file_atomic(file, entry.dump());
  }
  log_info("reference log-probs: computed for {} pairs in one forward-only pass ({:.2f} s), cached at {}",
           pairs.size(), now_seconds() - t0, file);
  return summed;
}

}  // namespace tt
