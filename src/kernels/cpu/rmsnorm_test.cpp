#include "kernels/cpu/rmsnorm.h"

#include <omp.h>

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

// The backward as it was before its rows were grouped: one row after another in the rows the static
// schedule gives each thread, each row's dot product one scalar chain, the per-thread weight
// gradients summed in thread order. Its fused multiply-adds are written out where the x86-64-v3
// build put them (contraction off here, so the compiler adds none of its own).
__attribute__((optimize("fp-contract=off"))) void plain_rmsnorm_backward(float* dx, float* dweight, const float* dy,
                                                                          const float* x, const float* weight,
                                                                          const float* rstd, int64_t rows,
                                                                          int64_t dim, bool parallel) {
  const bool want_dweight = weight && dweight;
  const int threads = omp_get_max_threads();
  std::vector<float> partial(want_dweight ? static_cast<size_t>(threads) * dim : 0, 0.0f);
#pragma omp parallel if (parallel)
  {
    float* my_dweight = want_dweight ? partial.data() + omp_get_thread_num() * dim : nullptr;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * dim;
      const float* dyr = dy + r * dim;
      const float s = rstd[r];
      float dot = 0.0f;
      for (int64_t i = 0; i < dim; ++i) {
        if (weight)
          dot = std::fma(dyr[i] * weight[i] * xr[i], s, dot);
        else
          dot = std::fma(dyr[i] * xr[i], s, dot);
        if (my_dweight) my_dweight[i] = std::fma(xr[i] * dyr[i], s, my_dweight[i]);
      }
      const float mean = dot / static_cast<float>(dim);
      for (int64_t i = 0; i < dim; ++i) {
        const float xs = xr[i] * s;
        dx[r * dim + i] = s * (weight ? std::fma(dyr[i], weight[i], -(xs * mean)) : std::fma(-xs, mean, dyr[i]));
      }
    }
  }
  if (want_dweight)
    for (int t = 0; t < threads; ++t)
      for (int64_t i = 0; i < dim; ++i) dweight[i] += partial[t * dim + i];
}

// Rows are processed 8 at a time (one row per vector lane for the dot products) inside each
// thread's rows: every dx, and the weight gradient, keep the plain loops' bits, on 1, 2 and 3 threads
// (70 x 576 and up are above the parallel threshold), for any dim's vector tail; the _add form equals the
// backward followed by the residual add; the recomputation from rstd equals the forward.
TEST(RmsNorm, BackwardGivesThePlainLoopsBits) {
  const int saved_threads = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    for (auto [rows, dim] : std::vector<std::pair<int64_t, int64_t>>{{37, 1}, {37, 3}, {37, 7}, {37, 8}, {37, 9},
                                                                   {37, 19}, {37, 64}, {37, 67}, {512, 576},
                                                                   {70, 576}, {71, 576}}) {
      SCOPED_TRACE(::testing::Message() << threads << " threads, " << rows << " x " << dim);
      const uint32_t seed = static_cast<uint32_t>(rows * 1000 + dim);
      auto x = random_vector(rows * dim, seed, 2.0f), w = random_vector(dim, seed + 1);
      auto dy = random_vector(rows * dim, seed + 2), residual = random_vector(rows * dim, seed + 3);
      std::vector<float> y(rows * dim), rstd(rows);
      rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), rows, dim, 1e-5f);
      std::vector<float> again(rows * dim, -1.0f);
      rmsnorm_forward_from_rstd(again.data(), x.data(), w.data(), rstd.data(), rows, dim);
      ASSERT_EQ(again, y);
      for (const float* weight : {static_cast<const float*>(w.data()), static_cast<const float*>(nullptr)}) {
        SCOPED_TRACE(weight ? "weighted" : "weightless");
        std::vector<float> dx_ref(rows * dim), dw_ref(dim, 0.5f), dx(rows * dim), dw(dim, 0.5f);
        plain_rmsnorm_backward(dx_ref.data(), dw_ref.data(), dy.data(), x.data(), weight, rstd.data(), rows, dim,
                               rows * dim > (int64_t{1} << 15));
        rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), weight, rstd.data(), rows, dim);
        for (int64_t i = 0; i < rows * dim; ++i) ASSERT_EQ(dx[i], dx_ref[i]) << "dx element " << i;
        for (int64_t i = 0; i < dim; ++i) ASSERT_EQ(dw[i], dw_ref[i]) << "dweight element " << i;
        std::vector<float> sum = residual, dw_add(dim, 0.5f);
        rmsnorm_backward_add(sum.data(), dw_add.data(), dy.data(), x.data(), weight, rstd.data(), rows, dim);
        for (int64_t i = 0; i < rows * dim; ++i) ASSERT_EQ(sum[i], residual[i] + dx_ref[i]) << "dx_sum element " << i;
        ASSERT_EQ(dw_add, dw_ref);
      }
    }
  }
  omp_set_num_threads(saved_threads);
}

}  // namespace
}  // namespace tt
