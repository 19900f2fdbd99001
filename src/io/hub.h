// Models and datasets from the Hugging Face Hub, in the cache layout huggingface_hub uses, so that
// Python tools and tinythink share one cache ($HF_HUB_CACHE, else $HF_HOME/hub, else
// ~/.cache/huggingface/hub). For a repo ORG/NAME of type T (models, datasets):
//   T--ORG--NAME/blobs/ETAG                file contents, named by the normalized ETag (the LFS sha256
//                                          for LFS files, the git blob sha1 for others)
//   T--ORG--NAME/snapshots/COMMIT/PATH     relative symlink to ../../blobs/ETAG (one more ../ per
//                                          directory in PATH)
//   T--ORG--NAME/refs/REVISION             the commit hash, no newline; written only when REVISION
//                                          is not itself that commit
//   .locks/T--ORG--NAME/ETAG.lock          the lock held while the blob downloads (empty, mode 0664,
//                                          left in place)
//   CACHEDIR.TAG                           the cache directory tag huggingface_hub >= 1.10 writes at
//                                          the cache root (bford.info/cachedir), when missing
//   T--ORG--NAME/blobs/ETAG.incomplete     a partial download, resumed with a Range request
// These are huggingface_hub's (Python) rules, file_download.py: hf_hub_download / snapshot_download.
// tests/hub_cache_layout_test.mjs compares the tree with the one npm's @huggingface/hub writes for the
// same fake Hub; that library follows the same rules except that it takes no lock (no .locks/), writes
// no CACHEDIR.TAG, writes refs/ only in snapshotDownload (not in downloadFileToCacheDir), and names a
// single file's snapshot folder after the file's last commit (Python: the revision's commit,
// X-Repo-Commit). Where they differ, tinythink follows Python. Not written by tinythink:
// .no_exist/COMMIT/PATH (Python's record of a 404 file; tinythink only asks for listed files).
// Requests: HEAD {endpoint}/[datasets/]ORG/NAME/resolve/REVISION/PATH (X-Repo-Commit, X-Linked-Etag
// or ETag, X-Linked-Size or Content-Length, a Location to the CDN), then GET of that location;
// file lists from GET {endpoint}/api/{models,datasets}/ORG/NAME/revision/REVISION ("sha",
// "siblings": [{"rfilename"}]). $HF_ENDPOINT (default https://huggingface.co), $HF_TOKEN (else the
// file $HF_TOKEN_PATH, else $HF_HOME/token) as a Bearer token, $HF_HUB_OFFLINE=1: cache only.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace tt {

enum class RepoType { kModel, kDataset };

struct HubRepo {
  std::string id;  // ORG/NAME
  RepoType type = RepoType::kModel;
  std::string revision = "main";
};

std::string hub_cache_dir();
std::string hub_endpoint();
std::string hub_token();  // "" when none
bool hub_offline();
std::string repo_folder(const HubRepo& repo);  // <cache>/models--ORG--NAME
bool is_repo_id(const std::string& spec);      // "ORG/NAME" (optional "@revision"), not an existing path

// One file of the repo, downloaded unless cached; returns its snapshot path.
std::string hub_download_file(const HubRepo& repo, const std::string& filename);
// The files of the repo at its revision for which wanted(path) holds; returns the snapshot folder.
std::string hub_download_snapshot(const HubRepo& repo, const std::function<bool(const std::string&)>& wanted);

// What a model needs: config, weights (sharded safetensors and their index), tokenizer files,
// generation config, chat templates.
bool is_model_file(const std::string& path);
// The parquet / JSONL files of a dataset for `config` (may be empty) and `split`, downloaded unless
// cached (offline: from the cache), sorted.
std::vector<std::string> hub_dataset_files(const HubRepo& repo, const std::string& config, const std::string& split);

// The parquet / JSONL files of `config` and `split` in `folder`, a dataset in the Hub's layout (a
// snapshot, or a copy of one), as hub_dataset_files picks them; sorted; none when it has none.
std::vector<std::string> dataset_split_files_in(const std::string& folder, const std::string& config, const std::string& split);

// A dataset given as a .jsonl / .parquet file, a directory of them (sorted by name), or a Hub
// dataset id ("org/name", optional "@revision"; its files for config and split, downloaded unless
// cached): the files to read.
std::vector<std::string> dataset_files(const std::string& spec, const std::string& config, const std::string& split);

// Returns a directory for `spec`: spec itself when it is a directory, else the snapshot of the hub
// id `spec` ("org/name", optional "@revision") from the cache, downloaded first when missing
// (unless $HF_HUB_OFFLINE). Throws tt::Error when neither works.
std::string resolve_model_dir(const std::string& spec);

}  // namespace tt
