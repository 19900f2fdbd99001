// The per-op table of `bench train --profile` and `bench generate --profile`: rows of an op_profile
// run (core/op_profile.h) per step, with the time no op claimed as "other (outside kernels)".
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/op_profile.h"

namespace tt::cli {

// Prints the table on stderr (ms per step, share of the timed time, calls per step, then the GEMMs'
// total: every "matmul", "small gemm" and "packed gemm" row) and returns its rows for the JSON.
nlohmann::json profile_json(const std::vector<OpTime>& rows, double timed_s, int64_t steps);

}  // namespace tt::cli
