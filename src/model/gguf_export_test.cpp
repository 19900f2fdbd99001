// Field-by-field equality with the GGUF files llama.cpp's own convert_hf_to_gguf.py wrote for the same
// checkpoint (../shared/data/fixtures/gguf, see its README).
#include "model/gguf_export.h"

#include <gtest/gtest.h>

#include "core/error.h"

#include "tests/test_util.h"

namespace tt {
namespace {

std::string fixture(const std::string& name) { return testing::shared_dir() + "/data/fixtures/gguf/" + name; }

void expect_same_as_llama_cpp(GgufOutType outtype, const std::string& reference) {
  GgufContents ours = parse_gguf(serialize_gguf(build_gguf(fixture("llama-tiny"), {.outtype = outtype})), "ours");
  GgufContents theirs = read_gguf(fixture(reference));
  ASSERT_EQ(ours.metadata.size(), theirs.metadata.size());
  for (size_t i = 0; i < theirs.metadata.size(); ++i) {
    EXPECT_EQ(ours.metadata[i].key, theirs.metadata[i].key) << "metadata #" << i;
    EXPECT_TRUE(ours.metadata[i].value == theirs.metadata[i].value)
        << theirs.metadata[i].key << ": ours " << ours.metadata[i].value.describe() << ", llama.cpp "
        << theirs.metadata[i].value.describe();
  }
  ASSERT_EQ(ours.tensors.size(), theirs.tensors.size());
  for (size_t i = 0; i < theirs.tensors.size(); ++i) {
    const auto &a = ours.tensors[i], &b = theirs.tensors[i];
    EXPECT_EQ(a.name, b.name) << "tensor #" << i;
    EXPECT_EQ(a.type, b.type) << b.name;
    EXPECT_EQ(a.dims, b.dims) << b.name;
    EXPECT_TRUE(a.data == b.data) << b.name << ": bytes differ";
  }
}

TEST(GgufExport, F32MatchesLlamaCppConverter) { expect_same_as_llama_cpp(GgufOutType::F32, "model-f32.gguf"); }
TEST(GgufExport, F16MatchesLlamaCppConverter) { expect_same_as_llama_cpp(GgufOutType::F16, "model-f16.gguf"); }

TEST(GgufExport, PermuteRopeRowsInterleavesHalves) {
  // one head, head_dim 4, one input column: rows [a0 a1 | b0 b1] -> [a0 b0 a1 b1]
  float src[4] = {0, 1, 2, 3}, dst[4];
  permute_rope_rows(src, dst, 1, 4, 1);
  EXPECT_EQ(std::vector<float>(dst, dst + 4), (std::vector<float>{0, 2, 1, 3}));
}

TEST(GgufExport, RejectsUnknownOuttype) { EXPECT_THROW(parse_gguf_outtype("q4_0"), Error); }

}  // namespace
}  // namespace tt
