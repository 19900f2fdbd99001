// .ttshard token shards: header, section bounds, checksums, index, metadata; then every example.
// With TT_FUZZ_WRITE_SEED=PATH the target writes a small valid shard there and exits (the seed
// corpus of scripts/fuzz.sh).
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "data/shard.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* seed = std::getenv("TT_FUZZ_WRITE_SEED")) {
    tt::TokenShardWriter writer(seed);
    const uint32_t a = writer.source_index("a"), b = writer.source_index("b");
    writer.add(std::vector<int32_t>{1, 2, 3, 4, 5}, std::vector<uint8_t>{0, 0, 1, 1, 1}, a);
    writer.add(std::vector<int32_t>{7, 8}, std::vector<uint8_t>{1, 1}, b);
    writer.set_metadata({{"tokenizer", "fuzz"}});
    writer.finish();
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tt::fuzz::write_input(data, size, "data.ttshard");
  try {
    tt::TokenShard shard = tt::TokenShard::open(path);
    int64_t sum = 0;
    for (size_t i = 0; i < shard.size(); ++i) {
      tt::ShardExample e = shard.example(i);
      for (int32_t t : e.tokens) sum += t;
      for (uint8_t m : e.loss_mask) sum += m;
    }
    (void)sum;
  } catch (const tt::Error&) {
  }
  return 0;
}
