#include "eval/task_splits.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "eval/task_data.h"
#include "io/file.h"
#include "io/hub.h"
#include "io/parquet.h"

namespace tt::eval {

namespace {

// Whether `folder` holds a .parquet or .jsonl file, at any depth.
bool holds_data_files(const std::string& folder) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(folder, ec); !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string extension = it->path().extension().string();
    if (extension == ".parquet" || extension == ".jsonl") return true;
  }
  return false;
}

}  // namespace

TaskSplits::TaskSplits(const TaskOptions& options, const std::string& subfolder, const std::string& dataset)
    : dataset_(dataset) {
  const std::string& data = options.data_root;
  if (data.empty() || is_directory(data + "/" + subfolder)) return;  // the data root
  if (is_directory(data) && !holds_data_files(data)) return;  // a data root without the task's files: the task names them
  source_ = data;
  if (is_directory(data)) kind_ = Kind::kFolder;
  else if (file_exists(data)) kind_ = Kind::kFile;
  else if (is_repo_id(data)) kind_ = Kind::kHub;
  else fail("--data {}: no such file or folder, nor a Hub dataset id (ORG/NAME)", data);
}

std::string TaskSplits::describe() const {
  switch (kind_) {
    case Kind::kDataRoot: return "the data root";
    case Kind::kHub: return "Hub dataset " + source_;
    case Kind::kFolder: return "the folder " + source_;
    case Kind::kFile: return "the file " + source_;
  }
  return source_;
}

std::vector<std::string> TaskSplits::files(const std::string& config, const std::string& split) const {
  switch (kind_) {
    case Kind::kFile: return split == "test" ? std::vector<std::string>{source_} : std::vector<std::string>{};
    case Kind::kFolder: return dataset_split_files_in(source_, config, split);
    case Kind::kHub: {
      HubRepo repo;
      repo.id = source_;
      repo.type = RepoType::kDataset;
      if (auto at = source_.find('@'); at != std::string::npos) repo.id = source_.substr(0, at), repo.revision = source_.substr(at + 1);
      try {
        return hub_dataset_files(repo, config, split);
      } catch (const Error& e) {
        if (std::string(e.what()).find("no parquet or JSONL files") == std::string::npos) throw;
        return {};
      }
    }
    case Kind::kDataRoot: break;
  }
  fail("{}: the task reads its data root, not config/split files", dataset_);
}

bool TaskSplits::has_split(const std::string& config, const std::string& split) const {
  return !files(config, split).empty();
}

std::vector<SplitRow> TaskSplits::rows(const std::string& config, const std::string& split,
                                       const std::vector<std::string>& required) const {
  std::vector<SplitRow> rows;
  for (const std::string& file : files(config, split)) {
    const bool parquet = is_parquet_path(file);
    if (parquet) {
      const std::vector<std::string> columns = ParquetFile(file).column_names();
      for (const auto& column : required)
        if (std::find(columns.begin(), columns.end(), column) == columns.end())
          fail("{}: missing column '{}' ({} has {}; the file has {})", file, column, dataset_, fmt::join(required, ", "),
               fmt::join(columns, ", "));
    }
    std::vector<Doc> docs = read_jsonl_docs(file, required);
    for (Doc& doc : docs) {
      SplitRow row{fmt::format("{}: {} {}", file, parquet ? "row" : "record", doc.id + 1), std::move(doc)};
      row.doc.id = static_cast<int64_t>(rows.size());
      rows.push_back(std::move(row));
    }
  }
  if (rows.empty()) fail("{} from {}: no rows for config '{}' split '{}'", dataset_, describe(), config, split);
  return rows;
}

}  // namespace tt::eval
