// robust: robust DPO (Chowdhury et al. 2024, "Provably Robust DPO"), an unbiased estimate of the DPO
// loss when a fraction e (label_smoothing) of the preference labels is flipped:
//   (-(1-e) log s(b z) + e log s(-b z)) / (1 - 2e)          (TRL v0.27 DPOTrainer.dpo_loss)
#include <fmt/format.h>

#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss robust_pair(const DpoLossConfig& c, const PairLogps& p) {
  const Margin m = dpo_logits(c, p);
  const double b = c.beta, e = c.label_smoothing, z = m.z, scale = 1 / (1 - 2 * e);
  return logits_loss(c, p, m, (-(1 - e) * log_sigmoid(b * z) + e * log_sigmoid(-b * z)) * scale,
                     (-(1 - e) * b * sigmoid(-b * z) - e * b * sigmoid(b * z)) * scale);
}

std::string robust_check(const DpoLossConfig& c) {
  if (c.label_smoothing < 0 || c.label_smoothing >= 0.5)
    return fmt::format("label_smoothing {} is outside [0, 0.5): the robust loss divides by 1 - 2 label_smoothing",
                       c.label_smoothing);
  return "";
}

}  // namespace

extern const PreferenceLossType kRobustLoss;
const PreferenceLossType kRobustLoss{.name = "robust", .uses_reference = true, .averages_logps = false,
                                     .pair = robust_pair, .check = robust_check};

}  // namespace tt
