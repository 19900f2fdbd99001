// Preference optimisation through the device path (model/device_transformer.h) on the host stand-in
// of a GPU (tests/host_train_device.h: the CPU kernels behind the TrainDevice interface, buffers
// NaN-poisoned): for every loss, the reference pass, each step's loss, rewards, log-probs and every
// parameter's gradient over two accumulated micro-batches, and the updates, equal the CPU path's.
// The GPU runs the same steps in src/kernels/cuda/device_dpo_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/device_train_fixtures.h"
#include "tests/dpo_device_fixture.h"
#include "tests/host_train_device.h"

namespace tt {
namespace {

using testing::compare_gradients;

double relative_tolerance(double value, double tolerance) { return tolerance * std::max(1.0, std::fabs(value)); }

void expect_stats_equal(const DpoStats& d, const DpoStats& c, double tolerance, double logits_tolerance) {
  EXPECT_EQ(d.pairs, c.pairs);
  EXPECT_NEAR(d.loss, c.loss, relative_tolerance(c.loss, tolerance)) << "loss";
  EXPECT_NEAR(d.reward_chosen, c.reward_chosen, relative_tolerance(c.reward_chosen, tolerance)) << "rewards/chosen";
  EXPECT_NEAR(d.reward_rejected, c.reward_rejected, relative_tolerance(c.reward_rejected, tolerance));
  EXPECT_NEAR(d.logps_chosen, c.logps_chosen, relative_tolerance(c.logps_chosen, tolerance)) << "logps/chosen";
  EXPECT_NEAR(d.logps_rejected, c.logps_rejected, relative_tolerance(c.logps_rejected, tolerance));
  EXPECT_EQ(d.accuracy, c.accuracy);
  EXPECT_NEAR(d.logits_chosen, c.logits_chosen, relative_tolerance(c.logits_chosen, logits_tolerance));
  EXPECT_NEAR(d.logits_rejected, c.logits_rejected, relative_tolerance(c.logits_rejected, logits_tolerance));
}

class DpoOnDevice : public ::testing::TestWithParam<std::string> {};

TEST_P(DpoOnDevice, ReferencePassStepsAndGradientsEqualTheCpu) {
  const testing::DpoFixture f = testing::load_dpo_fixture(GetParam());
  for (Precision precision : {Precision::FP32, Precision::BF16}) {
    SCOPED_TRACE(precision_name(precision));
    Model cpu_model = load_model(f.model_dir), dev_model = load_model(f.model_dir);
    TrainState cpu(cpu_model, precision), dev(dev_model, precision);
    use_train_device(dev, std::make_unique<testing::HostTrainDevice>());

    ReferenceLogps summed;
    if (f.loss.uses_reference()) {
      summed = summed_logps(cpu_model.config, cpu.weights, precision, f.pairs, 3, 0, f.loss.ld_alpha);
      testing::HostTrainDevice reference_device;  // a run's reference pass has the device to itself
      const ReferenceLogps on_device =
          summed_logps_on_device(dev_model, reference_device, precision, f.pairs, 3, 0, f.loss.ld_alpha);
      for (size_t i = 0; i < f.pairs.size(); ++i) {
        EXPECT_NEAR(on_device.chosen[i], summed.chosen[i], relative_tolerance(summed.chosen[i], 1e-6)) << "pair " << i;
        EXPECT_NEAR(on_device.rejected[i], summed.rejected[i], relative_tolerance(summed.rejected[i], 1e-6));
      }
    }
    const ReferenceLogps reference = to_loss_units(f.loss, summed, f.pairs);
    // The device's logits/* come from the fp32 lm_head; the CPU's from the bf16 copy in bf16 mode.
    const double logits_tolerance = precision == Precision::BF16 ? 1e-2 : 1e-5;
    const AdamWConfig adamw{.learning_rate = 1e-2, .weight_decay = 0.01};
    for (int step = 0; step < 3; ++step) {
      SCOPED_TRACE(::testing::Message() << "step " << step + 1);
      const auto micro = testing::dpo_step_micro_batches(step);
      const DpoStats c = dpo_accumulate(cpu, micro, f.pairs, reference, f.loss, 0);
      const DpoStats d = dpo_accumulate(dev, micro, f.pairs, reference, f.loss, 0);
      expect_stats_equal(d, c, 1e-6, logits_tolerance);
      if (step == 0 && f.loss.types == std::vector<std::string>{"sigmoid"} && !f.loss.rpo_alpha && !f.loss.reference_free &&
          precision == Precision::FP32) {
        EXPECT_NEAR(d.loss / d.pairs, std::log(2.0), 1e-5) << "the policy is its reference: ln 2";
      }
      std::vector<float> grads;
      dev.gpu->download_gradients(grads);
      const auto comparison = compare_gradients(cpu_model.layout, grads, cpu.grads, 1e-6);
      EXPECT_TRUE(comparison.ok) << comparison.table;
      const double cn = apply_gradients(cpu, adamw, adamw.learning_rate, 1.0);
      const double dn = apply_gradients(dev, adamw, adamw.learning_rate, 1.0);
      EXPECT_NEAR(dn, cn, 1e-6 * cn) << "gradient norm";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Losses, DpoOnDevice,
                         ::testing::Values("sigmoid", "apo_zero", "apo_down", "ipo", "hinge", "simpo", "robust",
                                           "bco_pair", "simpo_cpo", "exo_pair", "nca_pair", "sppo_hard",
                                           "discopop", "sft", "sigmoid_rpo", "sigmoid_free", "aot", "aot_pair", "mpo",
                                           "ipo_sigmoid", "sigmoid_js", "hinge_alpha", "sigmoid_ld"));

}  // namespace
}  // namespace tt
