// Finite-difference gradient checks for the ops' backward passes.
// The loss is L = sum(output * probe) for a fixed random probe, so dL/doutput = probe.
#pragma once
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace tt::testing {

inline std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

inline double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Checks analytic[i] against (L(x + h e_i) - L(x - h e_i)) / 2h for up to `samples` entries of x.
// `loss` evaluates L at the current contents of x.
inline void expect_gradient_matches(std::vector<float>& x, const std::vector<float>& analytic,
                                    const std::function<double()>& loss, const char* what, int samples = 24,
                                    float h = 1e-2f, double tolerance = 2e-2) {
  ASSERT_EQ(x.size(), analytic.size());
  double max_abs = 1e-6;
  for (float g : analytic) max_abs = std::max(max_abs, static_cast<double>(std::fabs(g)));
  std::mt19937 gen(1234);
  for (int s = 0; s < samples; ++s) {
    size_t i = samples >= static_cast<int>(x.size()) ? static_cast<size_t>(s) % x.size() : gen() % x.size();
    float saved = x[i];
    x[i] = saved + h;
    double plus = loss();
    x[i] = saved - h;
    double minus = loss();
    x[i] = saved;
    double numeric = (plus - minus) / (2.0 * h);
    // relative to the largest gradient entry: fp32 finite differences are only that precise
    EXPECT_NEAR(numeric, analytic[i], tolerance * max_abs) << what << " index " << i;
  }
}

}  // namespace tt::testing
