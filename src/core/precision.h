// The arithmetic precision of a run: fp32 everywhere, or bf16 matmul inputs with fp32 accumulation
// (fp32 master weights, optimizer state and loss arithmetic). Chosen by trainers, the engine,
// evaluation and benchmarks; executed by the kernels of each backend.
#pragma once
#include <string>

namespace tt {

enum class Precision { FP32, BF16 };

Precision parse_precision(const std::string& name);  // "fp32" | "bf16", else tt::Error
const char* precision_name(Precision precision);

}  // namespace tt
