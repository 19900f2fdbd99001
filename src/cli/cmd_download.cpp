// tinythink download REPO: a model's files (config, weights, tokenizer, generation config) or a
// dataset's files from the Hugging Face Hub into the shared HF cache (io/hub.h); prints the snapshot.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "io/hub.h"

namespace tt::cli {

void register_download(CLI::App& app) {
  struct Args {
    HubRepo repo;
    std::string type = "model";
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("download", "download a Hub model or dataset into the HF cache ($HF_HUB_CACHE); prints its snapshot folder");
  cmd->add_option("repo", args->repo.id, "ORG/NAME")->required();
  cmd->add_option("--repo-type", args->type, "model or dataset")->check(CLI::IsMember({"model", "dataset"}))->capture_default_str();
  cmd->add_option("--revision", args->repo.revision, "branch, tag or commit")->capture_default_str();
  cmd->callback([args] {
    if (!is_repo_id(args->repo.id)) fail("download: '{}' is not a repo id (ORG/NAME)", args->repo.id);
    args->repo.type = args->type == "dataset" ? RepoType::kDataset : RepoType::kModel;
    std::string snapshot = args->repo.type == RepoType::kModel
                               ? hub_download_snapshot(args->repo, is_model_file)
                               : hub_download_snapshot(args->repo, [](const std::string&) { return true; });
    std::printf("%s\n", snapshot.c_str());
  });
}

}  // namespace tt::cli
