// The DPO reference-log-prob cache (REF_CACHE/<key>.json, shared by the runs of a sweep): its key,
// its entries, validated like any input (a damaged or hand-edited entry fails with one line naming
// the file and field, never a raw JSON library error or a silently wrong reward), and the reference
// pass that fills it.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "train/dpo.h"

namespace tt {

// The entry to write: key, description fields, the log-probs and a checksum over them.
nlohmann::json reference_cache_entry(const std::string& key, const ReferenceLogps& logps, nlohmann::json description);

// Reads and checks `file` (its key, one finite log-prob <= 0 per pair in each list, the checksum).
ReferenceLogps read_reference_cache(const std::string& file, const std::string& key, size_t pairs);

// The cache folder of a run without --ref-cache, shared by the runs of a sweep: beside their output_dirs.
std::string default_reference_cache_dir(const std::string& output_dir);

// Reference log-probs from the starting weights (before a checkpoint is loaded into `model`): one
// forward-only pass (on run.cuda_device when set), or the cache of an earlier run of the sweep.
ReferenceLogps cached_reference_logps(const DpoRun& run, const std::vector<PreferencePair>& pairs, Model& model,
                                      Precision precision, std::string& cache_file, bool& cache_hit);

}  // namespace tt
