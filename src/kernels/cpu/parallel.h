// When a loop is worth a parallel region: below this many elements of work, waking the other
// threads costs more than it saves (and on a busy machine a barrier can wait a whole time slice).
#pragma once
#include <cstdint>

namespace tt {

constexpr int64_t kMinParallelWork = int64_t{1} << 15;

// The same for a streaming pass of a few operations per element (RoPE, the norms' row-wise passes, a
// transpose): below a million elements one core does it in well under a millisecond, less than a
// barrier that waits for a descheduled thread costs on a loaded machine (the training step's profile
// under load: 30 RoPE calls of 512 tokens took 1.3 ms on a quiet 2-vCPU machine and 194 ms on a busy
// one, all of it waiting). Only for passes whose results do not depend on the thread count.
constexpr int64_t kMinParallelStreamingWork = int64_t{1} << 20;

}  // namespace tt
