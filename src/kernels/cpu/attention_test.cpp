#include "kernels/cpu/attention.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "tests/gradcheck.h"

namespace tt {
namespace {

// Straightforward attention in double: scores, masked softmax, weighted sum.
std::vector<float> naive_attention(const std::vector<float>& q, const std::vector<float>& k,
                                   const std::vector<float>& v, const int32_t* doc_start, const AttentionShape& s) {
  std::vector<float> out(s.batch * s.seq * s.heads * s.head_dim);
  const int64_t group = s.heads / s.kv_heads;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h)
      for (int64_t i = 0; i < s.seq; ++i) {
        int64_t start = doc_start ? doc_start[b * s.seq + i] : 0;
        std::vector<double> w(s.seq, 0.0);
        double mx = -1e300, sum = 0;
        auto qrow = &q[((b * s.seq + i) * s.heads + h) * s.head_dim];
        for (int64_t j = start; j <= i; ++j) {
          auto krow = &k[((b * s.seq + j) * s.kv_heads + h / group) * s.head_dim];
          double d = 0;
          for (int64_t x = 0; x < s.head_dim; ++x) d += double(qrow[x]) * krow[x];
          w[j] = d / std::sqrt(double(s.head_dim));
          mx = std::max(mx, w[j]);
        }
        for (int64_t j = start; j <= i; ++j) sum += (w[j] = std::exp(w[j] - mx));
        for (int64_t x = 0; x < s.head_dim; ++x) {
          double acc = 0;
          for (int64_t j = start; j <= i; ++j)
            acc += w[j] / sum * v[((b * s.seq + j) * s.kv_heads + h / group) * s.head_dim + x];
          out[((b * s.seq + i) * s.heads + h) * s.head_dim + x] = static_cast<float>(acc);
        }
      }
  return out;
}

struct AttentionCase {
  AttentionShape shape;
  std::vector<int32_t> doc_start;  // empty: plain causal
};

class AttentionTest : public ::testing::TestWithParam<int> {};

AttentionCase make_case(int which) {
  if (which == 0) return {{2, 37, 4, 2, 16}, {}};  // partial last block, GQA 2
  if (which == 1) return {{1, 20, 3, 1, 8}, {}};   // head_dim below the 16-wide tile
  // packed: two rows of three and two documents
  AttentionCase c{{2, 19, 2, 2, 16}, {}};
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 19; ++t) c.doc_start.push_back(b == 0 ? (t < 5 ? 0 : t < 12 ? 5 : 12) : (t < 9 ? 0 : 9));
  return c;
}

TEST_P(AttentionTest, ForwardMatchesNaive) {
  AttentionCase c = make_case(GetParam());
  const AttentionShape& s = c.shape;
  const int32_t* docs = c.doc_start.empty() ? nullptr : c.doc_start.data();
  auto q = testing::random_vector(s.batch * s.seq * s.heads * s.head_dim, 1);
  auto k = testing::random_vector(s.batch * s.seq * s.kv_heads * s.head_dim, 2);
  auto v = testing::random_vector(s.batch * s.seq * s.kv_heads * s.head_dim, 3);
  std::vector<float> out(q.size()), lse(s.batch * s.heads * s.seq);
  attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), docs, s);
  auto expected = naive_attention(q, k, v, docs, s);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], expected[i], 2e-5) << i;
}

TEST_P(AttentionTest, BackwardMatchesFiniteDifferences) {
  AttentionCase c = make_case(GetParam());
  const AttentionShape& s = c.shape;
  const int32_t* docs = c.doc_start.empty() ? nullptr : c.doc_start.data();
  auto q = testing::random_vector(s.batch * s.seq * s.heads * s.head_dim, 4);
  auto k = testing::random_vector(s.batch * s.seq * s.kv_heads * s.head_dim, 5);
  auto v = testing::random_vector(s.batch * s.seq * s.kv_heads * s.head_dim, 6);
  auto probe = testing::random_vector(q.size(), 7);
  std::vector<float> out(q.size()), lse(s.batch * s.heads * s.seq);
  auto loss = [&] {
    attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), docs, s);
    return testing::dot(out, probe);
  };
  loss();
  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
  attention_backward(dq.data(), dk.data(), dv.data(), probe.data(), out.data(), lse.data(), q.data(), k.data(),
                     v.data(), docs, s);
  testing::expect_gradient_matches(q, dq, loss, "dq", 40);
  testing::expect_gradient_matches(k, dk, loss, "dk", 40);
  testing::expect_gradient_matches(v, dv, loss, "dv", 40);
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionTest, ::testing::Values(0, 1, 2));

TEST(Attention, PackedRowEqualsSeparateDocuments) {
  // A packed row of two documents gives the same outputs as running each document alone.
  AttentionShape packed{1, 12, 2, 1, 16};
  std::vector<int32_t> docs(12);
  for (int t = 0; t < 12; ++t) docs[t] = t < 7 ? 0 : 7;
  auto q = testing::random_vector(12 * 2 * 16, 8), k = testing::random_vector(12 * 16, 9),
       v = testing::random_vector(12 * 16, 10);
  std::vector<float> out(q.size()), lse(2 * 12);
  attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), docs.data(), packed);
  AttentionShape second{1, 5, 2, 1, 16};
  std::vector<float> out2(5 * 2 * 16), lse2(2 * 5);
  attention_forward(out2.data(), lse2.data(), q.data() + 7 * 32, k.data() + 7 * 16, v.data() + 7 * 16, nullptr, second);
  for (int i = 0; i < 5 * 32; ++i) EXPECT_FLOAT_EQ(out[7 * 32 + i], out2[i]);
}

}  // namespace
}  // namespace tt
