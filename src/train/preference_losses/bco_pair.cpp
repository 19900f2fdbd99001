// bco_pair: the pairwise BCO loss (Jung et al. 2024, "Binary Classifier Optimization"): each reward
// is classified against a baseline d, the running mean of all rewards seen so far:
//   -log s(b r_c - d) - log s(-(b r_r - d))
// As TRL v0.27 (DPOTrainer.dpo_loss with trl.trainer.utils.RunningMoments): every micro-batch first
// updates the running moments with the mean of its 2B rewards (one sample of count 1), then uses
// the updated mean as d; d carries no gradient. The moments live in the loss state, so a resumed run
// continues them (TRL does not save them for DPO). Data-parallel runs must update them with the mean
// over all ranks, as TRL's get_global_statistics does. TRL recomputes the log-ratios from the
// reference log-probs here, so reference_free does not change this loss.
#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss bco_pair_pair(const DpoLossConfig& c, const PairLogps& p) {
  const double b = c.beta, d = p.baseline;
  const double xc = b * (p.chosen - p.ref_chosen) - d, xr = b * (p.rejected - p.ref_rejected) - d;
  return with_rewards(c, p,
                      {.loss = -log_sigmoid(xc) - log_sigmoid(-xr), .d_chosen = -b * sigmoid(-xc), .d_rejected = b * sigmoid(xr)});
}

// RunningMoments.update with one sample x: Chan et al.'s parallel update with a batch of count 1
// and variance 0. Starts at mean 0, var 1, count 1e-24 (TRL's defaults).
double bco_pair_baseline(const DpoLossConfig& c, const std::vector<PairLogps>& pairs, nlohmann::json& state) {
  if (pairs.empty()) return state.value("mean", 0.0);
  double sum = 0;
  for (const auto& p : pairs) sum += c.beta * (p.chosen - p.ref_chosen);
  for (const auto& p : pairs) sum += c.beta * (p.rejected - p.ref_rejected);
  const double x = sum / static_cast<double>(2 * pairs.size());
  double mean = 0, var = 1, count = 1e-24;
  if (state.is_object()) {
    mean = state.at("mean").get<double>();
    var = state.at("var").get<double>();
    count = state.at("count").get<double>();
  }
  const double delta = x - mean, total = count + 1;
  var = (var * count + delta * delta * count / total) / total;
  mean += delta / total;
  state = {{"mean", mean}, {"var", var}, {"count", total}};
  return mean;
}

}  // namespace

extern const PreferenceLossType kBcoPairLoss;
const PreferenceLossType kBcoPairLoss{.name = "bco_pair", .uses_reference = true, .averages_logps = false,
                                      .pair = bco_pair_pair, .micro_batch_baseline = bco_pair_baseline,
                                      .honours_reference_free = false};

}  // namespace tt
