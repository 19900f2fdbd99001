#include "train/preference_loss.h"

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
  return {.type = args.loss_type,
          .beta = args.beta,
          .label_smoothing = args.label_smoothing,
          .simpo_gamma = args.simpo_gamma,
          .cpo_alpha = args.cpo_alpha,
          .reference_free = args.reference_free,
          .rpo_alpha = args.rpo_alpha,
          .discopop_tau = args.discopop_tau};
}

bool DpoLossConfig::uses_reference() const { return preference_loss(type).uses_reference; }
bool DpoLossConfig::averages_logps() const { return preference_loss(type).averages_logps; }

PairLoss dpo_pair_loss(const DpoLossConfig& config, PairLogps pair) {
  const PreferenceLossType& type = preference_loss(config.type);
  if (!type.uses_reference) pair.ref_chosen = pair.ref_rejected = 0;
  if (!config.reference_free || !type.honours_reference_free) return type.pair(config, pair);
  PairLogps free = pair;
  free.ref_chosen = free.ref_rejected = 0;
  return with_rewards(config, pair, type.pair(config, free));  // TRL's rewards keep the reference
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

}  // namespace tt
