// apo_down: APO-down (D'Oosterlinck et al. 2024), for chosen answers worse than the model's own:
// lower both likelihoods, the rejected one more: s(b r_c) + (1 - s(b z)).
#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss apo_down_pair(const DpoLossConfig& c, const PairLogps& p) {
  const double b = c.beta;
  const double sc = sigmoid(b * (p.chosen - p.ref_chosen)), sz = sigmoid(b * reward_margin(p));
  return with_rewards(c, p,
                      {.loss = sc + (1 - sz),
                       .d_chosen = b * sc * (1 - sc) - b * sz * (1 - sz),
                       .d_rejected = b * sz * (1 - sz)});
}

}  // namespace

extern const PreferenceLossType kApoDownLoss;
const PreferenceLossType kApoDownLoss{.name = "apo_down", .uses_reference = true, .averages_logps = false,
                                      .pair = apo_down_pair};

}  // namespace tt
