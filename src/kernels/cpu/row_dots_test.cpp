#include "kernels/cpu/row_dots.h"

#include <gtest/gtest.h>

#include "tests/gradcheck.h"
#include "tests/isa_paths.h"

namespace tt {
namespace {

// Every path, every vector tail (n % 4, n % 8, n % 16), rows in groups and left over, rows further
// apart than n: each sum has the bits of the plain loop over that row.
TEST(RowDots, EveryPathGivesTheBitsOfThePlainLoop) {
  const int64_t rows = 3 * 16 + 7;  // groups and rows left over
  for (int64_t n : {1, 2, 3, 4, 5, 7, 8, 11, 12, 16, 17, 64, 67, 576}) {
    for (int64_t stride : {n, n + 5}) {
      auto a = testing::random_vector(rows * stride, 20 + static_cast<uint32_t>(n), 4.0f);
      auto b = testing::random_vector(rows * stride, 40 + static_cast<uint32_t>(n));
      testing::on_every_isa([&](Isa) {
        SCOPED_TRACE(::testing::Message() << "n " << n << ", stride " << stride);
        std::vector<float> sums(rows, -1.0f), squares(rows, -1.0f);
        row_dots(a.data(), b.data(), rows, n, stride, sums.data());
        row_dots(a.data(), a.data(), rows, n, stride, squares.data());
        for (int64_t r = 0; r < rows; ++r) {
          ASSERT_EQ(sums[r], row_dot(a.data() + r * stride, b.data() + r * stride, n)) << "row " << r;
          ASSERT_EQ(squares[r], row_dot(a.data() + r * stride, a.data() + r * stride, n)) << "row " << r;
        }
      });
    }
  }
}

// The chain's order matters: a sum whose terms cancel gives the plain loop's rounding, not the exact sum.
TEST(RowDots, KeepsTheLoopsOrderOfAdds) {
  const int64_t rows = 16, n = 6;
  std::vector<float> a(rows * n), ones(rows * n, 1.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const float row[n] = {1e8f, 1.0f, -1e8f, 1.0f, 0.5f, 0.25f};
    for (int64_t i = 0; i < n; ++i) a[r * n + i] = row[i];
  }
  testing::on_every_isa([&](Isa) {
    std::vector<float> sums(rows);
    row_dots(a.data(), ones.data(), rows, n, n, sums.data());
    for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(sums[r], 1.75f) << "row " << r;  // 1e8 + 1 rounds to 1e8
  });
}

}  // namespace
}  // namespace tt
