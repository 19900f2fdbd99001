// discopop: DiscoPOP (Chris Lu et al. 2024, eq. 5), a blend of the logistic and exponential losses
// of u = b z, weighted by m = s(u / tau):
//   -log s(u) (1 - m) + exp(-u) m
// TRL reads the reference log-ratio directly here, so reference_free does not change the loss.
#include <cmath>

#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss discopop_pair(const DpoLossConfig& c, const PairLogps& p) {
  const double b = c.beta, tau = c.discopop_tau, u = b * reward_margin(p);
  const double m = sigmoid(u / tau), dm = sigmoid(u / tau) * sigmoid(-u / tau) / tau;
  const double logistic = -log_sigmoid(u), exponential = std::exp(-u);
  const double du = -sigmoid(-u) * (1 - m) - logistic * dm - exponential * m + exponential * dm;
  return margin_loss(c, p, logistic * (1 - m) + exponential * m, b * du);
}

}  // namespace

extern const PreferenceLossType kDiscopopLoss;
const PreferenceLossType kDiscopopLoss{.name = "discopop", .uses_reference = true, .averages_logps = false,
                                       .pair = discopop_pair, .honours_reference_free = false};

}  // namespace tt
