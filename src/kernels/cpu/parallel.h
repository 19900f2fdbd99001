// When a loop is worth a parallel region: below this many elements of work, waking the other
// threads costs more than it saves (and on a busy machine a barrier can wait a whole time slice).
#pragma once
#include <cstdint>

namespace tt {

constexpr int64_t kMinParallelWork = int64_t{1} << 15;

}  // namespace tt
