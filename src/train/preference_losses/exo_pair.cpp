// exo_pair: EXO (Ji et al. 2024, eq. 16), the reverse KL between the policy's and the labels'
// preference distributions over the pair, with label smoothing e (TRL: 1e-3 when it is 0):
//   s(b z) (log s(b z) - log(1-e)) + s(-b z) (log s(-b z) - log e)
// d/dz = b s(b z) s(-b z) (b z - log(1-e) + log e).
#include <cmath>

#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss exo_pair_pair(const DpoLossConfig& c, const PairLogps& p) {
  const double b = c.beta, e = c.label_smoothing == 0 ? 1e-3 : c.label_smoothing;
  const Margin m = dpo_logits(c, p);
  const double u = b * m.z;
  const double loss = sigmoid(u) * (log_sigmoid(u) - std::log1p(-e)) + sigmoid(-u) * (log_sigmoid(-u) - std::log(e));
  return logits_loss(c, p, m, loss, b * sigmoid(u) * sigmoid(-u) * (u - std::log1p(-e) + std::log(e)));
}

}  // namespace

extern const PreferenceLossType kExoPairLoss;
const PreferenceLossType kExoPairLoss{.name = "exo_pair", .uses_reference = true, .averages_logps = false,
                                      .pair = exo_pair_pair};

}  // namespace tt
