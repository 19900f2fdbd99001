#include "kernels/cpu/swiglu.h"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/gradcheck.h"

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

}  // namespace
}  // namespace tt
