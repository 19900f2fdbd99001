#include "kernels/cpu/rmsnorm.h"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/gradcheck.h"
#include "tests/isa_paths.h"

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

// Rows are normalised in groups (one row per vector lane) on every path; each row must get the bits
// a row normalised alone gets (a single row is never grouped), for any dim's vector tail, with and
// without weight, in place too.
TEST(RmsNorm, GroupedRowsGiveTheBitsOfARowAlone) {
  const int64_t rows = 2 * 16 + 5;
  for (int64_t dim : {1, 3, 4, 5, 7, 8, 9, 13, 16, 19, 64, 67, 576}) {
    auto x = random_vector(rows * dim, 8 + static_cast<uint32_t>(dim), 3.0f), w = random_vector(dim, 9);
    for (const float* weight : {static_cast<const float*>(w.data()), static_cast<const float*>(nullptr)}) {
      std::vector<float> y_alone(rows * dim), rstd_alone(rows);
      for (int64_t r = 0; r < rows; ++r)
        rmsnorm_forward(y_alone.data() + r * dim, rstd_alone.data() + r, x.data() + r * dim, weight, 1, dim, 1e-6f);
      testing::on_every_isa([&](Isa) {
        SCOPED_TRACE(::testing::Message() << "dim " << dim << (weight ? " weighted" : " weightless"));
        std::vector<float> y(rows * dim), rstd(rows), in_place = x;
        rmsnorm_forward(y.data(), rstd.data(), x.data(), weight, rows, dim, 1e-6f);
        rmsnorm_forward(in_place.data(), nullptr, in_place.data(), weight, rows, dim, 1e-6f);
        for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(rstd[r], rstd_alone[r]) << "row " << r;
        for (int64_t i = 0; i < rows * dim; ++i) {
          ASSERT_EQ(y[i], y_alone[i]) << "element " << i;
          ASSERT_EQ(in_place[i], y_alone[i]) << "element " << i << " in place";
        }
      });
    }
  }
}

}  // namespace
}  // namespace tt
