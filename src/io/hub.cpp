#include "io/hub.h"

#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "io/file.h"

namespace tt {

namespace fs = std::filesystem;

std::string hub_cache_dir() {
  if (const char* cache = std::getenv("HF_HUB_CACHE")) return cache;
  if (const char* home = std::getenv("HF_HOME")) return std::string(home) + "/hub";
  const char* user_home = std::getenv("HOME");
  return std::string(user_home ? user_home : ".") + "/.cache/huggingface/hub";
}

std::string resolve_model_dir(const std::string& spec) {
  if (is_directory(spec)) return spec;
  std::string id = spec, revision = "main";
  if (auto at = spec.find('@'); at != std::string::npos) {
    id = spec.substr(0, at);
    revision = spec.substr(at + 1);
  }
  auto slash = id.find('/');
  if (slash == std::string::npos || id.find('/', slash + 1) != std::string::npos || fs::exists(spec))
    fail("{}: not a model directory", spec);
  std::string repo = hub_cache_dir() + "/models--" + id.substr(0, slash) + "--" + id.substr(slash + 1);
  std::string ref_file = repo + "/refs/" + revision;
  std::string commit = file_exists(ref_file) ? read_file(ref_file) : revision;
  while (!commit.empty() && (commit.back() == '\n' || commit.back() == ' ')) commit.pop_back();
  std::string snapshot = repo + "/snapshots/" + commit;
  if (!is_directory(snapshot))
    fail("{}: not a directory, and not in the local hub cache ({}); tinythink does not download", spec, repo);
  return snapshot;
}

}  // namespace tt
