#include "kernels/cpu/rmsnorm.h"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/gradcheck.h"

namespace tt {
namespace {

using testing::random_vector;

TEST(RmsNorm, ForwardMatchesDefinition) {
  const int64_t rows = 3, dim = 37;
  auto x = random_vector(rows * dim, 1), w = random_vector(dim, 2);
  std::vector<float> y(rows * dim), rstd(rows);
  rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), rows, dim, 1e-5f);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += double(x[r * dim + i]) * x[r * dim + i];
    double s = 1.0 / std::sqrt(ss / dim + 1e-5);
    EXPECT_NEAR(rstd[r], s, 1e-5 * s);
    for (int64_t i = 0; i < dim; ++i) EXPECT_NEAR(y[r * dim + i], x[r * dim + i] * s * w[i], 1e-5);
  }
}

TEST(RmsNorm, BackwardMatchesFiniteDifferences) {
  const int64_t rows = 4, dim = 19;
  auto x = random_vector(rows * dim, 3), w = random_vector(dim, 4), probe = random_vector(rows * dim, 5);
  std::vector<float> y(rows * dim), rstd(rows), dx(rows * dim), dw(dim, 0.0f);
  auto loss = [&] {
    rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), rows, dim, 1e-5f);
    return testing::dot(y, probe);
  };
  loss();
  rmsnorm_backward(dx.data(), dw.data(), probe.data(), x.data(), w.data(), rstd.data(), rows, dim);
  testing::expect_gradient_matches(x, dx, loss, "dx");
  testing::expect_gradient_matches(w, dw, loss, "dweight");
}

TEST(RmsNorm, WeightlessBackwardFromOutputMatchesFiniteDifferences) {
  const int64_t rows = 5, dim = 16;
  auto x = random_vector(rows * dim, 6), probe = random_vector(rows * dim, 7);
  std::vector<float> y(rows * dim), rstd(rows), dx(rows * dim), dx2(rows * dim);
  auto loss = [&] {
    rmsnorm_forward(y.data(), rstd.data(), x.data(), nullptr, rows, dim, 1e-5f);
    return testing::dot(y, probe);
  };
  loss();
  l2norm_backward_from_output(dx.data(), probe.data(), y.data(), rstd.data(), rows, dim);
  rmsnorm_backward(dx2.data(), nullptr, probe.data(), x.data(), nullptr, rstd.data(), rows, dim);
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx[i], dx2[i], 1e-5);
  testing::expect_gradient_matches(x, dx, loss, "dx");
}

}  // namespace
}  // namespace tt
