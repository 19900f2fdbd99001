// simpo: SimPO (Meng et al. 2024, TRL's CPOTrainer loss_type "simpo"): no reference model; the
// sigmoid loss of z = logp_c - logp_r - gamma/b on length-averaged log-probs; rewards b logp; and
// CPOTrainer's cpo_alpha * NLL of the chosen completions (chosen_nll; cpo_alpha 0 = pure SimPO).
#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss simpo_pair(const DpoLossConfig& c, const PairLogps& p) {
  const double b = c.beta, e = c.label_smoothing;
  const double z = p.chosen - p.rejected - c.simpo_gamma / b;
  const double dz = -(1 - e) * b * sigmoid(-b * z) + e * b * sigmoid(b * z);
  return {.loss = -(1 - e) * log_sigmoid(b * z) - e * log_sigmoid(-b * z),
          .d_chosen = dz,
          .d_rejected = -dz,
          .reward_chosen = b * p.chosen,
          .reward_rejected = b * p.rejected};
}

}  // namespace

extern const PreferenceLossType kSimpoLoss;
const PreferenceLossType kSimpoLoss{.name = "simpo", .uses_reference = false, .averages_logps = true,
                                    .pair = simpo_pair, .chosen_nll = true};

}  // namespace tt
