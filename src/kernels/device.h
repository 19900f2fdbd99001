// Which device a run uses: `--device auto|cpu|cuda[:N]` (and `device:` in a training YAML).
// The CUDA backend is a plugin (libtinythink_cuda.so) loaded on demand, so a binary built with CUDA
// runs every CPU path on a machine without a GPU, driver or toolkit; `auto` then says why it falls
// back. The plugin is looked for in $TINYTHINK_CUDA_PLUGIN, beside the executable, then on the
// library path.
#pragma once
#include <cstdint>
#include <string>

#include "core/precision.h"

namespace tt {

enum class DeviceKind { Auto, CPU, CUDA };

struct DeviceSpec {
  DeviceKind kind = DeviceKind::Auto;
  int index = 0;  // CUDA device ordinal
};

// "auto" | "cpu" | "cuda" | "cuda:N"; anything else is a tt::Error naming `where`.
DeviceSpec parse_device(const std::string& text, const std::string& where = "--device");
std::string device_spec_name(const DeviceSpec& spec);

struct ResolvedDevice {
  DeviceKind kind = DeviceKind::CPU;  // CPU or CUDA, never Auto
  int index = 0;
  std::string name;                   // e.g. "NVIDIA H100 80GB HBM3"
  uint64_t total_memory = 0, free_memory = 0;
  int compute_major = 0, compute_minor = 0;
  bool bf16_tensor_cores = false;
  std::string fallback_reason;        // why `auto` chose the CPU ("" when it was asked for)
  bool no_cuda_here = false;          // no CUDA backend in this build, or no NVIDIA driver: nothing fell back
};

// Why the CUDA backend is unavailable ("" when a device answered); fills `device` when it is.
std::string probe_cuda_device(int index, ResolvedDevice& device);

// cpu: the CPU. cuda[:N]: that GPU, or a tt::Error with the reason. auto: the first GPU when one
// answers, else the CPU with fallback_reason set.
ResolvedDevice resolve_device(const DeviceSpec& spec);

// An entry point of the loaded CUDA plugin (e.g. "tt_cuda_generation_device"), or nullptr with the
// reason in why_not.
void* cuda_plugin_symbol(const char* name, std::string& why_not);

// The dense bf16 tensor-core peak (fp32 accumulation, no sparsity) of a GPU by its name, in TFLOP/s
// (e.g. 989 for an H100/H200 SXM); 0 when the name is not in the table.
double bf16_dense_peak_tflops(const std::string& device_name);

// One log line: "device: cuda:0 NVIDIA H100 (79.1 GiB, sm_90, bf16)" or "device: cpu (reason)".
std::string describe_device(const ResolvedDevice& device, Precision precision);

}  // namespace tt
