#include "core/precision.h"

#include "core/error.h"

namespace tt {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::FP32;
  if (name == "bf16") return Precision::BF16;
  fail("unknown precision '{}' (expected fp32 or bf16)", name);
}

const char* precision_name(Precision precision) { return precision == Precision::FP32 ? "fp32" : "bf16"; }

}  // namespace tt
