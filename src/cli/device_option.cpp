#include "cli/device_option.h"

#include <CLI/CLI.hpp>

#include "core/communicator.h"
#include "core/error.h"
#include "core/log.h"
#include "infer/device_engine.h"

namespace tt::cli {

void add_device_option(CLI::App* cmd, std::string& device) {
  cmd->add_option("--device", device, "auto, cpu, cuda or cuda:N (default: the config's device, else auto)");
}

ResolvedDevice choose_device(const std::string& flag, const std::string& config_value, Precision precision,
                             bool runs_on_cuda) {
  const std::string text = !flag.empty() ? flag : !config_value.empty() ? config_value : "auto";
  const DeviceSpec spec = parse_device(text, flag.empty() ? "device" : "--device");
  ResolvedDevice device = resolve_device(spec);
  if (device.kind == DeviceKind::CUDA && runs_on_cuda) {
    log_info("{}", describe_device(device, precision));
    return device;
  }
  if (device.kind == DeviceKind::CUDA) {
    const std::string found = describe_device(device, precision);
    if (spec.kind == DeviceKind::CUDA)
      fail("--device {}: {} found, but this verb runs on the CPU only (the CUDA backend runs `sft`, `dpo`, "
           "`bench train` and the generation and scoring verbs so far); use --device cpu or auto",
           device_spec_name(spec), device.name);
    log_info("{} found; this verb runs on the CPU only (the CUDA backend runs `sft`, `dpo`, `bench train` and "
             "the generation and scoring verbs so far)",
             found);
    ResolvedDevice cpu;
    cpu.fallback_reason = "no CUDA path for this verb";
    return cpu;
  }
  // `auto` on a machine with no NVIDIA driver, or with a build that has no CUDA backend, is the ordinary
  // CPU case: nothing fell back, so nothing is said (a one-line error stays the only line). Any other
  // fallback reason (a driver without a usable device, a broken plugin) is logged.
  if (!(spec.kind == DeviceKind::Auto && device.no_cuda_here)) log_info("{}", describe_device(device, precision));
  return device;
}

int choose_inference_device(const std::string& flag, const std::string& config_value, Precision precision) {
  const std::string text = !flag.empty() ? flag : !config_value.empty() ? config_value : "auto";
  return infer::choose_engine_device(text, flag.empty() ? "device" : "--device", precision);
}

int rank_cuda_device(const ResolvedDevice& device) {
  const Communicator& world = Communicator::world();
  if (!world.distributed()) return device.index;
  if (device.index != 0)
    fail("--device cuda:{} under mpirun: each data-parallel rank trains on cuda:LOCAL_RANK; pass --device cuda",
         device.index);
  const int index = world.local_rank();
  ResolvedDevice mine;
  if (const std::string why = probe_cuda_device(index, mine); !why.empty())
    fail("rank {} (local rank {}) needs cuda:{}: {} (data-parallel: at most as many ranks per node as GPUs)",
         world.rank(), index, index, why);
  return index;
}

}  // namespace tt::cli
