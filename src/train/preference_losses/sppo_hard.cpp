// sppo_hard: SPPO (Wu et al. 2024) with hard probabilities (1 for the chosen, 0 for the rejected):
//   (r_c - 1/(2b))^2 + (r_r + 1/(2b))^2
// TRL reads the reference log-probs directly here, so reference_free does not change the loss.
#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss sppo_hard_pair(const DpoLossConfig& c, const PairLogps& p) {
  const double half = 0.5 / c.beta, a = p.chosen - p.ref_chosen - half, r = p.rejected - p.ref_rejected + half;
  return with_rewards(c, p, {.loss = a * a + r * r, .d_chosen = 2 * a, .d_rejected = 2 * r});
}

}  // namespace

extern const PreferenceLossType kSppoHardLoss;
const PreferenceLossType kSppoHardLoss{.name = "sppo_hard", .uses_reference = true, .averages_logps = false,
                                       .pair = sppo_hard_pair, .honours_reference_free = false};

}  // namespace tt
