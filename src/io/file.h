// Files: whole-file reads with errors that name the path, and atomic writes.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt {

std::string read_file(const std::string& path);  // throws tt::Error "<path>: cannot open (reason)"
nlohmann::json read_json_file(const std::string& path);  // "<path>: invalid JSON: parse error at line L, column C: ..."
// Write via temp file + fsync + rename, so readers never see half a file.
void write_file_atomic(const std::string& path, const std::string& content);
// The file an atomic write of `path` replaces: a symlink's target (the link stays a link), `path`
// otherwise. A one-line error when that is not a regular file: a device (/dev/null as root), a FIFO
// or a socket would be replaced by a regular file for the whole machine.
std::string atomic_write_target(const std::string& path);
// The temp files that write_file_atomic / AtomicFile leave in `dir` when killed before commit
// (".NAME.tmp.XXXXXX", regular files of that scheme only): removed, their paths returned. For a
// directory the caller owns (a run's output_dir) at its start, when no writer of its own is active.
std::vector<std::string> remove_stale_atomic_temp_files(const std::string& dir);
void write_json_file(const std::string& path, const nlohmann::json& json);  // pretty, 2-space indent
// fs::create_directories with a one-line tt::Error "<role> <dir>: cannot create the directory (reason)"
// instead of std::filesystem_error (a file in the way, a read-only place), which main reports with exit 2.
void create_directories_or_fail(const std::string& dir, const std::string& role);
bool file_exists(const std::string& path);
bool is_directory(const std::string& path);
// True when `path` names something inside the folder it is joined to: relative, with no empty, "."
// or ".." component and no backslash (a Hub file name, an index's shard). A server's or a file's
// "../../.bashrc" must not be written or read outside its folder, as huggingface_hub refuses it.
bool is_path_inside_its_folder(const std::string& path);

}  // namespace tt
