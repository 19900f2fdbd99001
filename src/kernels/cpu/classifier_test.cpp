#include "kernels/cpu/classifier.h"

#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/gradcheck.h"

namespace tt {
namespace {

struct Problem {
  int64_t n = 7, vocab = 45, dim = 12;
  std::vector<float> hidden = testing::random_vector(7 * 12, 1);
  std::vector<float> weight = testing::random_vector(45 * 12, 2, 0.5f);
  std::vector<int32_t> targets = {3, -100, 44, 0, 17, -100, 3};
};

TEST(Classifier, LogProbsMatchLogSoftmax) {
  Problem p;
  std::vector<float> logprobs(p.n);
  auto stats = classifier_forward_backward(p.hidden.data(), p.weight.data(), p.targets.data(), p.n, p.vocab, p.dim,
                                           nullptr, logprobs.data(), Precision::FP32);
  EXPECT_EQ(stats.scored, 5);
  double total = 0;
  for (int64_t t = 0; t < p.n; ++t) {
    if (p.targets[t] < 0) {
      EXPECT_EQ(logprobs[t], 0.0f);
      continue;
    }
    std::vector<double> logits(p.vocab);
    double mx = -1e300;
    for (int64_t v = 0; v < p.vocab; ++v) {
      double s = 0;
      for (int64_t d = 0; d < p.dim; ++d) s += double(p.hidden[t * p.dim + d]) * p.weight[v * p.dim + d];
      logits[v] = s;
      mx = std::max(mx, s);
    }
    double z = 0;
    for (double l : logits) z += std::exp(l - mx);
    double expected = logits[p.targets[t]] - mx - std::log(z);
    EXPECT_NEAR(logprobs[t], expected, 1e-5);
    total -= expected;
  }
  EXPECT_NEAR(stats.weighted_loss, total, 1e-4);
}

void check_gradients(TokenLoss kind) {
  Problem p;
  std::vector<float> weights = {0.5f, 1.0f, 2.0f, 0.25f, 1.0f, 1.0f, 0.75f};
  auto loss = [&] {
    std::vector<float> logprobs(p.n);
    classifier_forward_backward(p.hidden.data(), p.weight.data(), p.targets.data(), p.n, p.vocab, p.dim, nullptr,
                                logprobs.data(), Precision::FP32);
    double l = 0;
    for (int64_t t = 0; t < p.n; ++t) {
      if (p.targets[t] < 0) continue;
      // DFT: the weight holds sg(p), so its value is treated as a constant at the current point
      l += weights[t] * -logprobs[t];
    }
    return l;
  };
  std::vector<float> dh(p.n * p.dim), dw(p.vocab * p.dim, 0.0f);
  ClassifierGrad grad{weights.data(), kind, dh.data(), dw.data()};
  std::vector<float> logprobs(p.n);
  classifier_forward_backward(p.hidden.data(), p.weight.data(), p.targets.data(), p.n, p.vocab, p.dim, &grad,
                              logprobs.data(), Precision::FP32);
  if (kind == TokenLoss::DFT)  // fold sg(p) into the weights for the finite-difference loss
    for (int64_t t = 0; t < p.n; ++t) weights[t] *= std::exp(logprobs[t]);
  testing::expect_gradient_matches(p.hidden, dh, loss, "d_hidden", 40);
  testing::expect_gradient_matches(p.weight, dw, loss, "d_weight", 40);
}

TEST(Classifier, NllGradientMatchesFiniteDifferences) { check_gradients(TokenLoss::NLL); }
TEST(Classifier, DftGradientMatchesFiniteDifferences) { check_gradients(TokenLoss::DFT); }

TEST(Classifier, TargetOutOfRangeIsAnError) {
  Problem p;
  p.targets[2] = 45;
  EXPECT_THROW(classifier_forward_backward(p.hidden.data(), p.weight.data(), p.targets.data(), p.n, p.vocab, p.dim,
                                           nullptr, nullptr, Precision::FP32),
               Error);
}

}  // namespace
}  // namespace tt
