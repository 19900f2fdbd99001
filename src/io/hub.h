// Where HF models live on disk: a plain directory, or the hub cache layout
// ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub):
//   models--ORG--NAME/refs/main  (a commit hash)  ->  models--ORG--NAME/snapshots/HASH/
#pragma once
#include <string>

namespace tt {

// Returns a directory for `spec`: spec itself when it is a directory, else the cached snapshot of the
// hub id `spec` ("org/name", optional "@revision"). Throws tt::Error when neither exists (no downloads).
std::string resolve_model_dir(const std::string& spec);

std::string hub_cache_dir();

}  // namespace tt
