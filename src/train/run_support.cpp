#include "train/run_support.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include <unistd.h>

#include "core/communicator.h"
#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "io/file.h"
#include "io/hub.h"
#include "io/jsonl.h"
#include "io/output_path.h"
#include "model/checkpoint.h"

namespace tt {

std::vector<int64_t> epoch_order(int64_t rows, int64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> order(rows);
  std::iota(order.begin(), order.end(), 0);
  if (!shuffle) return order;
  Rng rng(static_cast<uint64_t>(seed) * 0x100000001b3ull + static_cast<uint64_t>(epoch));
  for (int64_t i = rows - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  return order;
}

std::vector<std::vector<int64_t>> step_micro_batches(const std::vector<int64_t>& order, int64_t index_in_epoch,
                                                     int64_t batch_size, int64_t accumulation) {
  std::vector<std::vector<int64_t>> micro_batches;
  const int64_t rows_per_step = batch_size * accumulation;
  for (int64_t a = 0; a < accumulation; ++a) {
    std::vector<int64_t> ids;
    for (int64_t r = 0; r < batch_size; ++r) {
      const int64_t position = index_in_epoch * rows_per_step + a * batch_size + r;
      if (position < static_cast<int64_t>(order.size())) ids.push_back(order[position]);
    }
    if (!ids.empty()) micro_batches.push_back(std::move(ids));
  }
  return micro_batches;
}

ResumePoint resume_if_requested(const TrainConfig& config, bool requested, Model& model, AdamWState& adam) {
  const TrainingArgs& args = config.trainer;
  ResumePoint point;
  std::string dir = args.resume_from_checkpoint;
  if (dir == "false" || dir == "False") dir.clear();  // transformers' bool form: no resume
  if (!requested && dir.empty()) return point;
  if (dir.empty() || dir == "true" || dir == "True") {
    // Rank 0 cleans the folder before the others look (trainer.cpp's resume_every_rank); a rank that
    // cleaned too removed rank 0's files in flight (its output_dir mark: "rename failed").
    auto latest = latest_checkpoint(args.output_dir, Communicator::world().is_root());
    dir = latest ? *latest : "";
    // The newest checkpoint folder must be a complete one: resuming from an older one (or from the
    // start) would train over it, as transformers refuses ("Can't find a valid checkpoint").
    if (std::filesystem::is_directory(args.output_dir)) {
      const auto all = list_checkpoints(args.output_dir);
      if (!all.empty() && all.back().second != dir)
        fail("{}: {} has no trainer_state/state.json, so it is not a complete checkpoint; resuming would train over "
             "it: remove it, or set resume_from_checkpoint to the checkpoint to continue",
             config.source, all.back().second);
    }
  }
  if (dir.empty()) {
    log_info("resume: no checkpoint in {}, starting from {}", args.output_dir, config.model_name);
    return point;
  }
  point.state = load_checkpoint(dir, model, adam);
  point.from = dir;
  // A run killed after writing its newest checkpoint and before pruning the oldest left one over
  // save_total_limit; a resume at the last step writes no checkpoint that would prune it.
  if (args.save_total_limit > 0 && Communicator::world().is_root())
    prune_checkpoints(args.output_dir, args.save_total_limit, point.state.best_step);
  return point;
}

std::vector<nlohmann::json> previous_metrics(const std::string& path, const ResumePoint& resume) {
  std::vector<nlohmann::json> rows;
  if (resume.from.empty() || !file_exists(path)) return rows;
  read_jsonl(path, [&](int64_t, const nlohmann::json& row) {
    if (row.value("step", int64_t{0}) <= resume.state.global_step) rows.push_back(row);
  });
  return rows;
}

void check_output_dir(const TrainConfig& config) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path existing = fs::absolute(config.trainer.output_dir, ec);
  while (!existing.empty() && !fs::exists(existing, ec) && existing.has_relative_path()) existing = existing.parent_path();
  if (!fs::is_directory(existing, ec))
    fail("{}: trainer.output_dir {}: {} exists and is not a directory", config.source, config.trainer.output_dir,
         existing.string());
  if (existing != fs::absolute(config.trainer.output_dir, ec) && ::access(existing.c_str(), W_OK | X_OK) != 0)
    fail("{}: trainer.output_dir {}: cannot create it, {} is not writable", config.source, config.trainer.output_dir,
         existing.string());
  // the final model and the checkpoints' tokenizer files are written into output_dir: into the model's
  // own directory they would replace the weights the run starts from (and the reference model of DPO)
  for (const auto& [key, dir] : {std::pair<std::string, std::string>{"model_name", config.model_name},
                                 {"tokenizer_name", config.tokenizer_name}})
    if (!dir.empty() && fs::is_directory(dir, ec) && fs::equivalent(dir, config.trainer.output_dir, ec))
      fail("{}: trainer.output_dir {} is the {} directory: the run would write over the model it starts from "
           "(choose another output_dir)",
           config.source, config.trainer.output_dir, key);
  const std::string& out = config.trainer.output_dir;
  // An input the run reads must not be one of the files it writes there (a dataset named
  // metrics.jsonl in output_dir became the run's log).
  const DatasetArgs& d = config.dataset;
  for (const auto& [key, input] : {std::pair<std::string, std::string>{"dataset.path", d.path},
                                   {"dataset.eval_path", d.eval_path},
                                   {"dataset.sources_file", d.sources_file},
                                   {"dataset.chat_template", d.chat_template}})
    for (const std::string& name : training_output_names())
      check_output_is_not_input(out + "/" + name,
                                fmt::format("{}: the run's own {} in trainer.output_dir,", config.source, name), input,
                                key);
  // A folder that is not a training run's output keeps its files unless the config says otherwise.
  if (!fs::is_directory(out, ec) || config.trainer.overwrite_output_dir || is_training_output(out)) return;
  for (const std::string& name : training_output_names())
    if (fs::exists(fs::symlink_status(out + "/" + name, ec)))
      fail("{}: trainer.output_dir {} holds '{}', which the run would replace, and is not a tinythink training "
           "output (no {}); choose another output_dir, or set trainer.overwrite_output_dir: true",
           config.source, out, name, kTrainingRunMark);
}

const std::vector<std::string>& training_output_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out = {"metrics.jsonl", "config.json", "generation_config.json", "model.safetensors",
                                    "prepared"};
    for (const auto& name : tokenizer_file_names())
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    return out;
  }();
  return names;
}

bool is_training_output(const std::string& dir) {
  // A run from before the mark: a complete checkpoint (looked at, nothing removed).
  return file_exists(dir + "/" + kTrainingRunMark) || latest_checkpoint(dir, /*clean=*/false).has_value();
}

void mark_training_output(const std::string& dir, const std::string& trainer) {
  if (file_exists(dir + "/" + kTrainingRunMark)) return;
  write_file_atomic(dir + "/" + kTrainingRunMark,
                    nlohmann::json{{"tinythink", "training output"}, {"trainer", trainer}}.dump() + "\n");
}

OutputDirClaim::OutputDirClaim(const TrainConfig& config, const std::string& trainer, bool root)
    : dir_(config.trainer.output_dir), root_(root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  dir_existed_ = fs::exists(dir_, ec);
  mark_existed_ = file_exists(dir_ + "/" + kTrainingRunMark);
  prepared_existed_ = fs::exists(fs::symlink_status(dir_ + "/prepared", ec));
  if (!root_) return;
  create_directories_or_fail(dir_, config.source + ": trainer.output_dir");
  mark_training_output(dir_, trainer);
}

OutputDirClaim::~OutputDirClaim() {
  if (!root_) return;
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string prepared = dir_ + "/prepared";
  if (!prepared_existed_ && fs::is_directory(prepared, ec) && fs::is_empty(prepared, ec)) fs::remove(prepared, ec);
  if (!mark_existed_) {  // the mark goes only when it is all the folder holds
    size_t entries = 0;
    for (auto it = fs::directory_iterator(dir_, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) ++entries;
    if (!ec && entries == 1) fs::remove(dir_ + "/" + kTrainingRunMark, ec);
  }
  if (!dir_existed_ && fs::is_directory(dir_, ec) && fs::is_empty(dir_, ec)) fs::remove(dir_, ec);
}

void note_positions_past_context(const TrainConfig& config, const ModelConfig& model, int64_t longest_sequence) {
  if (model.max_position_embeddings > 0 && longest_sequence > model.max_position_embeddings)
    log_info("note: {}: sequences of up to {} tokens (trainer.max_length {}) run past the model's "
             "max_position_embeddings {}: later positions are trained on as transformers does, beyond the range "
             "the model was trained for",
             config.source, longest_sequence, config.trainer.max_length, model.max_position_embeddings);
}

RunFiles resolve_run_files(const TrainConfig& config) {
  RunFiles files;
  std::string tokenizer_dir;
  try {
    tokenizer_dir = resolve_model_dir(config.tokenizer_name);
  } catch (const Error&) {  // a tokenizer given as a file: nothing to copy into checkpoints
  }
  for (const auto& name : tokenizer_file_names())
    if (!tokenizer_dir.empty() && file_exists(tokenizer_dir + "/" + name)) files.tokenizer_source = tokenizer_dir;
  ModelConfig model = load_model_config(resolve_model_dir(config.model_name));
  files.pad_id = model.pad_token_id >= 0          ? static_cast<int32_t>(model.pad_token_id)
                 : !model.eos_token_ids.empty() ? static_cast<int32_t>(model.eos_token_ids[0])
                                                : 0;
  return files;
}

}  // namespace tt
