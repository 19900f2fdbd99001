// nca_pair: NCA (Chen et al. 2024), with rewards x_c = b r_c, x_r = b r_r:
//   -log s(x_c) - log s(-x_c) / 2 - log s(-x_r) / 2
// TRL reads the reference log-probs directly here, so reference_free does not change the loss.
#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss nca_pair_pair(const DpoLossConfig& c, const PairLogps& p) {
  const double b = c.beta, xc = b * (p.chosen - p.ref_chosen), xr = b * (p.rejected - p.ref_rejected);
  return with_rewards(c, p,
                      {.loss = -log_sigmoid(xc) - 0.5 * log_sigmoid(-xc) - 0.5 * log_sigmoid(-xr),
                       .d_chosen = b * (-sigmoid(-xc) + 0.5 * sigmoid(xc)),
                       .d_rejected = b * 0.5 * sigmoid(xr)});
}

}  // namespace

extern const PreferenceLossType kNcaPairLoss;
const PreferenceLossType kNcaPairLoss{.name = "nca_pair", .uses_reference = true, .averages_logps = false,
                                      .pair = nca_pair_pair, .honours_reference_free = false};

}  // namespace tt
