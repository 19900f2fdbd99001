// aot, aot_pair: Alignment via Optimal Transport (Melnyk et al. 2024), as TRL v0.27's dpo_loss.
// Over the micro-batch's pairs, two sets of log-ratios are each sorted, and position k of the
// sorted lists makes the margin d_k, scored with sigmoid's form and label smoothing e:
//   loss_k = -(1-e) log s(b d_k) - e log s(-b d_k)
//   aot       d_k = sort(logp_c - logp_r)_k - sort(ref_c - ref_r)_k      (paired)
//   aot_pair  d_k = sort(logp_c - ref_c)_k - sort(logp_r - ref_r)_k      (unpaired; TRL 0.28 renamed
//             it aot_unpaired and gave its name to the paired one)
// A pair's log-prob moves the margin at its own rank, so its derivative is that position's dloss/dd
// (the policy side has rank ties only when two log-ratios are equal; a stable sort keeps pair order).
// Position k's loss is written to the pair at rank k of the policy's (or the chosen) list, so the
// per-pair losses add up to the micro-batch's. Both read the reference directly, so reference_free
// does not change them.
#include <algorithm>
#include <numeric>

#include "train/preference_loss.h"

namespace tt {

namespace {

// The ranks of values in ascending order: rank[i] = the position of values[i] once sorted.
std::vector<size_t> ranks_of(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<size_t> rank(values.size());
  for (size_t k = 0; k < order.size(); ++k) rank[order[k]] = k;
  return rank;
}

std::vector<double> sorted(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values;
}

struct SmoothedSigmoid {
  double loss, d;  // at b d_k, d = dloss/dd_k
};

SmoothedSigmoid smoothed_sigmoid(const DpoLossConfig& c, double d) {
  const double b = c.beta, e = c.label_smoothing;
  return {-(1 - e) * log_sigmoid(b * d) - e * log_sigmoid(-b * d), -(1 - e) * b * sigmoid(-b * d) + e * b * sigmoid(b * d)};
}

// One of the two sorted lists: each pair's value, linear in its policy log-probs with the given
// derivatives (aot: the policy margin (1, -1) and the reference margin (0, 0); aot_pair: the chosen
// log-ratio (1, 0) and the rejected one (0, 1)).
struct SortedSide {
  std::vector<double> values;
  double d_chosen, d_rejected;  // d(value)/d(logp_c), d(value)/d(logp_r)
};

// The losses of d_k = sort(first)_k - sort(second)_k, position k's written to the pair at rank k of `first`.
std::vector<PairLoss> sorted_margin_losses(const DpoLossConfig& c, const std::vector<PairLogps>& pairs,
                                           const SortedSide& first, const SortedSide& second) {
  const std::vector<double> a = sorted(first.values), b = sorted(second.values);
  const std::vector<size_t> rank_a = ranks_of(first.values), rank_b = ranks_of(second.values);
  std::vector<SmoothedSigmoid> at(pairs.size());
  for (size_t k = 0; k < pairs.size(); ++k) at[k] = smoothed_sigmoid(c, a[k] - b[k]);
  std::vector<PairLoss> out(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const double da = at[rank_a[i]].d, db = -at[rank_b[i]].d;  // dloss/d(first_i), dloss/d(second_i)
    out[i] = with_rewards(c, pairs[i],
                          {.loss = at[rank_a[i]].loss,
                           .d_chosen = da * first.d_chosen + db * second.d_chosen,
                           .d_rejected = da * first.d_rejected + db * second.d_rejected});
  }
  return out;
}

std::vector<PairLoss> aot_micro_batch(const DpoLossConfig& c, const std::vector<PairLogps>& pairs) {
  SortedSide policy{{}, 1, -1}, reference{{}, 0, 0};
  for (const auto& p : pairs) {
    policy.values.push_back(p.chosen - p.rejected);
    reference.values.push_back(p.ref_chosen - p.ref_rejected);
  }
  return sorted_margin_losses(c, pairs, policy, reference);
}

std::vector<PairLoss> aot_pair_micro_batch(const DpoLossConfig& c, const std::vector<PairLogps>& pairs) {
  SortedSide chosen{{}, 1, 0}, rejected{{}, 0, 1};
  for (const auto& p : pairs) {
    chosen.values.push_back(p.chosen - p.ref_chosen);
    rejected.values.push_back(p.rejected - p.ref_rejected);
  }
  return sorted_margin_losses(c, pairs, chosen, rejected);
}

// One pair alone: a micro-batch of one (a table entry needs `pair`; the trainer calls micro_batch).
PairLoss aot_pair(const DpoLossConfig& c, const PairLogps& p) { return aot_micro_batch(c, {p}).at(0); }
PairLoss aot_pair_pair(const DpoLossConfig& c, const PairLogps& p) { return aot_pair_micro_batch(c, {p}).at(0); }

}  // namespace

extern const PreferenceLossType kAotLoss;
const PreferenceLossType kAotLoss{.name = "aot", .uses_reference = true, .averages_logps = false, .pair = aot_pair,
                                  .micro_batch = aot_micro_batch, .honours_reference_free = false};

extern const PreferenceLossType kAotPairLoss;
const PreferenceLossType kAotPairLoss{.name = "aot_pair", .uses_reference = true, .averages_logps = false,
                                      .pair = aot_pair_pair, .micro_batch = aot_pair_micro_batch,
                                      .honours_reference_free = false};

}  // namespace tt
