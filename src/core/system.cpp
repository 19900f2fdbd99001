#include "core/system.h"

#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace tt {

double peak_rss_mb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

namespace {

std::string cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  return "";
}

}  // namespace

std::string cpu_model_name() {
  std::string name = cpuinfo_field("model name");
  return name.empty() ? "unknown" : name;
}

std::string cpu_simd_summary() {
  std::istringstream flags(cpuinfo_field("flags"));
  std::string flag, out;
  for (const char* wanted : {"avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}) {
    flags.clear();
    flags.seekg(0);
    while (flags >> flag)
      if (flag == wanted) {
        out += (out.empty() ? "" : " ") + flag;
        break;
      }
  }
  return out;
}

int thread_count() { return omp_get_max_threads(); }

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double load_average() {
  std::ifstream file("/proc/loadavg");
  double load = -1;
  if (!(file >> load)) return -1;
  return load;
}

}  // namespace tt
