// hinge: the SLiC hinge loss (Zhao et al. 2023), max(0, 1 - b z).
#include <algorithm>

#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss hinge_pair(const DpoLossConfig& c, const PairLogps& p) {
  const Margin m = dpo_logits(c, p);
  const double b = c.beta, z = m.z;
  return logits_loss(c, p, m, std::max(0.0, 1 - b * z), 1 - b * z > 0 ? -b : 0.0);
}

}  // namespace

extern const PreferenceLossType kHingeLoss;
const PreferenceLossType kHingeLoss{.name = "hinge", .uses_reference = true, .averages_logps = false,
                                    .pair = hinge_pair};

}  // namespace tt
