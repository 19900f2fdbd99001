// sft: DPOTrainer's loss_type "sft", the negative log-likelihood of the chosen completions (TRL's
// nll_loss, the token-mean over the micro-batch's chosen completion tokens) as the whole loss (dpo_nll).
// The pairs add nothing; the rewards are still b (logp - ref), as TRL logs them.
#include "train/preference_loss.h"

namespace tt {

namespace {

PairLoss sft_pair(const DpoLossConfig& c, const PairLogps& p) { return with_rewards(c, p, {}); }

}  // namespace

extern const PreferenceLossType kSftLoss;
const PreferenceLossType kSftLoss{.name = "sft", .uses_reference = true, .averages_logps = false, .pair = sft_pair,
                                  .dpo_nll = true};

}  // namespace tt
