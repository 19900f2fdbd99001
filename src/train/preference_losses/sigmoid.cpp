// sigmoid: the DPO loss (Rafailov et al. 2023), with conservative label smoothing e:
//   -(1-e) log s(b z) - e log s(-b z)
#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss sigmoid_pair(const DpoLossConfig& c, const PairLogps& p) {
  const Margin m = dpo_logits(c, p);
  const double b = c.beta, e = c.label_smoothing, z = m.z;
  return logits_loss(c, p, m, -(1 - e) * log_sigmoid(b * z) - e * log_sigmoid(-b * z),
                     -(1 - e) * b * sigmoid(-b * z) + e * b * sigmoid(b * z));
}

}  // namespace

extern const PreferenceLossType kSigmoidLoss;
const PreferenceLossType kSigmoidLoss{.name = "sigmoid", .uses_reference = true, .averages_logps = false,
                                      .pair = sigmoid_pair};

}  // namespace tt
