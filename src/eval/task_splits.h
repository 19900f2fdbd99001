// Where the tasks with several lm-eval configs and splits read their rows: mmlu_<subject> (cais/mmlu:
// config = subject, splits test and dev), arc_easy / arc_challenge (allenai/ai2_arc: ARC-Easy /
// ARC-Challenge, test and train) and bbh_* (SaylorTwift/bbh: config = subtask, split test). By --data:
//   unset, or a folder holding the task's own sub-folder (mmlu_stem/, arc/, bbh/): the data root in the
//     layout of ../shared/data, read by the task itself (its CSV / JSON / JSONL export);
//   a Hub dataset id ("cais/mmlu", optional "@revision"): its CONFIG/SPLIT parquet or JSONL files,
//     downloaded unless cached (io/hub.h hub_dataset_files);
//   another folder holding parquet / JSONL files: a copy of such a dataset in the Hub's layout
//     (CONFIG/SPLIT-*.parquet, ...; a folder without any is taken for a data root);
//   a .parquet or .jsonl file: the test rows of the task asked for (no few-shot split).
// The rows hold the Hub dataset's columns, as lm-eval reads them.
#pragma once
#include <string>
#include <vector>

#include "eval/task.h"

namespace tt::eval {

// One row of a split: `where` names it for messages ("<file>: row <n>" for parquet, "<file>: record
// <n>" for JSONL; n counts from 1), `doc` holds its columns (doc.id: its index in the split).
struct SplitRow {
  std::string where;
  Doc doc;
};

class TaskSplits {
 public:
  // `subfolder`: the task's folder in a data root ("mmlu_stem"); `dataset`: its Hub id, for messages.
  TaskSplits(const TaskOptions& options, const std::string& subfolder, const std::string& dataset);

  // True when the task reads the data root (its own export) rather than the rows below.
  bool in_data_root() const { return kind_ == Kind::kDataRoot; }
  // Whether `config`'s `split` has files (a single file holds only the test split).
  bool has_split(const std::string& config, const std::string& split) const;
  // The rows of `config`'s `split` in file order; each holds every column of `required`: otherwise
  // "<file>: missing column 'x' (<dataset> has ...; the file has ...)" for parquet, "<file>:<line>: missing field 'x'"
  // for JSONL. No rows: "<dataset> from <source>: no rows for config C split S".
  std::vector<SplitRow> rows(const std::string& config, const std::string& split, const std::vector<std::string>& required) const;
  // "the file F", "the folder F", "Hub dataset ID", for messages.
  std::string describe() const;

 private:
  enum class Kind { kDataRoot, kHub, kFolder, kFile };
  std::vector<std::string> files(const std::string& config, const std::string& split) const;

  Kind kind_ = Kind::kDataRoot;
  std::string source_, dataset_;
};

}  // namespace tt::eval
