// Preference losses (TRL DPOTrainer's loss_type, ../shared/DESIGN.md §4): one small file per loss
// under train/preference_losses/, listed in the table of preference_loss.cpp.
//
// Adding a loss = one new file defining a PreferenceLossType plus its two lines in that table (a
// declaration and an entry). The table is explicit on purpose: an object that registers itself from
// a static library is dropped by the linker unless something references it.
//
// A loss sees, per pair, the policy's and the reference's log-probs of the chosen and the rejected
// completion in the loss's units (summed over completion tokens, or length-averaged when
// averages_logps), and returns the loss, its derivatives with respect to the two policy log-probs,
// and the rewards TRL logs (beta * (logp - ref)). With r_c = logp_c - ref_c, r_r likewise,
// z = r_c - r_r, b = beta, e = label_smoothing:
//   sigmoid   -(1-e) log s(b z) - e log s(-b z)            hinge    max(0, 1 - b z)
//   ipo       (z - 1/(2b))^2                               apo_zero 1 - s(b r_c) + s(b r_r)
//   apo_down  s(b r_c) + 1 - s(b (r_c - r_r))
//   simpo     sigmoid's form with z = logp_c - logp_r - gamma/b (CPOTrainer), rewards b logp; plus
//             CPOTrainer's cpo_alpha * NLL of the chosen completions per micro-batch (default 1.0)
//   robust    (-(1-e) log s(b z) + e log s(-b z)) / (1 - 2e)      (Chowdhury et al. 2024)
//   bco_pair  -log s(b r_c - d) - log s(-(b r_r - d)), d = running mean of the rewards (BCO)
//   exo_pair  s(b z) (log s(b z) - log(1-e)) + s(-b z) (log s(-b z) - log e), e = 1e-3 when 0 (EXO)
//   nca_pair  -log s(b r_c) - log s(-b r_c)/2 - log s(-b r_r)/2                        (NCA)
//   sppo_hard (r_c - 1/(2b))^2 + (r_r + 1/(2b))^2                                      (SPPO)
//   discopop  -log s(b z) (1 - m) + exp(-b z) m, m = s(b z / tau)                     (DiscoPOP)
//   sft       0 per pair: the loss is TRL's nll_loss, the token-mean NLL of the chosen completions
//   aot       sigmoid's form of d_k = sort(logp_c - logp_r)_k - sort(ref_c - ref_r)_k over the
//             micro-batch's pairs (AOT, Melnyk et al. 2024; each side sorted on its own)
//   aot_pair  the same with d_k = sort(r_c)_k - sort(r_r)_k (TRL 0.27's name for unpaired AOT)
// Several losses (TRL's loss_type as a list, MPO) add up weighted by loss_weights (1 each when
// null), their rewards too: TRL sums each loss's b (logp - ref) times its weight, so the logged
// rewards are (sum of the weights) b (logp - ref). With ipo among them every loss sees
// length-averaged log-probs, as TRL averages them when "ipo" is in loss_type.
// Rewards are b (logp - ref) for every loss but simpo. TRL's rpo_alpha adds rpo_alpha x nll_loss to
// any DPO loss. reference_free drops the reference from the loss of the losses that honour it in
// TRL (sigmoid, robust, exo_pair, hinge, ipo, apo_*; bco_pair, nca_pair, sppo_hard and discopop read
// the reference directly), never from the rewards: TRL still runs the reference model for them.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/training_args.h"

namespace tt {

struct DpoLossConfig {
  // Names in the table (preference_loss_names()): one loss, or several summed (TRL's list, MPO)
  std::vector<std::string> types = {"sigmoid"};
  std::vector<double> weights;   // TRL's loss_weights, one per type; empty: 1 each
  double beta = 0.1;
  double label_smoothing = 0.0;  // sigmoid, simpo, robust
  double simpo_gamma = 0.5;
  double cpo_alpha = 1.0;        // losses with chosen_nll (simpo, CPOTrainer): the NLL term's weight
  bool reference_free = false;   // the loss sees logp_ref = 0 (the rewards keep the reference)
  std::optional<double> rpo_alpha;  // DPOTrainer's rpo_alpha x nll_loss; nullopt = off
  double discopop_tau = 0.05;
  // TRL 0.27's f_divergence_type: reverse_kl (DPO), js_divergence or alpha_divergence (with
  // f_alpha_divergence_coef); it changes the margin of the losses that read dpo_loss's `logits`
  // (sigmoid, robust, exo_pair, hinge, ipo; see dpo_logits).
  std::string f_divergence = "reverse_kl";
  double f_alpha = 1.0;
  // LD-DPO (TRL's ld_alpha, as TRL 0.29+ computes it): a completion's log-prob is the sum over its
  // first min(chosen, rejected) completion tokens plus ld_alpha times the sum over the rest, for the
  // policy and the reference; unset: the plain sum.
  std::optional<double> ld_alpha = std::nullopt;
  // WPO (TRL's use_weighting, as TRL 0.29+ computes it): each pair's loss times the detached weight
  // exp(mean_t (logp_t - log sum_v p_v^2)) of its chosen completion times that of its rejected one.
  bool use_weighting = false;

  static DpoLossConfig from_args(const TrainingArgs& args);
  double weight(size_t i) const;  // of types[i]
  std::string label() const;      // "sigmoid", or "sigmoid+bco_pair+sft"
  bool uses_reference() const;  // false: no reference pass, logp_ref = 0 (simpo)
  bool averages_logps() const;  // length-normalised log-probs (ipo, simpo: any of the types)
};

// One pair's inputs, in the loss's units. `baseline` is a detached per-micro-batch value that a
// stateful loss computes before its pairs (bco_pair's running reward mean); 0 for the others.
struct PairLogps {
  double chosen = 0, rejected = 0, ref_chosen = 0, ref_rejected = 0;
  double baseline = 0;
};

struct PairLoss {
  double loss = 0, d_chosen = 0, d_rejected = 0, reward_chosen = 0, reward_rejected = 0;
};

struct PreferenceLossType {
  const char* name;
  bool uses_reference;  // false: the reference pass is skipped and logp_ref = 0 (rewards included)
  bool averages_logps;  // log-probs are divided by the completion's scored tokens
  PairLoss (*pair)(const DpoLossConfig& config, const PairLogps& pair);
  // Optional, used instead of `pair`: a loss of the micro-batch's pairs together (aot and aot_pair
  // sort log-ratios across them). One PairLoss per pair: the losses add up to the micro-batch's, each
  // pair's derivatives are the sum's with respect to its log-probs.
  std::vector<PairLoss> (*micro_batch)(const DpoLossConfig& config, const std::vector<PairLogps>& pairs) = nullptr;
  // Optional (nullptr: stateless). Called once per micro-batch, before `pair`, with all its pairs;
  // returns their baseline and may update `state`, which checkpoints carry (exact resume).
  double (*micro_batch_baseline)(const DpoLossConfig& config, const std::vector<PairLogps>& pairs,
                                 nlohmann::json& state) = nullptr;
  // CPOTrainer's behaviour-cloning term: the loss of a micro-batch is losses.mean() + cpo_alpha * nll,
  // nll = the token-mean cross-entropy over the micro-batch's chosen completion tokens.
  bool chosen_nll = false;
  // DPOTrainer's nll_loss is the loss itself (sft): the micro-batch's loss is nll_loss (pairs add 0).
  bool dpo_nll = false;
  // Whether reference_free drops the reference from this loss (TRL's dpo_loss zeroes it only in the
  // log-ratios that some losses use; the others read the reference log-probs directly).
  bool honours_reference_free = true;
  // Optional: why the configuration cannot be used, "" when it can (checked when the config is loaded).
  std::string (*check)(const DpoLossConfig& config) = nullptr;
};

// The table entry of a loss; fails naming the known ones.
const PreferenceLossType& preference_loss(const std::string& name);
const PreferenceLossType* find_preference_loss(const std::string& name);  // nullptr when unknown
std::vector<std::string> preference_loss_names();  // in table order
// The configuration's loss with a micro-batch baseline (bco_pair), or nullptr.
const PreferenceLossType* baseline_loss(const DpoLossConfig& config);

// The losses of a micro-batch's pairs under the configuration: each type's, weighted and summed, with
// the reference ignored where the configuration says so (simpo; reference_free in the loss, not the
// rewards). For a loss with a micro-batch baseline, the pairs' baseline must already hold it.
std::vector<PairLoss> dpo_micro_batch_losses(const DpoLossConfig& config, const std::vector<PairLogps>& pairs);
// The same for a micro-batch of one pair.
PairLoss dpo_pair_loss(const DpoLossConfig& config, PairLogps pair);
PairLoss dpo_pair_loss(const DpoLossConfig& config, double logp_chosen, double logp_rejected, double ref_chosen,
                       double ref_rejected);

// Pieces the losses share: numerically stable sigmoids; TRL's rewards b (logp - ref); and a loss of
// the margin z = r_c - r_r alone, whose derivatives are dz and -dz.
double sigmoid(double x);
double log_sigmoid(double x);
PairLoss with_rewards(const DpoLossConfig& config, const PairLogps& pair, PairLoss loss);
double reward_margin(const PairLogps& pair);  // z = r_c - r_r
PairLoss margin_loss(const DpoLossConfig& config, const PairLogps& pair, double loss, double dz);

// TRL 0.27 dpo_loss's `logits`, the margin that sigmoid, robust, exo_pair, hinge and ipo score, with
// its partial derivatives in the two policy log-probs. Under reverse_kl it is z = r_c - r_r; under
// js_divergence z - (softplus(r_c) - softplus(r_r)); under alpha_divergence (a = f_alpha)
// (exp(-a r_r) - exp(-a r_c)) / a, each exponent capped at log(FLT_MAX) as TRL's cap_exp caps it.
struct Margin {
  double z = 0, dz_dchosen = 0, dz_drejected = 0;
};
Margin dpo_logits(const DpoLossConfig& config, const PairLogps& pair);
// The pair's loss from a loss of that margin and its derivative dloss/dz, with TRL's rewards.
PairLoss logits_loss(const DpoLossConfig& config, const PairLogps& pair, const Margin& margin, double loss,
                     double dloss_dz);

}  // namespace tt
