// apo_zero: APO-zero (D'Oosterlinck et al. 2024), for chosen answers better than the model's own:
// raise the chosen likelihood, lower the rejected one: (1 - s(b r_c)) + s(b r_r).
#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss apo_zero_pair(const DpoLossConfig& c, const PairLogps& p) {
  const double b = c.beta;
  const double sc = sigmoid(b * (p.chosen - p.ref_chosen)), sr = sigmoid(b * (p.rejected - p.ref_rejected));
  return with_rewards(c, p, {.loss = (1 - sc) + sr, .d_chosen = -b * sc * (1 - sc), .d_rejected = b * sr * (1 - sr)});
}

}  // namespace

extern const PreferenceLossType kApoZeroLoss;
const PreferenceLossType kApoZeroLoss{.name = "apo_zero", .uses_reference = true, .averages_logps = false,
                                      .pair = apo_zero_pair};

}  // namespace tt
