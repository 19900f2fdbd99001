#include "cli/profile_table.h"

#include <cstdio>
#include <string_view>

namespace tt::cli {

namespace {

bool is_gemm(std::string_view op) {
  return op.starts_with("matmul") || op == "small gemm" || op.starts_with("packed gemm");
}

}  // namespace

nlohmann::json profile_json(const std::vector<OpTime>& rows, double timed_s, int64_t steps) {
  nlohmann::json out = nlohmann::json::array();
  double claimed = 0.0, gemm = 0.0;
  for (const OpTime& r : rows) {
    claimed += r.self_s;
    if (is_gemm(r.name)) gemm += r.self_s;
  }
  std::vector<OpTime> all = rows;
  all.push_back({"other (outside kernels)", timed_s - claimed, timed_s - claimed, 0});
  std::fprintf(stderr, "| op | ms / step | share | calls / step |\n|---|---:|---:|---:|\n");
  for (const OpTime& r : all) {
    const double ms = 1e3 * r.self_s / steps, share = r.self_s / timed_s;
    std::fprintf(stderr, "| %s | %.3f | %.1f%% | %.0f |\n", r.name.c_str(), ms, 100 * share,
                 static_cast<double>(r.calls) / steps);
    out.push_back({{"op", r.name}, {"ms_per_step", ms}, {"share", share}, {"calls_per_step", r.calls / steps}});
  }
  std::fprintf(stderr, "| GEMMs (matmul, small gemm and packed gemm rows) | %.3f | %.1f%% | |\n", 1e3 * gemm / steps,
               100 * gemm / timed_s);
  return out;
}

}  // namespace tt::cli
