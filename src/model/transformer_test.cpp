// The workspace's buffers follow each call's shape (model/transformer.h).
#include <gtest/gtest.h>

#include "model/config.h"
#include "model/transformer.h"
#include "tests/test_util.h"

namespace tt {
namespace {

// A forward-only call of another shape (an evaluation or a reference pass between training
// micro-batches) must not leave the backward buffers of the old shape behind: the next training
// call of that shape would write its gradients past their end.
TEST(Workspace, BackwardBuffersFollowTheShapeAfterAForwardOnlyCall) {
  const ModelConfig c = load_model_config(testing::fixture_dir() + "/parity/tiny_llama4");
  Workspace ws;
  ws.prepare(c, 2, 8, /*for_backward=*/true);
  ASSERT_EQ(ws.d_x.size(), static_cast<size_t>(2 * 8 * c.hidden_size));
  ws.prepare(c, 4, 16, /*for_backward=*/false);
  ws.prepare(c, 4, 16, /*for_backward=*/true);
  const size_t N = 4 * 16;
  EXPECT_EQ(ws.d_x.size(), N * c.hidden_size);
  EXPECT_EQ(ws.d_hidden.size(), N * c.hidden_size);
  EXPECT_EQ(ws.d_gate.size(), N * c.intermediate_size);
  EXPECT_EQ(ws.d_q.size(), N * c.num_attention_heads * c.head_dim);
}

}  // namespace
}  // namespace tt
