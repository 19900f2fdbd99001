#include "train/reference_cache.h"

#include <cmath>

#include "core/content_hash.h"
#include "core/error.h"
#include "io/file.h"

namespace tt {
namespace {

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

}  // namespace tt
