// The --device option shared by the training and inference verbs, and the choice it leads to.
#pragma once
#include <string>

#include "core/precision.h"
#include "kernels/device.h"

namespace CLI {
class App;
}

namespace tt::cli {

// Adds `--device auto|cpu|cuda[:N]` to a verb (empty string: not given).
void add_device_option(CLI::App* cmd, std::string& device);

// The device of a run: the flag when given, else the config's value (a training YAML's
// trainer.device), else auto; resolved and logged (name, memory, precision, or why not CUDA).
// `runs_on_cuda`: the verb has a CUDA path (sft, dpo, bench train, the generation and scoring verbs)
// and gets the GPU. A verb without one runs on the CPU: `auto` with a GPU present says so; an explicit cuda[:N] is an error.
ResolvedDevice choose_device(const std::string& flag, const std::string& config_value, Precision precision,
                             bool runs_on_cuda = false);

// The device of an inference verb (generate, chat, eval, score, pairs, bench generate), which runs
// models on a GPU: the flag, else `config_value`, else auto (the first GPU when one answers). Logs the
// choice (name, memory, precision) and returns the CUDA ordinal, or -1 for the CPU.
int choose_inference_device(const std::string& flag, const std::string& config_value, Precision precision);

// The GPU of this process for a training verb on `device` (CUDA): itself in one process; under
// mpirun/srun (data-parallel, issue 19) cuda:LOCAL_RANK, one GPU per process of a node. Fails with
// one line when an explicit cuda:N (N > 0) is given under mpirun or this rank's GPU does not exist
// (more ranks on a node than GPUs).
int rank_cuda_device(const ResolvedDevice& device);

}  // namespace tt::cli
