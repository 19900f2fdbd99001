#include "io/hub.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/file.h"
#include "io/http.h"
#include "io/sha256.h"

namespace tt {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string hf_home() {
  if (std::string home = env("HF_HOME"); !home.empty()) return home;
  std::string xdg = env("XDG_CACHE_HOME");
  if (xdg.empty()) xdg = (env("HOME").empty() ? std::string(".") : env("HOME")) + "/.cache";
  return xdg + "/huggingface";
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  s.erase(0, s.find_first_not_of(" \t\r\n"));
  return s;
}

bool is_commit_hash(const std::string& s) {
  return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(c); });
}

// A commit names a folder of the cache (snapshots/COMMIT): the Hub's are 40 hex digits; anything with
// a '/' or '.' would place files elsewhere.
void check_commit(const std::string& commit, const std::string& what) {
  const bool usable = !commit.empty() && commit.size() <= 128 &&
                      std::all_of(commit.begin(), commit.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
  if (!usable) fail("{}: the server sent an unusable commit '{}'", what, commit);
}

// huggingface_hub's ETag normalization: drop a weak "W/" prefix and the quotes.
std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

std::string type_path(RepoType type) { return type == RepoType::kDataset ? "datasets/" : ""; }
std::string api_kind(RepoType type) { return type == RepoType::kDataset ? "datasets" : "models"; }

std::string url_encode_path(const std::string& path) {
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || std::strchr("-._~/", c)) out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

HttpOptions hub_http_options() {
  HttpOptions o;
  if (std::string token = hub_token(); !token.empty()) o.headers.push_back("Authorization: Bearer " + token);
  o.headers.push_back("Accept-Encoding: identity");
  return o;
}

// One line for an HTTP error of the Hub, from its status and X-Error-Code.
[[noreturn]] void fail_http(const HubRepo& repo, const std::string& what, const HttpResponse& r) {
  const std::string code = r.header("x-error-code");
  const std::string page = hub_endpoint() + "/" + type_path(repo.type) + repo.id;
  const std::string login = "log in: set HF_TOKEN (or run `huggingface-cli login`, which writes $HF_HOME/token)";
  if (code == "GatedRepo")
    fail("{}: {} is a gated repo ({}): accept its conditions at {} and {}", what, repo.id, r.status, page, login);
  if (r.status == 401 || r.status == 403)
    fail("{}: {} answered {} (repo not found, private, or a bad token): {}", what, repo.id, r.status, login);
  if (code == "RevisionNotFound") fail("{}: revision '{}' not found in {} (404)", what, repo.revision, repo.id);
  if (code == "EntryNotFound" || (r.status == 404 && code.empty())) fail("{}: not found in {} at revision '{}' (404)", what, repo.id, repo.revision);
  if (code == "RepoNotFound" || r.status == 404) fail("{}: repository {} not found on {} (404)", what, repo.id, hub_endpoint());
  fail("{}: the Hub answered HTTP {}", what, r.status);
}

class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fs::create_directories(fs::path(path).parent_path());
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
    if (fd_ < 0) fail("{}: cannot create lock ({})", path, std::strerror(errno));
    (void)::fchmod(fd_, 0664);  // group-writable whatever the umask, as huggingface_hub's lock files
    ::flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_ = -1;
};

// The Cache Directory Tagging Standard's tag (https://bford.info/cachedir/), with the text
// huggingface_hub (>= 1.10) writes at the cache root, so that backup tools skip the cache. Written
// when missing, before the first blob goes in; an existing tag is left as it is.
void tag_cache_dir() {
  const std::string tag = hub_cache_dir() + "/CACHEDIR.TAG";
  if (fs::exists(tag)) return;
  std::error_code ec;
  fs::create_directories(hub_cache_dir(), ec);
  try {
    write_file_atomic(tag,
                      "Signature: 8a477f597d28d172789f06886806bc55\n"
                      "# This file is a cache directory tag created by huggingface_hub.\n"
                      "# For information about cache directory tags, see:\n"
                      "#\thttps://bford.info/cachedir/\n");
  } catch (const Error&) {
    // best effort, as in huggingface_hub: a read-only cache still serves its files
  }
}

void write_ref(const HubRepo& repo, const std::string& commit) {
  if (repo.revision == commit) return;
  const std::string ref = repo_folder(repo) + "/refs/" + repo.revision;
  if (file_exists(ref) && read_file(ref) == commit) return;
  fs::create_directories(fs::path(ref).parent_path());
  write_file_atomic(ref, commit);
}

// The commit a revision stands for in the cache: refs/REVISION, or the revision when it is a commit.
std::string cached_commit(const HubRepo& repo) {
  const std::string ref = repo_folder(repo) + "/refs/" + repo.revision;
  if (file_exists(ref)) return trim(read_file(ref));
  return repo.revision;
}

void link_snapshot(const std::string& blob, const std::string& pointer) {
  fs::create_directories(fs::path(pointer).parent_path());
  std::error_code ec;
  fs::remove(pointer, ec);
  fs::create_symlink(fs::path(blob).lexically_relative(fs::path(pointer).parent_path()), pointer);
}

struct FileMetadata {
  std::string commit, etag, location;
  int64_t size = -1;
};

FileMetadata head_file(const HubRepo& repo, const std::string& filename) {
  std::string url = hub_endpoint() + "/" + type_path(repo.type) + repo.id + "/resolve/" + url_encode_path(repo.revision) +
                    "/" + url_encode_path(filename);
  const std::string what = repo.id + "/" + filename;
  HttpResponse r;
  for (int hops = 0;; ++hops) {
    r = http_head(url, hub_http_options());
    // relative redirects stay on the Hub (a renamed repo): follow them; absolute ones go to the CDN
    const std::string location = r.header("location");
    if (r.status >= 300 && r.status < 400 && location.rfind("/", 0) == 0 && hops < 5) {
      url = hub_endpoint() + location;
      continue;
    }
    break;
  }
  if (r.status >= 400) fail_http(repo, what, r);
  FileMetadata m;
  m.commit = r.header("x-repo-commit");
  m.etag = normalize_etag(!r.header("x-linked-etag").empty() ? r.header("x-linked-etag") : r.header("etag"));
  const std::string size = !r.header("x-linked-size").empty() ? r.header("x-linked-size") : r.header("content-length");
  m.size = size.empty() ? -1 : std::atoll(size.c_str());
  m.location = r.status >= 300 && !r.header("location").empty() ? r.header("location") : url;
  if (m.commit.empty() || m.etag.empty())
    fail("{}: the server at {} sent no X-Repo-Commit or ETag header: not a Hub endpoint? (set HF_ENDPOINT)", what, hub_endpoint());
  if (m.etag.find('/') != std::string::npos || m.etag.find("..") != std::string::npos)
    fail("{}: the server sent an unusable ETag '{}'", what, m.etag);
  check_commit(m.commit, what);
  return m;
}

void print_progress(const std::string& name, int64_t done, int64_t total, bool final) {
  static const bool tty = ::isatty(2);
  if (!tty && !final) return;
  const double mb = 1e6;
  if (total > 0)
    std::fprintf(stderr, "\r%s: %5.1f%% %.1f/%.1f MB%s", name.c_str(), 100.0 * done / total, done / mb, total / mb, final ? "\n" : "");
  else
    std::fprintf(stderr, "\r%s: %.1f MB%s", name.c_str(), done / mb, final ? "\n" : "");
}

void download_blob(const HubRepo& repo, const std::string& filename, const FileMetadata& m, const std::string& blob) {
  const std::string what = repo.id + "/" + filename;
  const std::string incomplete = blob + ".incomplete";
  fs::create_directories(fs::path(blob).parent_path());
  int64_t last_shown = -1;
  long status = http_download(m.location, incomplete, hub_http_options(), [&](int64_t done, int64_t) {
    if (done - last_shown >= (1 << 22)) print_progress(what, done, m.size, false), last_shown = done;
  });
  if (status >= 400) {
    HttpResponse r;
    r.status = status;
    fail_http(repo, what, r);
  }
  std::error_code ec;
  const int64_t got = static_cast<int64_t>(fs::file_size(incomplete, ec));
  if (m.size >= 0 && got != m.size) {
    fs::remove(incomplete, ec);
    fail("{}: downloaded {} bytes, the Hub announced {}; removed the partial file, try again", what, got, m.size);
  }
  const bool lfs = m.etag.size() == 64 && std::all_of(m.etag.begin(), m.etag.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (lfs) {
    std::string sha = sha256_file(incomplete);
    if (sha != m.etag) {
      fs::remove(incomplete, ec);
      fail("{}: sha256 mismatch (got {}, expected {}); removed the download, try again", what, sha, m.etag);
    }
  }
  print_progress(what, got, m.size, true);
  fs::rename(incomplete, blob);
}

std::string snapshot_path(const HubRepo& repo, const std::string& commit, const std::string& filename) {
  return repo_folder(repo) + "/snapshots/" + commit + "/" + filename;
}

std::string offline_file(const HubRepo& repo, const std::string& filename) {
  std::string path = snapshot_path(repo, cached_commit(repo), filename);
  std::error_code ec;
  if (!fs::exists(path) && fs::is_symlink(fs::symlink_status(path, ec)))  // the snapshot's link, its blob gone
    fail("{}/{}: the local hub cache is damaged: {} points to {}, which is missing (delete the link and download again)",
         repo.id, filename, path, fs::read_symlink(path, ec).string());
  if (!fs::exists(path))
    fail("{}/{}: not in the local hub cache ({}) and HF_HUB_OFFLINE is set", repo.id, filename, repo_folder(repo));
  return path;
}

nlohmann::json repo_info(const HubRepo& repo) {
  const std::string url = hub_endpoint() + "/api/" + api_kind(repo.type) + "/" + repo.id + "/revision/" + url_encode_path(repo.revision);
  HttpResponse r = http_get(url, hub_http_options());
  if (r.status >= 400) fail_http(repo, repo.id, r);
  nlohmann::json info = nlohmann::json::parse(r.body, nullptr, false);
  if (!info.is_object() || !info.contains("sha") || !info["sha"].is_string() || !info.contains("siblings") || !info["siblings"].is_array())
    fail("{}: unexpected answer from {} (no \"sha\" or \"siblings\")", repo.id, url);
  return info;
}

std::vector<std::string> cached_files(const std::string& snapshot) {
  std::vector<std::string> files;
  if (!is_directory(snapshot)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(snapshot))
    if (!entry.is_directory()) files.push_back(entry.path().lexically_relative(snapshot).string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

std::string hub_cache_dir() {
  if (std::string cache = env("HF_HUB_CACHE"); !cache.empty()) return cache;
  return hf_home() + "/hub";
}

std::string hub_endpoint() {
  std::string endpoint = env("HF_ENDPOINT");
  if (endpoint.empty()) endpoint = "https://huggingface.co";
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

std::string hub_token() {
  if (std::string token = trim(env("HF_TOKEN")); !token.empty()) return token;
  std::string path = env("HF_TOKEN_PATH");
  if (path.empty()) path = hf_home() + "/token";
  return file_exists(path) ? trim(read_file(path)) : "";
}

bool hub_offline() {
  std::string v = env("HF_HUB_OFFLINE");
  return v == "1" || v == "ON" || v == "YES" || v == "TRUE" || v == "true" || v == "yes" || v == "on";
}

std::string repo_folder(const HubRepo& repo) {
  std::string name = (repo.type == RepoType::kDataset ? "datasets--" : "models--") + repo.id;
  for (size_t at; (at = name.find('/')) != std::string::npos;) name.replace(at, 1, "--");
  return hub_cache_dir() + "/" + name;
}

bool is_repo_id(const std::string& spec) {
  static const std::regex id(R"([A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*(@[^\s]+)?)");
  for (const char* ext : {".jsonl", ".json", ".parquet", ".ttshard", ".safetensors"})
    if (spec.ends_with(ext)) return false;  // a missing file, not a repo
  return std::regex_match(spec, id) && spec.find("..") == std::string::npos && !fs::exists(spec);
}

std::string hub_download_file(const HubRepo& repo, const std::string& filename) {
  if (!is_path_inside_its_folder(filename)) fail("{}: '{}' is not a file name inside the repo", repo.id, filename);
  if (hub_offline()) return offline_file(repo, filename);
  if (is_commit_hash(repo.revision)) {
    std::string cached = snapshot_path(repo, repo.revision, filename);
    if (fs::exists(cached)) return cached;
  }
  FileMetadata m = head_file(repo, filename);
  write_ref(repo, m.commit);
  const std::string pointer = snapshot_path(repo, m.commit, filename);
  const std::string blob = repo_folder(repo) + "/blobs/" + m.etag;
  if (fs::exists(pointer)) return pointer;
  tag_cache_dir();
  const std::string folder = fs::path(repo_folder(repo)).filename().string();
  FileLock lock(hub_cache_dir() + "/.locks/" + folder + "/" + m.etag + ".lock");
  if (!fs::exists(blob)) download_blob(repo, filename, m, blob);
  link_snapshot(blob, pointer);
  return pointer;
}

namespace {

// The files of the repo at its revision for which wanted(path) holds, downloaded unless cached;
// returns the snapshot folder and sets *count to their number (offline: the cached snapshot, count 0).
std::string download_matching(const HubRepo& repo, const std::function<bool(const std::string&)>& wanted, size_t* count) {
  *count = 0;
  if (hub_offline()) {
    std::string snapshot = repo_folder(repo) + "/snapshots/" + cached_commit(repo);
    if (!is_directory(snapshot))
      fail("{}: not in the local hub cache ({}) and HF_HUB_OFFLINE is set", repo.id, repo_folder(repo));
    return snapshot;
  }
  nlohmann::json info = repo_info(repo);
  const std::string commit = info["sha"];
  check_commit(commit, repo.id);
  write_ref(repo, commit);
  HubRepo pinned = repo;
  pinned.revision = commit;
  std::vector<std::string> paths;
  for (const auto& sibling : info["siblings"]) {
    const std::string path = sibling.is_object() && sibling.contains("rfilename") && sibling["rfilename"].is_string()
                                 ? sibling["rfilename"].get<std::string>() : "";
    if (path.empty() || !wanted(path)) continue;
    if (!is_path_inside_its_folder(path))
      fail("{}: the server lists a file '{}' outside the repo's folder; nothing was downloaded", repo.id, path);
    paths.push_back(path);
  }
  for (const std::string& path : paths) {
    hub_download_file(pinned, path);
    ++*count;
  }
  return repo_folder(repo) + "/snapshots/" + commit;
}

}  // namespace

std::string hub_download_snapshot(const HubRepo& repo, const std::function<bool(const std::string&)>& wanted) {
  size_t count = 0;
  std::string snapshot = download_matching(repo, wanted, &count);
  if (count == 0 && !hub_offline()) fail("{}: no files to download at revision '{}'", repo.id, repo.revision);
  return snapshot;
}

bool is_model_file(const std::string& path) {
  if (path.find('/') != std::string::npos) return false;  // sub-folders hold other formats (onnx, gguf...)
  static const std::regex wanted(
      R"((config|generation_config|tokenizer_config|special_tokens_map|added_tokens|chat_template|preprocessor_config)\.json|tokenizer\.json|.*\.safetensors|model\.safetensors\.index\.json|vocab\.(json|txt)|merges\.txt|tokenizer\.model|.*\.jinja)");
  return std::regex_match(path, wanted);
}

namespace {

// The files of `config` and `split` in the Hub's dataset layouts: CONFIG/SPLIT-*.parquet,
// CONFIG/SPLIT/*.parquet, data/SPLIT-*.parquet, SPLIT-*.parquet, and the refs/convert/parquet layout
// CONFIG/SPLIT/0000.parquet; likewise JSONL. `config` "" stands for "default" or "data".
std::regex split_file_pattern(const std::string& config, const std::string& split) {
  const std::string c = config.empty() ? "(default|data)" : std::regex_replace(config, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
  const std::string s = std::regex_replace(split, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
  return std::regex("((" + c + "|data)/)?(" + s + "[-_.][^/]*|" + s + "/[^/]+)\\.(parquet|jsonl)");
}

// Files named as the Hub shards a split, NAME-00001-of-00004.EXT, must all be there: with one
// missing (an interrupted download, a copy by hand) a run trained on part of the data, exit 0.
void check_complete_shards(const std::vector<std::string>& files, const std::string& folder) {
  static const std::regex shard("(.*)-([0-9]+)-of-([0-9]+)(\\.[A-Za-z0-9.]+)");
  std::map<std::string, std::pair<int64_t, std::set<int64_t>>> groups;  // prefix + suffix -> (total, indices)
  for (const auto& f : files) {
    std::smatch m;
    if (!std::regex_match(f, m, shard) || m[2].length() > 9 || m[3].length() > 9) continue;
    auto& group = groups[m[1].str() + "-*-of-" + m[3].str() + m[4].str()];
    group.first = std::stoll(m[3]);
    group.second.insert(std::stoll(m[2]));
  }
  for (const auto& [pattern, group] : groups) {
    const auto& [total, indices] = group;
    for (int64_t i = 0; i < total; ++i)
      if (!indices.count(i))
        fail("{}: {} has {} of its {} shards (shard {} is missing): the download or copy is incomplete", folder,
             fs::path(pattern).filename().string(), indices.size(), total, i);
  }
}

std::vector<std::string> matching_files(const std::string& folder, const std::regex& wanted) {
  std::vector<std::string> files;
  for (const auto& f : cached_files(folder))
    if (std::regex_match(f, wanted)) files.push_back(folder + "/" + f);
  check_complete_shards(files, folder);
  return files;
}

}  // namespace

std::vector<std::string> hub_dataset_files(const HubRepo& repo, const std::string& config, const std::string& split) {
  const std::regex wanted = split_file_pattern(config, split);
  size_t count = 0;
  const std::string snapshot = download_matching(repo, [&](const std::string& path) { return std::regex_match(path, wanted); }, &count);
  std::vector<std::string> files = matching_files(snapshot, wanted);
  if (files.empty())
    fail("{}: no parquet or JSONL files for config '{}' split '{}'", repo.id, config.empty() ? "default" : config, split);
  return files;
}

std::vector<std::string> dataset_split_files_in(const std::string& folder, const std::string& config, const std::string& split) {
  return matching_files(folder, split_file_pattern(config, split));
}

std::string resolve_model_dir(const std::string& spec) {
  if (is_directory(spec)) return spec;
  HubRepo repo;
  repo.id = spec;
  if (auto at = spec.find('@'); at != std::string::npos) {
    repo.id = spec.substr(0, at);
    repo.revision = spec.substr(at + 1);
  }
  if (!is_repo_id(spec)) fail("{}: not a model directory", spec);
  const std::string snapshot = repo_folder(repo) + "/snapshots/" + cached_commit(repo);
  if (is_directory(snapshot) && file_exists(snapshot + "/config.json")) return snapshot;
  if (hub_offline())
    fail("{}: not a directory, and not in the local hub cache ({}); HF_HUB_OFFLINE is set", spec, repo_folder(repo));
  return hub_download_snapshot(repo, is_model_file);
}

}  // namespace tt

namespace tt {

std::vector<std::string> dataset_files(const std::string& spec, const std::string& config, const std::string& split) {
  if (is_directory(spec)) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(spec))
      if (entry.is_regular_file() && (entry.path().extension() == ".jsonl" || entry.path().extension() == ".parquet"))
        files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    if (files.empty()) fail("{}: directory holds no *.jsonl files (nor *.parquet)", spec);
    check_complete_shards(files, spec);
    return files;
  }
  if (fs::exists(spec)) return {spec};
  if (!is_repo_id(spec)) fail("{}: no such file or directory", spec);
  HubRepo repo;
  repo.id = spec;
  repo.type = RepoType::kDataset;
  if (auto at = spec.find('@'); at != std::string::npos) repo.id = spec.substr(0, at), repo.revision = spec.substr(at + 1);
  return hub_dataset_files(repo, config, split.empty() ? "train" : split);
}

}  // namespace tt
