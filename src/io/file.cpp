#include "io/file.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/file_internal.h"
#include "io/jsonl.h"

namespace tt {

namespace {

std::string errno_text() { return std::strerror(errno); }

// nlohmann's messages start with "[json.exception.parse_error.101] "; the tag helps nobody.
std::string strip_json_tag(const std::string& what) {
  if (!what.empty() && what[0] == '[') {
    size_t close = what.find("] ");
    if (close != std::string::npos) return what.substr(close + 2);
  }
  return what;
}

}  // namespace

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open ({})", path, errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    std::string reason = S_ISDIR(st.st_mode) ? "is a directory" : errno_text();
    ::close(fd);
    fail("{}: cannot open ({})", path, reason);
  }
  std::string content;
  content.reserve(static_cast<size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string reason = errno_text();
      ::close(fd);
      fail("{}: read failed ({})", path, reason);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

nlohmann::json read_json_file(const std::string& path) {
  std::string text = read_file(path);
  check_json_nesting(text, path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", path, strip_json_tag(e.what()));
  }
}

std::string atomic_write_target(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path target(path);
  for (int hops = 0; fs::is_symlink(fs::symlink_status(target, ec)); ++hops) {
    if (hops == 40) fail("{}: too many levels of symbolic links", path);
    const fs::path link = fs::read_symlink(target, ec);
    if (ec) fail("{}: cannot read the symbolic link ({})", path, ec.message());
    target = link.is_absolute() ? link : target.parent_path() / link;
  }
  const fs::file_status status = fs::status(target, ec);
  if (fs::exists(status) && !fs::is_regular_file(status) && !fs::is_directory(status))
    fail("{}: is not a regular file (a device, FIFO or socket); outputs are written to a new file that replaces the "
         "old one, so give a file path",
         path);
  return target.string();
}

AtomicFile::AtomicFile(const std::string& path) : path_(atomic_write_target(path)) {
  std::filesystem::path target(path_);
  std::filesystem::path dir = target.parent_path();
  dir_ = dir.empty() ? std::string(".") : dir.string();
  // mkstemp gives a unique name in the target's directory, so rename() stays on one filesystem.
  std::string pattern = (dir.empty() ? std::string() : dir.string() + "/") + "." +
                        target.filename().string() + ".tmp.XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) fail("{}: cannot create temporary file in {} ({})", path_, dir_, errno_text());
  temp_path_ = name.data();
  // mkstemp creates 0600; give the file the usual permissions (0666 minus umask).
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {  // not committed: leave no temp file behind
    ::close(fd_);
    ::unlink(temp_path_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("{}: write failed ({})", path_, errno_text());
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) fail("{}: fsync failed ({})", path_, errno_text());
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) {
    ::unlink(temp_path_.c_str());
    fail("{}: close failed ({})", path_, errno_text());
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    std::string reason = errno_text();
    ::unlink(temp_path_.c_str());
    fail("{}: rename failed ({})", path_, reason);
  }
  // fsync the directory so the rename itself survives a crash.
  int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

namespace {

// ".NAME.tmp.XXXXXX" with mkstemp's six [A-Za-z0-9] characters: AtomicFile's temp-file scheme.
bool is_atomic_temp_name(std::string_view name) {
  constexpr std::string_view infix = ".tmp.";
  constexpr size_t random = 6;
  if (name.size() < 1 + 1 + infix.size() + random || name[0] != '.') return false;
  if (name.substr(name.size() - random - infix.size(), infix.size()) != infix) return false;
  for (char ch : name.substr(name.size() - random))
    if (!std::isalnum(static_cast<unsigned char>(ch))) return false;
  return true;
}

}  // namespace

void create_directories_or_fail(const std::string& dir, const std::string& role) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("{} {}: cannot create the directory ({})", role, dir, ec.message());
}

std::vector<std::string> remove_stale_atomic_temp_files(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return removed;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec) || entry.is_symlink(ec) || !is_atomic_temp_name(entry.path().filename().string()))
      continue;
    if (std::filesystem::remove(entry.path(), ec)) removed.push_back(entry.path().string());
  }
  return removed;
}

void write_file_atomic(const std::string& path, const std::string& content) {
  AtomicFile file(path);
  file.write(content.data(), content.size());
  file.commit();
}

void write_json_file(const std::string& path, const nlohmann::json& json) {
  write_file_atomic(path, json.dump(2) + "\n");
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_path_inside_its_folder(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find('\\') != std::string::npos || path.find('\0') != std::string::npos) return false;
  size_t begin = 0;
  for (;;) {
    const size_t end = std::min(path.find('/', begin), path.size());
    const std::string_view part(path.data() + begin, end - begin);
    if (part.empty() || part == "." || part == "..") return false;
    if (end == path.size()) return true;
    begin = end + 1;
  }
}

}  // namespace tt
