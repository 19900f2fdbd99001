#include "kernels/cpu/classifier.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <gtest/gtest.h>

#include "core/cpu_features.h"
#include "core/error.h"
#include "kernels/cpu/isa_paths.h"
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

// WPO's log sum_v p_v^2 per scored row (0 on ignored rows), from the same logits, with a gradient
// request too (the row is read before it becomes the gradient).
TEST(Classifier, LogSumOfSquaredProbabilities) {
  Problem p;
  for (bool with_grad : {false, true}) {
    std::vector<float> log_sum_sq(p.n, -7.0f), d_hidden(p.n * p.dim), d_weight(p.vocab * p.dim, 0.0f),
        weights(p.n, 1.0f);
    ClassifierGrad grad{weights.data(), TokenLoss::NLL, d_hidden.data(), d_weight.data()};
    classifier_forward_backward(p.hidden.data(), p.weight.data(), p.targets.data(), p.n, p.vocab, p.dim,
                                with_grad ? &grad : nullptr, nullptr, Precision::FP32, false, log_sum_sq.data());
    for (int64_t t = 0; t < p.n; ++t) {
      if (p.targets[t] < 0) {
        EXPECT_EQ(log_sum_sq[t], 0.0f);
        continue;
      }
      std::vector<double> logits(p.vocab);
      double mx = -1e300, z = 0, squares = 0;
      for (int64_t v = 0; v < p.vocab; ++v) {
        for (int64_t d = 0; d < p.dim; ++d) logits[v] += double(p.hidden[t * p.dim + d]) * p.weight[v * p.dim + d];
        mx = std::max(mx, logits[v]);
      }
      for (double x : logits) z += std::exp(x - mx);
      for (double x : logits) squares += std::exp(2 * (x - mx - std::log(z)));
      EXPECT_NEAR(log_sum_sq[t], std::log(squares), 1e-5) << "row " << t << (with_grad ? " with gradient" : "");
    }
  }
}

TEST(Classifier, NllGradientMatchesFiniteDifferences) { check_gradients(TokenLoss::NLL); }
TEST(Classifier, DftGradientMatchesFiniteDifferences) { check_gradients(TokenLoss::DFT); }

// Logit rows (log-softmax, argmax, the gradient in place) on each path this CPU runs give the bits of
// the AVX2 path: vector bodies of 8 and 16, tails, NaN, infinities, a tie between +0 and -0 as the
// maximum, a row with nothing above -inf.
TEST(Classifier, EveryPathGivesTheBitsOfTheAvx2Rows) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::vector<float>> rows;
  for (int64_t vocab : {1, 7, 8, 15, 16, 23, 45, 1037}) rows.push_back(testing::random_vector(vocab, 30 + vocab, 8.0f));
  rows.push_back(testing::random_vector(40, 50, 3.0f));
  rows.back()[5] = nan, rows.back()[17] = -inf, rows.back()[33] = 200.0f;
  rows.push_back(std::vector<float>(37, -1.0f));
  rows.back()[9] = -0.0f, rows.back()[20] = 0.0f, rows.back()[36] = -0.0f;
  rows.push_back(std::vector<float>(19, -inf));
  rows.back()[0] = nan;
  std::vector<Isa> isas = {Isa::AVX2};
  if (cpu_can_run(Isa::AVX512, cpu_features())) isas.push_back(Isa::AVX512);
  for (size_t k = 0; k < rows.size(); ++k)
    for (bool want_grad : {false, true})
      for (bool dft : {false, true}) {
        const int32_t target = static_cast<int32_t>(rows[k].size() / 2);
        std::vector<float> want = rows[k];
        const auto row_on = [&](Isa isa, std::vector<float>& row) {
          return isa == Isa::AVX2
                     ? isa_paths::process_logit_row_avx2(row.data(), row.size(), target, want_grad, 0.75f, dft)
                     : isa_paths::process_logit_row_avx512(row.data(), row.size(), target, want_grad, 0.75f, dft);
        };
        const auto expected = row_on(Isa::AVX2, want);
        for (Isa isa : isas) {
          SCOPED_TRACE(::testing::Message() << isa_name(isa) << ", row " << k << ", grad " << want_grad << ", dft "
                                            << dft);
          std::vector<float> got = rows[k];
          const auto result = row_on(isa, got);
          EXPECT_EQ(std::memcmp(&result.logprob, &expected.logprob, sizeof(float)), 0)
              << result.logprob << " vs " << expected.logprob;
          EXPECT_EQ(result.correct, expected.correct);
          EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
        }
      }
  // the argmax of the +-0 row is its first zero; of the row with nothing above -inf, index 0
  std::vector<float> zeros = rows[rows.size() - 2];
  EXPECT_TRUE(isa_paths::process_logit_row_avx2(zeros.data(), zeros.size(), 9, false, 1.0f, false).correct);
  std::vector<float> none = rows.back();
  EXPECT_TRUE(isa_paths::process_logit_row_avx2(none.data(), none.size(), 0, false, 1.0f, false).correct);
}

TEST(Classifier, TargetOutOfRangeIsAnError) {
  Problem p;
  p.targets[2] = 45;
  EXPECT_THROW(classifier_forward_backward(p.hidden.data(), p.weight.data(), p.targets.data(), p.n, p.vocab, p.dim,
                                           nullptr, nullptr, Precision::FP32),
               Error);
}

}  // namespace
}  // namespace tt
