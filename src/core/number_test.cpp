#include "core/number.h"

#include <cmath>

#include <gtest/gtest.h>

namespace tt {
namespace {

TEST(ParseDouble, ReadsWhatPythonsFloatReads) {
  EXPECT_EQ(parse_double("0.5"), 0.5);
  EXPECT_EQ(parse_double("-2e-3"), -2e-3);
  EXPECT_EQ(parse_double("1e-320"), 1e-320);  // a subnormal: std::stod throws out_of_range on it
  EXPECT_EQ(parse_double("1e-400"), 0.0);     // underflows to 0, as float("1e-400")
  EXPECT_TRUE(std::isinf(*parse_double("inf")));
  EXPECT_TRUE(std::isnan(*parse_double("nan")));
  for (const char* bad : {"", " 1", "1 ", "1e400", "-1e400", "1.5x", "fast", "0x"})
    EXPECT_FALSE(parse_double(bad).has_value()) << "'" << bad << "'";
}

}  // namespace
}  // namespace tt
