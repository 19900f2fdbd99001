// Facts about the machine and process, printed with every benchmark figure.
#pragma once
#include <string>

namespace tt {

double peak_rss_mb();           // getrusage maximum resident set size
std::string cpu_model_name();   // /proc/cpuinfo "model name"
std::string cpu_simd_summary(); // e.g. "avx2 fma" or "avx512f avx512_bf16 amx_bf16"
int thread_count();             // OpenMP threads in use
double now_seconds();           // steady clock
double load_average();          // /proc/loadavg, the last minute's (-1 where unknown)

}  // namespace tt
