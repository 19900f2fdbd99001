#include "core/precision.h"

#include <fmt/format.h>

#include "core/error.h"

namespace tt {

Precision auto_precision(const CpuFeatures& features) {
  return has_native_bf16_dot(features) ? Precision::BF16 : Precision::FP32;
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::FP32;
  if (name == "bf16") return Precision::BF16;
  if (name == "auto") return auto_precision(cpu_features());
  fail("unknown precision '{}' (expected auto, fp32 or bf16)", name);
}

std::string describe_precision(const std::string& requested, Precision chosen) {
  std::string text = requested == "auto" ? fmt::format("auto -> {}", precision_name(chosen)) : precision_name(chosen);
  const CpuFeatures& cpu = cpu_features();
  return fmt::format("{} ({} native bf16 dot products; CPU paths: {}; kernels on {})", text,
                     has_native_bf16_dot(cpu) ? "with" : "no", cpu_feature_names(cpu), isa_name(active_isa()));
}

const char* precision_name(Precision precision) { return precision == Precision::FP32 ? "fp32" : "bf16"; }

}  // namespace tt
