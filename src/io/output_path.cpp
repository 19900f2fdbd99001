#include "io/output_path.h"

#include <algorithm>
#include <filesystem>

#include <unistd.h>

#include "core/error.h"
#include "io/file.h"
#include "io/hub.h"

namespace tt {
namespace fs = std::filesystem;

namespace {

std::string parent_of(const std::string& path) {
  fs::path parent = fs::absolute(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

void check_parent_writable(const std::string& path, const std::string& what) {
  std::string parent = parent_of(path);
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) fail("{} {}: directory {} does not exist", what, path, parent);
  if (::access(parent.c_str(), W_OK | X_OK) != 0) fail("{} {}: directory {} is not writable", what, path, parent);
}

}  // namespace

void check_output_directory(const std::string& dir, const std::vector<std::string>& own_names, bool overwrite,
                            const std::string& verb, const std::string& option) {
  std::error_code ec;
  fs::file_status status = fs::symlink_status(dir, ec);
  if (fs::exists(status) && !fs::is_directory(fs::status(dir, ec)))
    fail("{} {} {}: exists and is not a directory; {} writes a directory and never replaces a file", verb, option, dir,
         verb);
  if (fs::is_directory(status) || fs::is_symlink(status)) {
    std::vector<std::string> foreign;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (std::find(own_names.begin(), own_names.end(), name) == own_names.end()) foreign.push_back(name);
    }
    if (ec) fail("{} {} {}: cannot list the directory ({})", verb, option, dir, ec.message());
    if (!foreign.empty() && !overwrite)
      fail("{} {} {}: a non-empty directory that is not a previous {} output (it holds '{}'{}); give --overwrite "
           "to replace it",
           verb, option, dir, verb, foreign.front(),
           foreign.size() > 1 ? fmt::format(" and {} more", foreign.size() - 1) : "");
  }
  check_parent_writable(dir, verb + " " + option);
}

void check_output_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("{} {}: is a directory", what, path);
  try {
    (void)atomic_write_target(path);
  } catch (const Error& e) {
    fail("{} {}", what, e.what());
  }
  if (fs::exists(path, ec)) {
    if (::access(path.c_str(), W_OK) != 0) fail("{} {}: is not writable", what, path);
  }
  check_parent_writable(path, what);
}

void check_output_is_not_input(const std::string& output, const std::string& what, const std::string& input,
                               const std::string& input_what) {
  std::error_code ec;
  if (output.empty() || input.empty() || !fs::exists(output, ec) || !fs::exists(input, ec)) return;
  if (fs::equivalent(output, input, ec))
    fail("{} {}: is the {} file; writing it would replace what this run reads (choose another path)", what, output,
         input_what);
}

void check_output_spares_model(const std::string& output, const std::string& what, const std::string& model) {
  std::error_code ec;
  if (output.empty()) return;
  std::string model_dir = model;
  if (!fs::is_directory(model_dir, ec)) {
    try {
      model_dir = resolve_model_dir(model);  // a cached Hub id: its snapshot folder
    } catch (const Error&) {
      return;  // not found: the run fails on it before writing anything
    }
  }
  for (const auto& entry : fs::directory_iterator(model_dir, ec))
    check_output_is_not_input(output, what, entry.path().string(),
                              "--model checkpoint's " + entry.path().filename().string());
}

void check_writable_directory(const std::string& dir, const std::string& what) {
  std::error_code ec;
  fs::path existing = fs::absolute(dir);
  while (!fs::exists(existing, ec) && existing.has_parent_path() && existing != existing.parent_path())
    existing = existing.parent_path();
  if (!fs::is_directory(existing, ec)) fail("{} {}: {} exists and is not a directory", what, dir, existing.string());
  if (::access(existing.c_str(), W_OK | X_OK) != 0) fail("{} {}: directory {} is not writable", what, dir, existing.string());
}

}  // namespace tt
