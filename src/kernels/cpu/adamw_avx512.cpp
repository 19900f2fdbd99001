// The fused AdamW pass on AVX-512 (compiled with AVX-512 enabled; called only when the CPU has it).
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/vec_avx512.h"
#include "kernels/cpu/adamw_kernel.h"

namespace tt {

void isa_paths::adamw_update_run_avx512(const AdamWBuffers& buffers, int64_t begin, int64_t count, float decay,
                                 const AdamWScalars& scalars) {
  adamw_update_run<Avx512>(buffers, begin, count, decay, scalars);
}

}  // namespace tt
