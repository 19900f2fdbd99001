// Non-finite numbers (NaN, Inf) are refused where weights enter or leave: a checkpoint with a NaN
// weight fails on load and on save, naming the tensor, instead of scoring or training on silently.
#pragma once
#include <cstddef>
#include <optional>
#include <string>

#include "model/checkpoint.h"

namespace tt {

// Index of the first NaN or Inf among p[0..n), if any.
std::optional<size_t> first_non_finite(const float* p, size_t n);

// Fails with "<where>: tensor NAME has a non-finite value (nan) at element I" for the first one.
void check_finite_parameters(const Model& model, const std::string& where);

}  // namespace tt
