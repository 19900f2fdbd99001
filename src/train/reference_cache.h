// The DPO reference-log-prob cache entry (REF_CACHE/<key>.json), validated like any input: a
// damaged or hand-edited entry fails with one line naming the file and field, never a raw JSON
// library error or a silently wrong reward.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "train/dpo.h"

namespace tt {

// The entry to write: key, description fields, the log-probs and a checksum over them.
nlohmann::json reference_cache_entry(const std::string& key, const ReferenceLogps& logps, nlohmann::json description);

// Reads and checks `file` (its key, one finite log-prob <= 0 per pair in each list, the checksum).
ReferenceLogps read_reference_cache(const std::string& file, const std::string& key, size_t pairs);

}  // namespace tt
