// ipo: IPO (Azar et al. 2023), (z - 1/(2b))^2 on length-averaged log-probs.
#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss ipo_pair(const DpoLossConfig& c, const PairLogps& p) {
  const Margin m = dpo_logits(c, p);
  const double d = m.z - 1 / (2 * c.beta);
  return logits_loss(c, p, m, d * d, 2 * d);
}

}  // namespace

extern const PreferenceLossType kIpoLoss;
const PreferenceLossType kIpoLoss{.name = "ipo", .uses_reference = true, .averages_logps = true, .pair = ipo_pair};

}  // namespace tt
