#include "kernels/cpu/adamw.h"

#include <algorithm>

#include "core/parallel_for.h"
#include "core/cpu_features.h"
#include "core/op_profile.h"
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/parallel.h"

namespace tt {

namespace {

constexpr int64_t kAdamWChunk = int64_t{1} << 14;  // elements per parallel work item

struct Chunk {
  int64_t begin, count;
  float decay;
};

std::vector<Chunk> split_into_chunks(const std::vector<AdamWSegment>& segments) {
  std::vector<Chunk> chunks;
  for (const AdamWSegment& s : segments)
    for (int64_t c = 0; c < s.count; c += kAdamWChunk)
      chunks.push_back({s.offset + c, std::min(kAdamWChunk, s.count - c), s.decay});
  return chunks;
}

}  // namespace

void adamw_fused_update(const AdamWBuffers& buffers, const std::vector<AdamWSegment>& segments,
                        const AdamWScalars& scalars) {
  OpScope scope("adamw (fused: clip scale, update, zero grads, bf16 copy)");
  const std::vector<Chunk> chunks = split_into_chunks(segments);
  const bool avx512 = active_isa() >= Isa::AVX512;
  int64_t total = 0;
  for (const AdamWSegment& s : segments) total += s.count;
  const int64_t n = static_cast<int64_t>(chunks.size());
  parallel_for(n, total > kMinParallelWork, [&](int64_t c) {
    if (avx512)
      isa_paths::adamw_update_run_avx512(buffers, chunks[c].begin, chunks[c].count, chunks[c].decay, scalars);
    else
      isa_paths::adamw_update_run_avx2(buffers, chunks[c].begin, chunks[c].count, chunks[c].decay, scalars);
  });
}

}  // namespace tt
