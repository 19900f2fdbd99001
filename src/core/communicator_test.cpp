#include "core/communicator.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace tt {
namespace {

TEST(RankShare, EveryItemGoesToExactlyOneRankInOrder) {
  std::vector<int> owner(10, -1);
  for (int rank = 0; rank < 3; ++rank) {
    const std::vector<size_t> share = rank_share(10, 3, rank);
    for (size_t k = 1; k < share.size(); ++k) EXPECT_LT(share[k - 1], share[k]);
    for (size_t i : share) {
      EXPECT_EQ(owner[i], -1) << i;
      owner[i] = rank;
    }
  }
  for (size_t i = 0; i < owner.size(); ++i) EXPECT_EQ(owner[i], static_cast<int>(i % 3)) << i;
  EXPECT_EQ(rank_share(10, 1, 0).size(), 10u);
  EXPECT_TRUE(rank_share(1, 2, 1).empty());
}

// The test binary is not started by mpirun: one process, every collective the identity.
TEST(Communicator, SingleProcessCollectivesAreTheIdentity) {
  Communicator& world = Communicator::world();
  ASSERT_FALSE(launched_distributed());
  EXPECT_EQ(world.size(), 1);
  EXPECT_EQ(world.rank(), 0);
  EXPECT_EQ(world.local_rank(), 0);
  EXPECT_TRUE(world.is_root());
  std::vector<float> f{1.5f, -2.0f};
  world.all_reduce_sum(f.data(), f.size());
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2.0f}));
  std::vector<double> d{3.25};
  world.all_reduce_sum(d.data(), d.size());
  EXPECT_EQ(d[0], 3.25);
  EXPECT_EQ(world.all_reduce_max(7), 7);
  std::vector<float> out(2);
  world.reduce_scatter_sum(f.data(), out.data(), 2);
  EXPECT_EQ(out, f);
  world.all_gather(f.data(), out.data(), 2);
  EXPECT_EQ(out, f);
  const std::vector<int64_t> counts{2};  // ZeRO-1's uneven shards: one rank owns everything
  std::vector<float> shard(2);
  world.reduce_scatter_sum(f.data(), shard.data(), counts);
  EXPECT_EQ(shard, f);
  world.all_gather_in_place(f.data(), counts);
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2.0f}));
  std::vector<float> gathered(2);
  world.gather(f.data(), gathered.data(), counts);
  EXPECT_EQ(gathered, f);
  EXPECT_THROW(world.reduce_scatter_sum(f.data(), shard.data(), {1, 1}), Error);
  EXPECT_EQ(world.all_gather(std::string("abc")), std::vector<std::string>{"abc"});
  EXPECT_TRUE(world.broadcast(true));
  world.barrier();
  world.barrier_sleeping();
}

TEST(GatherShares, OneProcessGetsItsItemsBackInOrder) {
  const std::vector<std::string> items{"a", std::string("\0b", 2), ""};
  EXPECT_EQ(gather_shares(Communicator::world(), items, 3), items);
  EXPECT_THROW(gather_shares(Communicator::world(), items, 2), Error);
}

}  // namespace
}  // namespace tt
