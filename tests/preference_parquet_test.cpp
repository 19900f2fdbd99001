// DPO's preference data from parquet: the same pairs as the same rows in JSONL (DuckDB's fixture
// tests/fixtures/parquet/pairs_ids_v2_zstd.parquet and its export pairs_ids.jsonl).
#include <gtest/gtest.h>

#include "tests/test_util.h"
#include "train/preference.h"

namespace tt {
namespace {

TEST(PreferenceParquet, PairsFromParquetEqualThePairsFromJsonl) {
  const std::string dir = testing::fixture_dir() + "/parquet/";
  PreferenceOptions o;
  PreferenceData from_jsonl = load_preference_data(dir + "pairs_ids.jsonl", o);
  PreferenceData from_parquet = load_preference_data(dir + "pairs_ids_v2_zstd.parquet", o);
  ASSERT_EQ(from_jsonl.pairs.size(), 40u);
  ASSERT_EQ(from_parquet.pairs.size(), from_jsonl.pairs.size());
  for (size_t i = 0; i < from_jsonl.pairs.size(); ++i) {
    EXPECT_EQ(from_parquet.pairs[i].prompt, from_jsonl.pairs[i].prompt) << i;
    EXPECT_EQ(from_parquet.pairs[i].chosen, from_jsonl.pairs[i].chosen) << i;
    EXPECT_EQ(from_parquet.pairs[i].rejected, from_jsonl.pairs[i].rejected) << i;
  }
  EXPECT_EQ(from_parquet.pairs[1].chosen, (std::vector<int32_t>{101, 102, 2}));
}

}  // namespace
}  // namespace tt
