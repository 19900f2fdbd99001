#include "kernels/cpu/swiglu.h"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/gradcheck.h"
#include "tests/isa_paths.h"

namespace tt {
namespace {

TEST(SwiGlu, ForwardMatchesDefinition) {
  const int64_t n = 37;  // exercises the vector body and the scalar tail
  auto g = testing::random_vector(n, 1, 3.0f), u = testing::random_vector(n, 2);
  std::vector<float> out(n);
  swiglu_forward(out.data(), g.data(), u.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    double silu = g[i] / (1.0 + std::exp(-double(g[i])));
    EXPECT_NEAR(out[i], silu * u[i], 1e-5 * (1 + std::fabs(silu * u[i])));
  }
}

TEST(SwiGlu, BackwardMatchesFiniteDifferences) {
  const int64_t n = 29;
  auto g = testing::random_vector(n, 3, 2.0f), u = testing::random_vector(n, 4), probe = testing::random_vector(n, 5);
  std::vector<float> out(n), dg(n), du(n);
  auto loss = [&] {
    swiglu_forward(out.data(), g.data(), u.data(), n);
    return testing::dot(out, probe);
  };
  swiglu_backward(dg.data(), du.data(), probe.data(), g.data(), u.data(), n);
  testing::expect_gradient_matches(g, dg, loss, "dgate", 29);
  testing::expect_gradient_matches(u, du, loss, "dup", 29);
}

// Lane-wise arithmetic with a masked tail: every path gives the same bits, tail included.
TEST(SwiGlu, EveryPathGivesTheSameBits) {
  const int64_t n = 3 * 4096 + 45;  // several parallel chunks and a tail narrower than any vector
  auto g = testing::random_vector(n, 6, 6.0f), u = testing::random_vector(n, 7), d = testing::random_vector(n, 8);
  g[3] = -100.0f;  // exp underflow
  g[4] = 100.0f;
  std::vector<float> out(n), dg(n), du(n);
  testing::RestoreIsa restore;
  select_isa(Isa::AVX2);
  swiglu_forward(out.data(), g.data(), u.data(), n);
  swiglu_backward(dg.data(), du.data(), d.data(), g.data(), u.data(), n);
  testing::on_every_isa([&](Isa) {
    std::vector<float> out2(n), dg2(n), du2(n);
    swiglu_forward(out2.data(), g.data(), u.data(), n);
    swiglu_backward(dg2.data(), du2.data(), d.data(), g.data(), u.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(out2[i], out[i]) << i;
      ASSERT_EQ(dg2[i], dg[i]) << i;
      ASSERT_EQ(du2[i], du[i]) << i;
    }
  });
}

}  // namespace
}  // namespace tt
