#include "core/precision.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace tt {
namespace {

TEST(Precision, AutoIsBf16OnlyWithNativeBf16DotProducts) {
  EXPECT_EQ(auto_precision({.avx2 = true}), Precision::FP32);
  EXPECT_EQ(auto_precision({.avx2 = true, .avx512 = true}), Precision::FP32);  // Ice Lake: bf16 emulated
  EXPECT_EQ(auto_precision({.avx2 = true, .avx512 = true, .avx512_bf16 = true}), Precision::BF16);  // Zen 4
  EXPECT_EQ(auto_precision({.avx2 = true, .avx512 = true, .avx512_bf16 = true, .amx = true}), Precision::BF16);
  EXPECT_EQ(parse_precision("auto"), auto_precision(cpu_features()));
  const std::string line = describe_precision("auto", Precision::FP32);
  EXPECT_EQ(line.rfind("auto -> fp32 (", 0), 0u) << line;
  EXPECT_NE(line.find(std::string("kernels on ") + isa_name(active_isa())), std::string::npos) << line;
}

TEST(Precision, NamesRoundTripAndUnknownIsRefused) {
  EXPECT_EQ(parse_precision("fp32"), Precision::FP32);
  EXPECT_EQ(parse_precision("bf16"), Precision::BF16);
  EXPECT_STREQ(precision_name(parse_precision("bf16")), "bf16");
  try {
    parse_precision("fp16");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "unknown precision 'fp16' (expected auto, fp32 or bf16)");
  }
}

}  // namespace
}  // namespace tt
