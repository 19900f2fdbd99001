#include "train/preference_loss.h"

#include <algorithm>
#include <cmath>

#include <fmt/ranges.h>

#include "core/error.h"

namespace tt {

// The losses, one file each in train/preference_losses/. A new loss adds one line to each list.
extern const PreferenceLossType kSigmoidLoss;
extern const PreferenceLossType kApoZeroLoss;
extern const PreferenceLossType kApoDownLoss;
extern const PreferenceLossType kIpoLoss;
extern const PreferenceLossType kHingeLoss;
extern const PreferenceLossType kSimpoLoss;
extern const PreferenceLossType kRobustLoss;
extern const PreferenceLossType kBcoPairLoss;
extern const PreferenceLossType kExoPairLoss;
extern const PreferenceLossType kNcaPairLoss;
extern const PreferenceLossType kSppoHardLoss;
extern const PreferenceLossType kDiscopopLoss;
extern const PreferenceLossType kSftLoss;
extern const PreferenceLossType kAotLoss;
extern const PreferenceLossType kAotPairLoss;

namespace {

const PreferenceLossType* const kLosses[] = {
    &kSigmoidLoss,
    &kApoZeroLoss,
    &kApoDownLoss,
    &kIpoLoss,
    &kHingeLoss,
    &kSimpoLoss,
    &kRobustLoss,
    &kBcoPairLoss,
    &kExoPairLoss,
    &kNcaPairLoss,
    &kSppoHardLoss,
    &kDiscopopLoss,
    &kSftLoss,
    &kAotLoss,
    &kAotPairLoss,
};

}  // namespace

const PreferenceLossType* find_preference_loss(const std::string& name) {
  for (const auto* loss : kLosses)
    if (name == loss->name) return loss;
  return nullptr;
}

const PreferenceLossType& preference_loss(const std::string& name) {
  if (const auto* loss = find_preference_loss(name)) return *loss;
  fail("unknown preference loss '{}' (known: {})", name, fmt::join(preference_loss_names(), ", "));
}

std::vector<std::string> preference_loss_names() {
  std::vector<std::string> names;
  for (const auto* loss : kLosses) names.emplace_back(loss->name);
  return names;
}

DpoLossConfig DpoLossConfig::from_args(const TrainingArgs& args) {
  return {.types = args.loss_types,
          .weights = args.loss_weights,
          .beta = args.beta,
          .label_smoothing = args.label_smoothing,
          .simpo_gamma = args.simpo_gamma,
          .cpo_alpha = args.cpo_alpha,
          .reference_free = args.reference_free,
          .rpo_alpha = args.rpo_alpha,
          .discopop_tau = args.discopop_tau,
          .f_divergence = args.f_divergence_type,
          .f_alpha = args.f_alpha_divergence_coef,
          .ld_alpha = args.ld_alpha,
          .use_weighting = args.use_weighting};
}

double DpoLossConfig::weight(size_t i) const { return weights.empty() ? 1.0 : weights.at(i); }

std::string DpoLossConfig::label() const { return fmt::format("{}", fmt::join(types, "+")); }

bool DpoLossConfig::uses_reference() const {
  for (const auto& t : types)
    if (preference_loss(t).uses_reference) return true;
  return false;
}

bool DpoLossConfig::averages_logps() const {
  for (const auto& t : types)
    if (preference_loss(t).averages_logps) return true;
  return false;
}

const PreferenceLossType* baseline_loss(const DpoLossConfig& config) {
  for (const auto& t : config.types)
    if (const PreferenceLossType& type = preference_loss(t); type.micro_batch_baseline) return &type;
  return nullptr;
}

namespace {

// One loss type's losses of the micro-batch's pairs.
std::vector<PairLoss> losses_of(const PreferenceLossType& type, const DpoLossConfig& config,
                                std::vector<PairLogps> pairs) {
  if (!type.uses_reference)
    for (auto& p : pairs) p.ref_chosen = p.ref_rejected = 0;
  const bool free = config.reference_free && type.honours_reference_free;
  std::vector<PairLogps> seen = pairs;
  if (free)
    for (auto& p : seen) p.ref_chosen = p.ref_rejected = 0;
  std::vector<PairLoss> out;
  if (type.micro_batch) {
    out = type.micro_batch(config, seen);
  } else {
    for (const auto& p : seen) out.push_back(type.pair(config, p));
  }
  if (free)  // TRL's rewards keep the reference
    for (size_t i = 0; i < out.size(); ++i) out[i] = with_rewards(config, pairs[i], out[i]);
  return out;
}

}  // namespace

std::vector<PairLoss> dpo_micro_batch_losses(const DpoLossConfig& config, const std::vector<PairLogps>& pairs) {
  std::vector<PairLoss> total(pairs.size());
  for (size_t k = 0; k < config.types.size(); ++k) {
    const double w = config.weight(k);
    const std::vector<PairLoss> part = losses_of(preference_loss(config.types[k]), config, pairs);
    for (size_t i = 0; i < pairs.size(); ++i) {
      total[i].loss += w * part[i].loss;
      total[i].d_chosen += w * part[i].d_chosen;
      total[i].d_rejected += w * part[i].d_rejected;
      total[i].reward_chosen += w * part[i].reward_chosen;
      total[i].reward_rejected += w * part[i].reward_rejected;
    }
  }
  return total;
}

PairLoss dpo_pair_loss(const DpoLossConfig& config, PairLogps pair) {
  return dpo_micro_batch_losses(config, {pair}).at(0);
}

PairLoss dpo_pair_loss(const DpoLossConfig& config, double logp_chosen, double logp_rejected, double ref_chosen,
                       double ref_rejected) {
  return dpo_pair_loss(config, PairLogps{logp_chosen, logp_rejected, ref_chosen, ref_rejected});
}

double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

PairLoss with_rewards(const DpoLossConfig& config, const PairLogps& pair, PairLoss loss) {
  loss.reward_chosen = config.beta * (pair.chosen - pair.ref_chosen);
  loss.reward_rejected = config.beta * (pair.rejected - pair.ref_rejected);
  return loss;
}

double reward_margin(const PairLogps& pair) {
  return (pair.chosen - pair.ref_chosen) - (pair.rejected - pair.ref_rejected);
}

PairLoss margin_loss(const DpoLossConfig& config, const PairLogps& pair, double loss, double dz) {
  return with_rewards(config, pair, {.loss = loss, .d_chosen = dz, .d_rejected = -dz});
}

Margin dpo_logits(const DpoLossConfig& config, const PairLogps& pair) {
  const double rc = pair.chosen - pair.ref_chosen, rr = pair.rejected - pair.ref_rejected;
  if (config.f_divergence == "js_divergence")  // softplus(x) = -log s(-x), its derivative s(x)
    return {rc - rr + log_sigmoid(-rc) - log_sigmoid(-rr), 1 - sigmoid(rc), -(1 - sigmoid(rr))};
  if (config.f_divergence == "alpha_divergence") {
    // TRL's cap_exp: exp(min(x, cap)), cap = log(float32 max) floored at 4 decimals (its get_exp_cap)
    constexpr double kCap = 88.7228;
    const double a = config.f_alpha, xc = -a * rc, xr = -a * rr;
    const double ec = std::exp(std::min(xc, kCap)), er = std::exp(std::min(xr, kCap));
    return {(er - ec) / a, xc < kCap ? ec : 0.0, xr < kCap ? -er : 0.0};
  }
  return {rc - rr, 1, -1};
}

PairLoss logits_loss(const DpoLossConfig& config, const PairLogps& pair, const Margin& margin, double loss,
                     double dloss_dz) {
  return with_rewards(config, pair,
                      {.loss = loss, .d_chosen = dloss_dz * margin.dz_dchosen, .d_rejected = dloss_dz * margin.dz_drejected});
}

}  // namespace tt
