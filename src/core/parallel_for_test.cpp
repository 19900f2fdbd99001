#include "core/parallel_for.h"

#include <omp.h>

#include <atomic>
#include <vector>

#include <gtest/gtest.h>

namespace tt {
namespace {

// Every index once, whichever way the loop runs.
TEST(ParallelFor, VisitsEveryIndexOnce) {
  for (bool worth : {false, true})
    for (int64_t n : {0, 1, 7, 1000}) {
      std::vector<std::atomic<int>> seen(n);
      parallel_for(n, worth, [&](int64_t i) { seen[i]++; });
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(seen[i].load(), 1) << "n " << n << " i " << i;
      std::vector<std::atomic<int>> seen_dynamic(n);
      parallel_for_dynamic(n, 2, worth, [&](int64_t i) { seen_dynamic[i]++; });
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(seen_dynamic[i].load(), 1) << "n " << n << " i " << i;
    }
}

// A loop not worth the threads enters no OpenMP region at all (omp_get_level() counts inactive
// regions too: `#pragma omp parallel for if (false)` would be level 1, and cost a futex call).
TEST(ParallelFor, ALoopNotWorthTheThreadsEntersNoRegion) {
  int level = -1;
  parallel_for(4, false, [&](int64_t) { level = omp_get_level(); });
  EXPECT_EQ(level, 0);
  level = -1;
  parallel_for_dynamic(4, 1, false, [&](int64_t) { level = omp_get_level(); });
  EXPECT_EQ(level, 0);
}

// One worth the threads uses them when there are several, and none inside another region.
TEST(ParallelFor, ALoopWorthTheThreadsUsesThemOutsideOtherRegions) {
  const int threads = omp_get_max_threads();
  std::atomic<int> most{0};
  parallel_for(64, true, [&](int64_t) {
    int now = omp_get_num_threads();
    for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
    }
  });
  EXPECT_EQ(most.load(), threads);
  if (threads < 2) GTEST_SKIP() << "one OpenMP thread here: the nested case needs two";
  std::atomic<int> nested_levels{0};
#pragma omp parallel num_threads(2)
  parallel_for(8, true, [&](int64_t) { nested_levels += omp_get_level() == 1 ? 0 : 1; });
  EXPECT_EQ(nested_levels.load(), 0);
}

}  // namespace
}  // namespace tt
