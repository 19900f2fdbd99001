#include "kernels/device.h"

#include <dlfcn.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <utility>
#include <vector>

#include "core/error.h"
#include "kernels/cuda/plugin_api.h"

namespace tt {

namespace {

constexpr const char* kPluginFile = "libtinythink_cuda.so";

std::vector<std::string> plugin_candidates() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("TINYTHINK_CUDA_PLUGIN"); env && *env) paths.emplace_back(env);
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) paths.push_back((exe.parent_path() / kPluginFile).string());
  paths.emplace_back(kPluginFile);  // the dynamic loader's search path
  return paths;
}

// The loaded plugin's probe function, or the reason it could not be loaded (kept for the process).
struct Plugin {
  TtCudaProbeFn probe = nullptr;
  void* handle = nullptr;
  std::string error;
  bool built = false;  // a plugin file was found (whether or not it loaded)
};

Plugin load_plugin() {
  Plugin plugin;
  std::string tried;
  for (const std::string& path : plugin_candidates()) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = dlerror();
      // A plugin that exists but does not load (missing libcudart, ...) is the interesting reason;
      // none found anywhere means a build without the backend ("not built" below).
      if (std::filesystem::exists(path)) {
        tried = why ? why : path;
        plugin.built = true;
      }
      continue;
    }
    plugin.built = true;
    auto abi = reinterpret_cast<TtCudaAbiFn>(dlsym(handle, "tt_cuda_plugin_abi"));
    auto probe = reinterpret_cast<TtCudaProbeFn>(dlsym(handle, "tt_cuda_probe"));
    if (!abi || !probe || abi() != kTtCudaPluginAbi) {
      plugin.error = fmt::format("{} is not a tinythink CUDA plugin of this version", path);
      return plugin;
    }
    plugin.probe = probe;
    plugin.handle = handle;
    return plugin;
  }
  plugin.error = fmt::format("the CUDA backend is not available ({})", tried.empty() ? "not built" : tried);
  return plugin;
}

const Plugin& plugin() {
  static const Plugin loaded = load_plugin();
  return loaded;
}

}  // namespace

void* cuda_plugin_symbol(const char* name, std::string& why_not) {
  if (!plugin().handle) {
    why_not = plugin().error;
    return nullptr;
  }
  void* symbol = dlsym(plugin().handle, name);
  if (!symbol) why_not = fmt::format("the CUDA plugin has no {} (an older plugin?)", name);
  return symbol;
}

DeviceSpec parse_device(const std::string& text, const std::string& where) {
  if (text == "auto") return {DeviceKind::Auto, 0};
  if (text == "cpu") return {DeviceKind::CPU, 0};
  if (text == "cuda") return {DeviceKind::CUDA, 0};
  if (text.starts_with("cuda:")) {
    const char* begin = text.data() + 5;
    const char* end = text.data() + text.size();
    int index = -1;
    auto [ptr, ec] = std::from_chars(begin, end, index);
    if (ec == std::errc() && ptr == end && begin != end && index >= 0) return {DeviceKind::CUDA, index};
  }
  fail("{}: expected auto, cpu, cuda or cuda:N, got '{}'", where, text);
}

std::string device_spec_name(const DeviceSpec& spec) {
  switch (spec.kind) {
    case DeviceKind::Auto: return "auto";
    case DeviceKind::CPU: return "cpu";
    case DeviceKind::CUDA: return fmt::format("cuda:{}", spec.index);
  }
  return "?";
}

std::string probe_cuda_device(int index, ResolvedDevice& device) {
  const Plugin& loaded = plugin();
  device.no_cuda_here = !loaded.built;
  if (!loaded.probe) return loaded.error;
  TtCudaDeviceInfo info;
  char error[512] = {};
  const int status = loaded.probe(index, &info, error, sizeof(error));
  device.no_cuda_here = info.driver_version == 0;  // the probe reads the driver version first
  if (status != 0) return error;
  device.kind = DeviceKind::CUDA;
  device.index = info.index;
  device.name = info.name;
  device.total_memory = info.total_memory;
  device.free_memory = info.free_memory;
  device.compute_major = info.compute_major;
  device.compute_minor = info.compute_minor;
  device.bf16_tensor_cores = info.bf16_tensor_cores != 0;
  return "";
}

ResolvedDevice resolve_device(const DeviceSpec& spec) {
  ResolvedDevice device;
  if (spec.kind == DeviceKind::CPU) return device;
  std::string reason = probe_cuda_device(spec.index, device);
  if (reason.empty()) return device;
  if (spec.kind == DeviceKind::CUDA) fail("--device {}: {}", device_spec_name(spec), reason);
  const bool no_cuda_here = device.no_cuda_here;
  device = ResolvedDevice{};
  device.fallback_reason = reason;
  device.no_cuda_here = no_cuda_here;
  return device;
}

double bf16_dense_peak_tflops(const std::string& name) {
  // Vendor datasheets, dense (the "with sparsity" figures halved). First match wins: specific names first.
  static const std::pair<const char*, double> kPeaks[] = {
      {"H200 NVL", 835.0}, {"H200", 989.0},     {"H100 NVL", 835.0},  {"H100 PCIe", 756.0}, {"H100", 989.0},
      {"H800", 989.0},     {"GH200", 989.0},    {"A100", 312.0},      {"A800", 312.0},      {"L40S", 362.0},
      {"B200", 2250.0},
  };
  for (const auto& [key, tflops] : kPeaks)
    if (name.find(key) != std::string::npos) return tflops;
  return 0.0;
}

std::string describe_device(const ResolvedDevice& device, Precision precision) {
  if (device.kind == DeviceKind::CPU)
    return device.fallback_reason.empty()
               ? fmt::format("device: cpu ({})", precision_name(precision))
               : fmt::format("device: cpu ({}; CUDA not used: {})", precision_name(precision), device.fallback_reason);
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  return fmt::format("device: cuda:{} {} ({:.1f} GiB, {:.1f} GiB free, sm_{}{}, {}{})", device.index, device.name,
                     device.total_memory / kGiB, device.free_memory / kGiB, device.compute_major,
                     device.compute_minor, precision_name(precision),
                     precision == Precision::BF16 && !device.bf16_tensor_cores ? " emulated" : "");
}

}  // namespace tt
