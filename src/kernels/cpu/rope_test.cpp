#include "kernels/cpu/rope.h"

#include <cmath>
#include <complex>

#include <gtest/gtest.h>

#include "core/error.h"

#include "tests/gradcheck.h"

namespace tt {
namespace {

RopeParams rope_config(RopeStyle style) { return {.style = style, .head_dim = 8, .theta = 10000.0, .scaling = {}}; }

TEST(Rope, InterleavedIsComplexMultiplication) {
  RopeParams config = rope_config(RopeStyle::Interleaved);
  RopeTable table = make_rope_table(config, 32);
  auto x = testing::random_vector(2 * 3 * 8, 1);  // 2 tokens, 3 heads
  auto original = x;
  std::vector<int32_t> pos = {5, 17};
  rope_forward(x.data(), pos.data(), 2, 3, table);
  for (int t = 0; t < 2; ++t)
    for (int h = 0; h < 3; ++h)
      for (int i = 0; i < 4; ++i) {
        const float* o = &original[(t * 3 + h) * 8];
        double freq = std::pow(10000.0, -2.0 * i / 8.0);
        std::complex<double> z(o[2 * i], o[2 * i + 1]);
        z *= std::polar(1.0, pos[t] * freq);
        EXPECT_NEAR(x[(t * 3 + h) * 8 + 2 * i], z.real(), 1e-5);
        EXPECT_NEAR(x[(t * 3 + h) * 8 + 2 * i + 1], z.imag(), 1e-5);
      }
}

TEST(Rope, RotateHalfPairsTheHalves) {
  RopeParams config = rope_config(RopeStyle::RotateHalf);
  RopeTable table = make_rope_table(config, 32);
  auto x = testing::random_vector(8, 2);
  auto o = x;
  int32_t pos = 9;
  rope_forward(x.data(), &pos, 1, 1, table);
  for (int i = 0; i < 4; ++i) {
    double angle = pos * std::pow(10000.0, -2.0 * i / 8.0);
    EXPECT_NEAR(x[i], o[i] * std::cos(angle) - o[i + 4] * std::sin(angle), 1e-5);
    EXPECT_NEAR(x[i + 4], o[i + 4] * std::cos(angle) + o[i] * std::sin(angle), 1e-5);
  }
}

TEST(Rope, BackwardIsTheTransposeOfForward) {
  for (RopeStyle style : {RopeStyle::Interleaved, RopeStyle::RotateHalf}) {
    RopeParams config = rope_config(style);
    RopeTable table = make_rope_table(config, 64);
    auto x = testing::random_vector(3 * 2 * 8, 3), probe = testing::random_vector(3 * 2 * 8, 4);
    std::vector<int32_t> pos = {0, 13, 63};
    std::vector<float> y;
    auto loss = [&] {
      y = x;
      rope_forward(y.data(), pos.data(), 3, 2, table);
      return testing::dot(y, probe);
    };
    auto dx = probe;
    rope_backward(dx.data(), pos.data(), 3, 2, table);
    testing::expect_gradient_matches(x, dx, loss, "dx");
  }
}

TEST(Rope, Llama3ScalingKeepsHighAndDividesLowFrequencies) {
  RopeParams config = rope_config(RopeStyle::RotateHalf);
  config.head_dim = 64;
  config.theta = 500000.0;
  config.scaling = {"llama3", 8.0, 1.0, 4.0, 8192};
  auto scaled = rope_inverse_frequencies(config);
  config.scaling = {};
  auto plain = rope_inverse_frequencies(config);
  EXPECT_FLOAT_EQ(scaled[0], plain[0]);                 // wavelength 2π < 2048: unchanged
  EXPECT_FLOAT_EQ(scaled[31], plain[31] / 8.0f);        // longest wavelength: divided by the factor
  config.scaling.type = "yarn";
  EXPECT_THROW(rope_inverse_frequencies(config), Error);
}

TEST(Rope, PositionOutsideTableIsAnError) {
  RopeParams config = rope_config(RopeStyle::Interleaved);
  RopeTable table = make_rope_table(config, 4);
  std::vector<float> x(8);
  int32_t pos = 4;
  EXPECT_THROW(rope_forward(x.data(), &pos, 1, 1, table), Error);
}

}  // namespace
}  // namespace tt
