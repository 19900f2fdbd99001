// The arithmetic precision of a run: fp32 everywhere, or bf16 matmul inputs with fp32 accumulation
// (fp32 master weights, optimizer state and loss arithmetic). Chosen by trainers, the engine,
// evaluation and benchmarks; executed by the kernels of each backend. "auto" picks bf16 where the
// CPU has native bf16 dot products (AVX512_BF16 or AMX) and fp32 where it has not (bf16 there is
// emulated: conversions on top of fp32 arithmetic, slower and less exact).
#pragma once
#include <string>

#include "core/cpu_features.h"

namespace tt {

enum class Precision { FP32, BF16 };

inline constexpr const char* kPrecisionHelp =
    "auto (bf16 where the CPU has native bf16 dot products, else fp32), fp32 or bf16";

// "fp32" | "bf16" | "auto" (resolved on this CPU), else tt::Error.
Precision parse_precision(const std::string& name);
// The line a run logs at its start, e.g. "auto -> fp32 (no native bf16 dot products; CPU paths: avx2
// avx512; kernels on avx512)".
std::string describe_precision(const std::string& requested, Precision chosen);
Precision auto_precision(const CpuFeatures& features);
const char* precision_name(Precision precision);

}  // namespace tt
