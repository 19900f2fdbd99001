#include "train/dpo.h"

#include <algorithm>
#include <functional>
#include <memory>

#include <fmt/ranges.h>

#include "core/communicator.h"
#include "core/error.h"
#include "core/log.h"
#include "io/file.h"
#include "io/hub.h"
#include "io/output_path.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/finite_check.h"
#include "train/reference_cache.h"
#include "train/run_support.h"
#include "train/trainer.h"

namespace tt {

namespace {

// Completion tokens that get a log-prob: each is predicted from the token before it, so a
// completion after an empty prompt loses its first token.
int64_t scored_tokens(std::span<const int32_t> prompt, const std::vector<int32_t>& completion) {
  return static_cast<int64_t>(completion.size()) - (prompt.empty() && !completion.empty() ? 1 : 0);
}

}  // namespace

Batch make_pair_batch(const std::vector<const PreferencePair*>& pairs, int32_t pad_id) {
  const int64_t B = static_cast<int64_t>(pairs.size());
  Batch batch;
  batch.rows = 2 * B;
  for (const auto* p : pairs)
    batch.seq = std::max<int64_t>(batch.seq, static_cast<int64_t>(std::max(p->prompt_of(true).size() + p->chosen.size(),
                                                                            p->prompt_of(false).size() + p->rejected.size())));
  batch.tokens.assign(batch.size(), pad_id);
  batch.targets.assign(batch.size(), -100);
  for (int64_t r = 0; r < batch.rows; ++r) {
    const PreferencePair& p = *pairs[r % B];
    const auto& completion = r < B ? p.chosen : p.rejected;
    const std::span<const int32_t> prompt = p.prompt_of(r < B);
    int32_t* tokens = batch.tokens.data() + r * batch.seq;
    int32_t* targets = batch.targets.data() + r * batch.seq;
    std::copy(prompt.begin(), prompt.end(), tokens);
    std::copy(completion.begin(), completion.end(), tokens + prompt.size());
    const int64_t start = static_cast<int64_t>(prompt.size()), end = start + static_cast<int64_t>(completion.size());
    for (int64_t t = std::max<int64_t>(start, 1); t < end; ++t) targets[t - 1] = tokens[t];
  }
  return batch;
}

namespace {

// Per-row summed log-probs of a batch whose decoder output is in ws.hidden; token_logprobs [N].
// Each position's weight in its row's sequence log-prob, for a pair batch ([chosen rows, rejected
// rows]): 1 on the scored (completion) positions, 0 elsewhere; with LD-DPO's ld_alpha, a scored
// position past the first min(chosen, rejected) scored positions of its pair weighs ld_alpha
// (TRL 0.29+: the shared part plus ld_alpha times the tail, for the policy and the reference alike).
std::vector<float> position_weights(const Batch& batch, std::optional<double> ld_alpha) {
  std::vector<float> weights(batch.size(), 0.0f);
  std::vector<int64_t> scored(batch.rows, 0);
  for (int64_t r = 0; r < batch.rows; ++r)
    for (int64_t t = 0; t < batch.seq; ++t)
      if (batch.targets[r * batch.seq + t] >= 0) weights[r * batch.seq + t] = 1.0f, ++scored[r];
  if (!ld_alpha) return weights;
  const int64_t B = batch.rows / 2;
  for (int64_t r = 0; r < batch.rows; ++r) {
    const int64_t shared = std::min(scored[r % B], scored[B + r % B]);
    int64_t k = 0;
    for (int64_t t = 0; t < batch.seq; ++t)
      if (batch.targets[r * batch.seq + t] >= 0 && ++k > shared) weights[r * batch.seq + t] = static_cast<float>(*ld_alpha);
  }
  return weights;
}

std::vector<double> row_sums(const Batch& batch, const std::vector<float>& token_logprobs,
                             const std::vector<float>& weights) {
  std::vector<double> sums(batch.rows, 0.0);
  for (int64_t r = 0; r < batch.rows; ++r)
    for (int64_t t = 0; t < batch.seq; ++t) {
      const int64_t p = r * batch.seq + t;
      if (batch.targets[p] >= 0) sums[r] += static_cast<double>(weights[p]) * token_logprobs[p];
    }
  return sums;
}

}  // namespace

MeanLogits mean_logits(const Batch& batch, int64_t chosen_rows, const float* hidden, const float* lm_head,
                       int64_t vocab, int64_t hidden_size) {
  // No lm_head bias: a position's sum over the vocabulary is hidden . (the sum of lm_head's rows).
  std::vector<double> row_sum(hidden_size, 0.0);
  for (int64_t v = 0; v < vocab; ++v)
    for (int64_t k = 0; k < hidden_size; ++k) row_sum[k] += lm_head[v * hidden_size + k];
  std::vector<double> sums(batch.size(), 0.0);
  for (int64_t p = 0; p < batch.size(); ++p) {
    if (batch.targets[p] < 0) continue;
    double dot = 0.0;
    for (int64_t k = 0; k < hidden_size; ++k) dot += static_cast<double>(hidden[p * hidden_size + k]) * row_sum[k];
    sums[p] = dot;
  }
  return mean_logits_of_sums(batch, chosen_rows, sums, vocab);
}

MeanLogits mean_logits_of_sums(const Batch& batch, int64_t chosen_rows, std::span<const double> logit_sums,
                               int64_t vocab) {
  double sum[2] = {0.0, 0.0};
  int64_t count[2] = {0, 0};
  for (int64_t r = 0; r < batch.rows; ++r) {
    const int side = r < chosen_rows ? 0 : 1;
    for (int64_t t = 0; t < batch.seq; ++t) {
      const int64_t p = r * batch.seq + t;
      if (batch.targets[p] < 0) continue;
      sum[side] += logit_sums[p];
      ++count[side];
    }
  }
  auto mean = [&](int side) { return count[side] ? sum[side] / (static_cast<double>(count[side]) * vocab) : 0.0; };
  return {mean(0), mean(1)};
}

namespace {

// Summed completion log-probs of every pair, with `score` writing a batch's per-token log-probs.
using TokenScorer = std::function<void(const Batch&, std::vector<float>&)>;
ReferenceLogps summed_logps_with(const TokenScorer& score, const std::vector<PreferencePair>& pairs,
                                 int64_t batch_pairs, int32_t pad_id, std::optional<double> ld_alpha) {
  ReferenceLogps out;
  out.chosen.resize(pairs.size());
  out.rejected.resize(pairs.size());
  batch_pairs = std::max<int64_t>(1, batch_pairs);
  // Data-parallel: rank r scores batches r, r + N, ...; each pair's log-prob comes from one rank and
  // is 0 on the others, so the all-reduced sum is exactly that value.
  Communicator& world = Communicator::world();
  const size_t batches = (pairs.size() + batch_pairs - 1) / batch_pairs;
  for (size_t b : rank_share(batches, world.size(), world.rank())) {
    const size_t start = b * static_cast<size_t>(batch_pairs);
    std::vector<const PreferencePair*> group;
    for (size_t i = start; i < std::min(pairs.size(), start + batch_pairs); ++i) group.push_back(&pairs[i]);
    Batch batch = make_pair_batch(group, pad_id);
    std::vector<float> logp(batch.size());
    score(batch, logp);
    std::vector<double> sums = row_sums(batch, logp, position_weights(batch, ld_alpha));
    const int64_t B = static_cast<int64_t>(group.size());
    for (int64_t i = 0; i < B; ++i) {
      out.chosen[start + i] = sums[i];
      out.rejected[start + i] = sums[B + i];
    }
  }
  world.all_reduce_sum(out.chosen.data(), out.chosen.size());
  world.all_reduce_sum(out.rejected.data(), out.rejected.size());
  return out;
}

}  // namespace

namespace {

// Every position's log-prob of `batch` under weights `w` on the CPU, forward only (`ws` is overwritten).
void score_on_cpu(const ModelConfig& c, const WeightSet& w, Precision precision, const Batch& batch, Workspace& ws,
                  std::vector<float>& logp) {
  model_forward(c, w, batch, ws, {.precision = precision, .for_backward = false});
  classifier_forward_backward(ws.hidden.data(), w.matmul_weights.lm_head, batch.targets.data(), batch.size(),
                              c.vocab_size, c.hidden_size, nullptr, logp.data(), precision, w.matmul_weights_are_bf16);
}

// A pair's summed log-prob of one completion in the loss's units: divided by its scored tokens when
// the loss averages log-probs.
double in_loss_units(const DpoLossConfig& config, const PreferencePair& pair, bool chosen, double summed) {
  if (!config.averages_logps()) return summed;
  return summed / static_cast<double>(std::max<int64_t>(1, scored_tokens(pair.prompt_of(chosen), chosen ? pair.chosen : pair.rejected)));
}

}  // namespace

ReferenceLogps summed_logps(const ModelConfig& c, const WeightSet& w, Precision precision,
                            const std::vector<PreferencePair>& pairs, int64_t batch_pairs, int32_t pad_id,
                            std::optional<double> ld_alpha) {
  Workspace ws;
  auto score = [&](const Batch& batch, std::vector<float>& logp) { score_on_cpu(c, w, precision, batch, ws, logp); };
  return summed_logps_with(score, pairs, batch_pairs, pad_id, ld_alpha);
}

ReferenceLogps summed_logps_on_device(const Model& model, TrainDevice& device, Precision precision,
                                      const std::vector<PreferencePair>& pairs, int64_t batch_pairs, int32_t pad_id,
                                      std::optional<double> ld_alpha) {
  DeviceTrainingModel gpu(model.config, device, precision, model.params, std::vector<uint8_t>(model.params.size(), 0));
  auto score = [&](const Batch& batch, std::vector<float>& logp) {
    gpu.forward_logprobs(batch, {.precision = precision, .for_backward = false}, logp.data());
  };
  return summed_logps_with(score, pairs, batch_pairs, pad_id, ld_alpha);
}

ReferenceLogps to_loss_units(const DpoLossConfig& config, const ReferenceLogps& summed,
                             const std::vector<PreferencePair>& pairs) {
  ReferenceLogps out;
  out.chosen.assign(pairs.size(), 0.0);
  out.rejected.assign(pairs.size(), 0.0);
  if (!config.uses_reference()) return out;
  for (size_t i = 0; i < pairs.size(); ++i) {
    out.chosen[i] = in_loss_units(config, pairs[i], true, summed.chosen.at(i));
    out.rejected[i] = in_loss_units(config, pairs[i], false, summed.rejected.at(i));
  }
  return out;
}

namespace {

// The preference objective: per micro-batch one forward pass, the sequence log-probs, each pair's
// loss and dL/dlogp, then one backward pass with token weights -dL/dlogp on the completion tokens.
// Weighting as TRL under transformers' Trainer: a step's loss is the mean over its micro-batches of
// each one's mean pair loss (compute_loss returns the micro-batch mean; training_step divides by the
// step's micro-batch count). A micro-batch counts `micro_batch_size` units whatever its pairs, so a
// short last one (no dataloader_drop_last) weighs as much as a full one and its pairs each weigh
// micro_batch_size / B; the logged means are weighted alike, as TRL averages per-micro-batch means.
class PreferenceObjective final : public Objective {
 public:
  enum Slot : size_t {
    kLoss, kRewardChosen, kRewardRejected, kAccuracy, kMargin, kLogpsChosen, kLogpsRejected, kPairs, kNll,
    kLogitsChosen, kLogitsRejected, kMicroBatches, kSlots
  };

  PreferenceObjective(const std::vector<PreferencePair>& pairs, const ReferenceLogps& reference, DpoLossConfig config,
                      int32_t pad_id, int64_t micro_batch_size)
      : pairs_(pairs), reference_(reference), config_(std::move(config)), baseline_(baseline_loss(config_)),
        averages_logps_(config_.averages_logps()), uses_reference_(config_.uses_reference()), pad_id_(pad_id),
        micro_batch_size_(micro_batch_size) {}

  int64_t rows() const override { return static_cast<int64_t>(pairs_.size()); }

  std::string describe() const override {
    std::string weights, sync;
    if (!config_.weights.empty()) weights = fmt::format(" (weights {})", fmt::join(config_.weights, ", "));
    if (synced_)
      sync = fmt::format(", TR-DPO: the reference moves toward the policy every {} steps (alpha {})", synced_->every,
                         synced_->alpha);
    return fmt::format("{} pairs, loss {}{} beta {}{}", pairs_.size(), config_.label(), weights, config_.beta, sync);
  }

  // TRL's sync_ref_model (TR-DPO): from `start` (the starting weights, whose log-probs `reference`
  // and the evaluation's hold), every `every` optimizer steps the reference becomes
  // alpha x the policy + (1 - alpha) x itself (SyncRefModelCallback). The log-probs of the moved
  // reference are computed when a pair is next used, from its micro-batch, as TRL computes them
  // for every batch when precompute_ref_log_probs is off (which TR-DPO requires).
  void sync_reference(const Model& start, Precision precision, double alpha, int64_t every) {
    synced_ = std::make_unique<SyncedReference>();
    synced_->model = start;
    synced_->precision = precision;
    synced_->alpha = alpha;
    synced_->every = every;
    synced_->weights = make_weight_set(synced_->model, precision, synced_->bf16_copy);
  }

  void step_end(TrainState& state, int64_t global_step) override {
    if (!synced_ || global_step % synced_->every != 0) return;
    // TRL: target.mul_(1 - alpha).add_(policy, alpha=alpha), in the weights' fp32
    const float keep = static_cast<float>(1.0 - synced_->alpha), take = static_cast<float>(synced_->alpha);
    std::vector<float>& target = synced_->model.params;
    const std::vector<float>& policy = state.model->params;
    for (size_t i = 0; i < target.size(); ++i) target[i] = target[i] * keep + take * policy[i];
    moved_reference();
    synced_->syncs += 1;
    log_info("dpo: step {}: the reference moved toward the policy (TR-DPO sync {}, alpha {})", global_step,
             synced_->syncs, synced_->alpha);
  }

  MicroBatch micro_batch(const std::vector<int64_t>& ids) const override {
    MicroBatch m;
    m.rows = ids;
    std::vector<const PreferencePair*> group;
    for (int64_t id : ids) {
      const PreferencePair& p = pairs_.at(id);
      group.push_back(&p);
      m.input_tokens += static_cast<int64_t>(p.prompt_of(true).size() + p.chosen.size() + p.prompt_of(false).size() +
                                             p.rejected.size());
    }
    m.batch = make_pair_batch(group, pad_id_);
    m.units = std::max<int64_t>(micro_batch_size_, static_cast<int64_t>(ids.size()));
    return m;
  }

  void accumulate(TrainState& state, const MicroBatch& micro, const MicroStep& where, MetricSums& sums) override {
    const Batch& batch = micro.batch;
    const int64_t B = static_cast<int64_t>(micro.rows.size()), T = batch.seq, N = batch.size();
    // 0. TR-DPO: the moved reference's log-probs of these pairs, before the policy's forward (which
    //    reuses the workspace)
    if (synced_) refresh_reference(state, batch, micro.rows, pairs_, reference_, synced_->train_current);
    // 1. the forward and per-token log-probs (the classifier forward-only)
    std::vector<float> logp(N), log_sum_sq;
    forward_logprobs(state, batch, logp, true, config_.use_weighting ? &log_sum_sq : nullptr);
    const std::vector<double> wpo = wpo_weights(batch, logp, log_sum_sq, B);
    // 2. the loss and dL/dlogp_seq, spread over each sequence's completion tokens as w_t = -dL/dlogp_seq
    //    (the classifier backpropagates sum_t w_t * (-logp_t))
    std::vector<double> div_c, div_r;
    const std::vector<float> weights = position_weights(batch, config_.ld_alpha);
    const std::vector<PairLogps> inputs =
        pair_inputs(pairs_, reference_, micro.rows, row_sums(batch, logp, weights), div_c, div_r);
    std::vector<float> token_weights(N, 0.0f);
    const double pair_weight = static_cast<double>(micro.units) / static_cast<double>(B);  // 1 unless short
    const double scale = pair_weight / static_cast<double>(where.normaliser);
    const std::vector<PairLoss> losses = weighted_pair_losses(inputs, wpo);
    for (int64_t i = 0; i < B; ++i) {
      const PairLoss& pl = losses[i];
      const float wc = static_cast<float>(-pl.d_chosen / div_c[i] * scale);
      const float wr = static_cast<float>(-pl.d_rejected / div_r[i] * scale);
      for (int64_t t = 0; t < T; ++t) {
        token_weights[i * T + t] = wc * weights[i * T + t];
        token_weights[(B + i) * T + t] = wr * weights[(B + i) * T + t];
      }
      add_pair(sums, pl, inputs[i], pair_weight);
    }
    if (const NllTerm nll = nll_term(wpo); nll.logged) add_chosen_nll(batch, logp, B, pair_weight, scale, nll, token_weights, sums);
    const MeanLogits logits = micro_batch_mean_logits(state, batch, B);
    sums[kLogitsChosen] += logits.chosen;
    sums[kLogitsRejected] += logits.rejected;
    sums[kMicroBatches] += 1;
    // 3. d_hidden and the classifier weight gradient, then the decoder
    backward_with_token_weights(state, batch, token_weights);
  }

  size_t metric_slots() const override { return kSlots; }
  double step_loss(const MetricSums& step) const override { return step[kPairs] > 0 ? step[kLoss] / step[kPairs] : 0.0; }

  void add_metrics(const MetricSums& window, nlohmann::json& row) const override {
    const double n = std::max(1.0, window[kPairs]);
    row["rewards/chosen"] = window[kRewardChosen] / n;
    row["rewards/rejected"] = window[kRewardRejected] / n;
    row["rewards/accuracies"] = window[kAccuracy] / n;
    row["rewards/margins"] = window[kMargin] / n;
    row["logps/chosen"] = window[kLogpsChosen] / n;
    row["logps/rejected"] = window[kLogpsRejected] / n;
    // TRL logs these per micro-batch and averages them over the logging window.
    const double micro_batches = std::max(1.0, window[kMicroBatches]);
    row["logits/chosen"] = window[kLogitsChosen] / micro_batches;
    row["logits/rejected"] = window[kLogitsRejected] / micro_batches;
    if (nll_term().logged) row["nll_loss"] = window[kNll] / n;
  }

  std::string progress(const nlohmann::json& row) const override {
    return fmt::format("margin {:.4f}  acc {:.3f}", row["rewards/margins"].get<double>(),
                       row["rewards/accuracies"].get<double>());
  }

  void set_eval(const std::vector<PreferencePair>& pairs, const ReferenceLogps& reference, int64_t batch_size) {
    eval_pairs_ = &pairs;
    eval_reference_ = reference;
    eval_batch_size_ = std::max<int64_t>(1, batch_size);
  }
  bool has_eval_data() const override { return eval_pairs_ && !eval_pairs_->empty(); }

  // One pair's loss and TRL's logged values, weighted, into the sums (training and evaluation alike).
  static void add_pair(MetricSums& sums, const PairLoss& pl, const PairLogps& in, double weight) {
    sums[kLoss] += weight * pl.loss;
    sums[kRewardChosen] += weight * pl.reward_chosen;
    sums[kRewardRejected] += weight * pl.reward_rejected;
    sums[kAccuracy] += pl.reward_chosen > pl.reward_rejected ? weight : 0.0;
    sums[kMargin] += weight * (pl.reward_chosen - pl.reward_rejected);
    sums[kLogpsChosen] += weight * in.chosen;
    sums[kLogpsRejected] += weight * in.rejected;
    sums[kPairs] += weight;
  }

  // TRL's evaluation: per batch of per_device_eval_batch_size pairs (forward only) the loss and the
  // metrics of get_batch_loss_metrics with the "eval_" prefix. eval_loss is transformers' mean over
  // the pairs of their batch's loss; the other metrics are the mean of the batches' means, as TRL
  // averages its stored metrics. bco_pair's running baseline is updated by the evaluation batches
  // too, as TRL's dpo_loss updates it whenever it runs. Under mpirun each rank evaluates its share
  // of the batches (as DDP shards the evaluation set) and the sums are all-reduced.
  nlohmann::json evaluate(TrainState& state) override {
    const std::vector<PreferencePair>& pairs = *eval_pairs_;
    const NllTerm nll_of = nll_term();
    // [0, kSlots): the batches' means, then the loss sum and the batch count
    std::vector<double> means(kSlots + 2, 0.0);
    double& loss_sum = means[kSlots];
    double& batches = means[kSlots + 1];
    const size_t batch_size = static_cast<size_t>(eval_batch_size_);
    Communicator& world = Communicator::world();
    for (size_t b : rank_share((pairs.size() + batch_size - 1) / batch_size, world.size(), world.rank())) {
      const size_t start = b * batch_size;
      std::vector<int64_t> rows;
      std::vector<const PreferencePair*> group;
      for (size_t i = start; i < std::min(pairs.size(), start + static_cast<size_t>(eval_batch_size_)); ++i) {
        rows.push_back(static_cast<int64_t>(i));
        group.push_back(&pairs[i]);
      }
      const Batch batch = make_pair_batch(group, pad_id_);
      const int64_t B = static_cast<int64_t>(rows.size());
      if (synced_) refresh_reference(state, batch, rows, pairs, eval_reference_, synced_->eval_current);
      std::vector<float> logp(batch.size()), log_sum_sq;
      forward_logprobs(state, batch, logp, /*for_backward=*/false, config_.use_weighting ? &log_sum_sq : nullptr);
      const std::vector<double> wpo = wpo_weights(batch, logp, log_sum_sq, B);
      std::vector<double> div_c, div_r;
      const std::vector<PairLogps> inputs = pair_inputs(pairs, eval_reference_, rows,
                                                        row_sums(batch, logp, position_weights(batch, config_.ld_alpha)),
                                                        div_c, div_r);
      MetricSums sums(kSlots, 0.0);
      const std::vector<PairLoss> losses = weighted_pair_losses(inputs, wpo);
      for (int64_t i = 0; i < B; ++i) add_pair(sums, losses[i], inputs[i], 1.0);
      if (const NllTerm batch_nll = nll_term(wpo); batch_nll.logged) {
        std::vector<float> no_weights(batch.size(), 0.0f);
        add_chosen_nll(batch, logp, B, 1.0, 1.0, batch_nll, no_weights, sums);  // adds weight x nll x B to the loss
      }
      const MeanLogits logits = micro_batch_mean_logits(state, batch, B);
      const double batch_loss = sums[kLoss] / static_cast<double>(B);
      loss_sum += batch_loss * static_cast<double>(B);
      for (size_t k : {kRewardChosen, kRewardRejected, kAccuracy, kMargin, kLogpsChosen, kLogpsRejected, kNll})
        means[k] += sums[k] / static_cast<double>(B);
      means[kLogitsChosen] += logits.chosen;
      means[kLogitsRejected] += logits.rejected;
      batches += 1;
    }
    if (world.distributed()) world.all_reduce_sum(means.data(), means.size());
    const double n = std::max(1.0, batches);
    nlohmann::json out = {{"eval_loss", loss_sum / static_cast<double>(std::max<size_t>(1, pairs.size()))},
                          {"eval_rewards/chosen", means[kRewardChosen] / n},
                          {"eval_rewards/rejected", means[kRewardRejected] / n},
                          {"eval_rewards/accuracies", means[kAccuracy] / n},
                          {"eval_rewards/margins", means[kMargin] / n},
                          {"eval_logps/chosen", means[kLogpsChosen] / n},
                          {"eval_logps/rejected", means[kLogpsRejected] / n},
                          {"eval_logits/chosen", means[kLogitsChosen] / n},
                          {"eval_logits/rejected", means[kLogitsRejected] / n}};
    if (nll_of.logged) out["eval_nll_loss"] = means[kNll] / n;
    return out;
  }

  // The loss's state (bco_pair's running reward moments) and TR-DPO's count of syncs, with the
  // moved reference's weights as a tensor: null for the stateless losses without sync_ref_model.
  nlohmann::json state() const override {
    nlohmann::json out;
    if (!loss_state_.is_null()) out["preference_loss"] = loss_state_;
    if (synced_) out["reference_syncs"] = synced_->syncs;
    return out;
  }
  std::vector<TensorToWrite> state_tensors() const override {
    if (!synced_ || synced_->syncs == 0) return {};  // the starting model's: nothing to keep
    const std::vector<float>& params = synced_->model.params;
    return {{"reference_model", DType::F32, {static_cast<int64_t>(params.size())}, params.data(), nullptr}};
  }
  void restore(const nlohmann::json& saved, const std::string& checkpoint_dir) override {
    loss_state_ = saved.is_object() && saved.contains("preference_loss") ? saved["preference_loss"] : nlohmann::json();
    if (!synced_ || !saved.is_object() || !saved.contains("reference_syncs")) return;  // a run without syncs yet
    const std::string where = checkpoint_dir + "/trainer_state/state.json";
    const nlohmann::json& syncs = saved["reference_syncs"];
    if (!syncs.is_number_integer() || syncs.get<int64_t>() < 0)
      fail("{}: 'extra.reference_syncs' must be a count, got {}", where, syncs.dump().substr(0, 80));
    synced_->syncs = syncs.get<int64_t>();
    if (synced_->syncs == 0) return;
    const std::string file = checkpoint_dir + "/trainer_state/objective.safetensors";
    if (!file_exists(file))
      fail("{}: missing: the checkpoint's moved TR-DPO reference ({} syncs) is needed to resume", file, synced_->syncs);
    std::vector<float>& params = synced_->model.params;
    SafetensorsFile(file).read_f32("reference_model", params.data(), {static_cast<int64_t>(params.size())});
    if (auto i = first_non_finite(params.data(), params.size()))
      fail("{}: tensor reference_model has a non-finite value ({}) at element {}", file, params[*i], *i);
    moved_reference();
  }

 private:
  // The micro-batch's forward (kept for the backward) and every position's log-prob, on the
  // state's device (a GPU, model/device_transformer.h) or the CPU.
  // log_sum_sq (WPO, CPU only: run_dpo refuses use_weighting on a GPU) receives each position's
  // log sum_v p_v^2.
  static void forward_logprobs(TrainState& state, const Batch& batch, std::vector<float>& logp, bool for_backward = true,
                               std::vector<float>* log_sum_sq = nullptr) {
    if (state.gpu && log_sum_sq) fail("use_weighting (WPO) is not implemented on the GPU");
    if (state.gpu)
      return state.gpu->forward_logprobs(batch, {.precision = state.precision, .for_backward = for_backward}, logp.data());
    const ModelConfig& c = state.model->config;
    const WeightSet& w = state.weights;
    model_forward(c, w, batch, state.workspace, {.precision = state.precision, .for_backward = for_backward});
    if (log_sum_sq) log_sum_sq->assign(batch.size(), 0.0f);
    classifier_forward_backward(state.workspace.hidden.data(), w.matmul_weights.lm_head, batch.targets.data(),
                                batch.size(), c.vocab_size, c.hidden_size, nullptr, logp.data(), state.precision,
                                w.matmul_weights_are_bf16, log_sum_sq ? log_sum_sq->data() : nullptr);
  }

  // WPO's weight of each pair (TRL 0.29+, Eq. 2 of the WPO paper), detached: exp of the mean over
  // the chosen completion's positions of logp_t - log sum_v p_v^2, times the same for the rejected
  // one; 1 for every pair without use_weighting.
  std::vector<double> wpo_weights(const Batch& batch, const std::vector<float>& logp,
                                  const std::vector<float>& log_sum_sq, int64_t B) const {
    std::vector<double> out(B, 1.0);
    if (!config_.use_weighting) return out;
    std::vector<double> mean(batch.rows, 0.0);
    for (int64_t r = 0; r < batch.rows; ++r) {
      double sum = 0;
      int64_t scored = 0;
      for (int64_t t = 0; t < batch.seq; ++t) {
        const int64_t p = r * batch.seq + t;
        if (batch.targets[p] < 0) continue;
        sum += static_cast<double>(logp[p]) - log_sum_sq[p];
        ++scored;
      }
      mean[r] = sum / static_cast<double>(std::max<int64_t>(1, scored));
    }
    for (int64_t i = 0; i < B; ++i) out[i] = std::exp(mean[i]) * std::exp(mean[B + i]);
    return out;
  }

  // The pair losses of a micro-batch, each scaled by its WPO weight (the rewards are not).
  std::vector<PairLoss> weighted_pair_losses(const std::vector<PairLogps>& inputs, const std::vector<double>& wpo) const {
    std::vector<PairLoss> losses = dpo_micro_batch_losses(config_, inputs);
    for (size_t i = 0; i < losses.size(); ++i) {
      losses[i].loss *= wpo[i];
      losses[i].d_chosen *= wpo[i];
      losses[i].d_rejected *= wpo[i];
    }
    return losses;
  }

  // The classifier's gradient with token weights w_t (it backpropagates sum_t w_t * (-logp_t)) and
  // the decoder's backward, over the activations of forward_logprobs.
  static void backward_with_token_weights(TrainState& state, const Batch& batch, std::vector<float>& token_weights) {
    if (state.gpu) return state.gpu->backward_with_token_weights(batch, token_weights.data(), TokenLoss::NLL);
    const ModelConfig& c = state.model->config;
    const WeightSet& w = state.weights;
    Workspace& ws = state.workspace;
    ClassifierGrad grad{token_weights.data(), TokenLoss::NLL, ws.d_hidden.data(), state.grad_views.lm_head};
    classifier_forward_backward(ws.hidden.data(), w.matmul_weights.lm_head, batch.targets.data(), batch.size(),
                                c.vocab_size, c.hidden_size, &grad, nullptr, state.precision,
                                w.matmul_weights_are_bf16);
    model_backward(c, w, state.grad_views, batch, ws, state.precision);
  }

  // TRL's logits/chosen and logits/rejected of the micro-batch (on a GPU from the fp32 lm_head).
  static MeanLogits micro_batch_mean_logits(TrainState& state, const Batch& batch, int64_t chosen_rows) {
    const ModelConfig& c = state.model->config;
    if (!state.gpu)
      return mean_logits(batch, chosen_rows, state.workspace.hidden.data(), state.weights.matmul_weights.lm_head,
                         c.vocab_size, c.hidden_size);
    std::vector<float> sums(batch.size());
    state.gpu->logit_sums(batch, sums.data());
    return mean_logits_of_sums(batch, chosen_rows, std::vector<double>(sums.begin(), sums.end()), c.vocab_size);
  }

  // The chosen completions' NLL term of the loss: CPOTrainer's cpo_alpha x nll (simpo), or
  // DPOTrainer's nll_loss, the whole loss of sft plus rpo_alpha x it. DPOTrainer computes nll_loss as
  // cross_entropy(..., ignore_index=0) over labels set to 0 outside the completion, so a completion
  // token whose id is 0 does not count either; CPOTrainer ignores only the prompt (-100).
  struct NllTerm {
    double weight = 0;
    bool skips_id_zero = false;
    bool logged = false;  // the term is computed and logged as nll_loss (even at weight 0)
  };
  // With WPO (`wpo`: the micro-batch's pair weights), the sft loss's part weighs the mean pair weight,
  // as TRL 0.29+ weighs its per-sequence copies of nll_loss (rpo_alpha's part is not weighted).
  NllTerm nll_term(const std::vector<double>& wpo = {}) const {
    double weight = config_.rpo_alpha.value_or(0.0), mean_wpo = 1.0;
    if (!wpo.empty()) {
      mean_wpo = 0;
      for (double w : wpo) mean_wpo += w / static_cast<double>(wpo.size());
    }
    bool dpo_nll = false;
    for (size_t k = 0; k < config_.types.size(); ++k) {
      const PreferenceLossType& type = preference_loss(config_.types[k]);
      if (type.chosen_nll) return {config_.cpo_alpha, false, config_.cpo_alpha != 0};  // alone (validated)
      if (type.dpo_nll) weight += config_.weight(k) * mean_wpo, dpo_nll = true;
    }
    return {weight, true, dpo_nll || config_.rpo_alpha.has_value()};
  }

  // weight x nll, nll = mean -logp over the chosen rows' target tokens of this micro-batch; like the
  // pair losses' mean it weighs B * scale (1 / the step's micro-batches). Adds to the chosen tokens'
  // weights and to the loss and nll_loss sums.
  void add_chosen_nll(const Batch& batch, const std::vector<float>& logp, int64_t B, double pair_weight, double scale,
                      const NllTerm& term, std::vector<float>& token_weights, MetricSums& sums) const {
    const int64_t chosen_positions = B * batch.seq;
    auto counted = [&](int64_t t) { return batch.targets[t] > 0 || (batch.targets[t] == 0 && !term.skips_id_zero); };
    double logp_sum = 0;
    int64_t tokens = 0;
    for (int64_t t = 0; t < chosen_positions; ++t)
      if (counted(t)) logp_sum += logp[t], ++tokens;
    if (tokens == 0) return;
    const double nll = -logp_sum / static_cast<double>(tokens);
    const float w = static_cast<float>(term.weight * static_cast<double>(B) * scale / static_cast<double>(tokens));
    for (int64_t t = 0; t < chosen_positions; ++t)
      if (counted(t)) token_weights[t] += w;
    sums[kLoss] += term.weight * nll * static_cast<double>(B) * pair_weight;
    sums[kNll] += nll * static_cast<double>(B) * pair_weight;
  }

  // The loss's inputs for each pair of the micro-batch, from the rows' summed log-probs ([chosen rows,
  // rejected rows]); div_c/div_r receive what the sums were divided by (lengths, or 1). A loss with a
  // baseline computes it here, updating its state.
  std::vector<PairLogps> pair_inputs(const std::vector<PreferencePair>& pairs, const ReferenceLogps& reference,
                                     const std::vector<int64_t>& rows, const std::vector<double>& row_logps,
                                     std::vector<double>& div_c, std::vector<double>& div_r) {
    const size_t B = rows.size();
    std::vector<PairLogps> inputs(B);
    div_c.assign(B, 1.0);
    div_r.assign(B, 1.0);
    for (size_t i = 0; i < B; ++i) {
      const PreferencePair& p = pairs.at(rows[i]);
      if (averages_logps_) {
        div_c[i] = static_cast<double>(std::max<int64_t>(1, scored_tokens(p.prompt_of(true), p.chosen)));
        div_r[i] = static_cast<double>(std::max<int64_t>(1, scored_tokens(p.prompt_of(false), p.rejected)));
      }
      inputs[i].chosen = row_logps[i] / div_c[i];
      inputs[i].rejected = row_logps[B + i] / div_r[i];
      if (uses_reference_) {
        inputs[i].ref_chosen = reference.chosen.at(rows[i]);
        inputs[i].ref_rejected = reference.rejected.at(rows[i]);
      }
    }
    if (baseline_) {
      const double baseline = baseline_->micro_batch_baseline(config_, inputs, loss_state_);
      for (auto& in : inputs) in.baseline = baseline;
    }
    return inputs;
  }

  // TR-DPO's reference: its weights, and which pairs' reference log-probs are this model's.
  struct SyncedReference {
    Model model;  // fp32; the starting model's until the first sync
    Precision precision = Precision::FP32;
    std::vector<float> bf16_copy;
    WeightSet weights;  // views of model and bf16_copy for model_forward
    double alpha = 0.6;
    int64_t every = 512;
    int64_t syncs = 0;  // 0: the precomputed reference log-probs are this model's
    std::vector<uint8_t> train_current, eval_current;  // per pair (after a sync): its value is this model's
  };

  // After the reference's weights changed: refresh their bf16 copy; every pair's value is stale.
  void moved_reference() {
    synced_->weights = make_weight_set(synced_->model, synced_->precision, synced_->bf16_copy);
    synced_->train_current.assign(pairs_.size(), 0);
    synced_->eval_current.assign(eval_pairs_ ? eval_pairs_->size() : 0, 0);
  }

  // The moved reference's log-probs of the pairs of `batch` (rows: their indices into `pairs`) into
  // `reference`, in the loss's units, unless they are this model's already. CPU only (run_dpo
  // refuses sync_ref_model on a GPU); `state`'s workspace is overwritten.
  void refresh_reference(TrainState& state, const Batch& batch, const std::vector<int64_t>& rows,
                         const std::vector<PreferencePair>& pairs, ReferenceLogps& reference,
                         std::vector<uint8_t>& current) const {
    if (synced_->syncs == 0 || !uses_reference_) return;
    if (std::all_of(rows.begin(), rows.end(), [&](int64_t r) { return current.at(r) != 0; })) return;
    std::vector<float> logp(batch.size());
    score_on_cpu(synced_->model.config, synced_->weights, synced_->precision, batch, state.workspace, logp);
    const std::vector<double> sums = row_sums(batch, logp, position_weights(batch, config_.ld_alpha));
    const size_t B = rows.size();
    for (size_t i = 0; i < B; ++i) {
      const PreferencePair& pair = pairs.at(rows[i]);
      reference.chosen.at(rows[i]) = in_loss_units(config_, pair, true, sums[i]);
      reference.rejected.at(rows[i]) = in_loss_units(config_, pair, false, sums[B + i]);
      current.at(rows[i]) = 1;
    }
  }

  const std::vector<PreferencePair>& pairs_;
  ReferenceLogps reference_;  // the loss's units, per pair; TR-DPO replaces values after each sync
  DpoLossConfig config_;
  const PreferenceLossType* baseline_;  // the loss with a micro-batch baseline (bco_pair), or nullptr
  bool averages_logps_;  // the log-probs are length-averaged (ipo among the losses, simpo)
  bool uses_reference_;  // false: logp_ref = 0 (simpo)
  int32_t pad_id_;
  int64_t micro_batch_size_;  // per_device_train_batch_size: the units of any micro-batch
  nlohmann::json loss_state_;
  const std::vector<PreferencePair>* eval_pairs_ = nullptr;
  ReferenceLogps eval_reference_;
  int64_t eval_batch_size_ = 1;
  std::unique_ptr<SyncedReference> synced_;  // sync_ref_model (TR-DPO); null: a fixed reference
};

}  // namespace

DpoStats dpo_accumulate(TrainState& state, const std::vector<std::vector<int64_t>>& micro_batches,
                        const std::vector<PreferencePair>& pairs, const ReferenceLogps& reference,
                        const DpoLossConfig& config, int32_t pad_id) {
  size_t largest = 1;
  for (const auto& ids : micro_batches) largest = std::max(largest, ids.size());
  PreferenceObjective objective(pairs, reference, config, pad_id, static_cast<int64_t>(largest));
  std::vector<MicroBatch> built;
  for (const auto& ids : micro_batches) built.push_back(objective.micro_batch(ids));
  const MetricSums sums = accumulate_step(state, objective, built, 0).sums;
  using S = PreferenceObjective::Slot;
  return {sums[S::kLoss],         sums[S::kRewardChosen], sums[S::kRewardRejected],
          sums[S::kAccuracy],     sums[S::kMargin],       sums[S::kLogpsChosen],
          sums[S::kLogpsRejected], static_cast<int64_t>(sums[S::kPairs]), sums[S::kLogitsChosen],
          sums[S::kLogitsRejected], static_cast<int64_t>(sums[S::kMicroBatches])};
}

void load_dpo_inputs(DpoRun& run) {
  const TrainConfig& c = run.config;
  const std::string path = c.dataset.path.empty() ? c.dataset.name : c.dataset.path;
  if (path.empty()) fail("{}: dataset.path (or dataset.name) is missing", c.source);
  if (!c.dataset.eval_path.empty() && c.dataset.test_size > 0)
    fail("{}: give dataset.eval_path or dataset.test_size, not both", c.source);
  if (!file_exists(path) && !is_repo_id(path)) fail("{}: dataset not found", path);
  check_output_dir(c);
  // The reference cache's folder, before the reference pass rather than after it.
  if (!run.ref_cache_dir.empty()) check_writable_directory(run.ref_cache_dir, "dpo --ref-cache");
  else check_writable_directory(default_reference_cache_dir(c.trainer.output_dir),
                                c.source + ": the reference cache (beside trainer.output_dir; --ref-cache chooses another)");
  PreferenceOptions o;
  try {
    o.tokenizer = resolve_model_dir(c.tokenizer_name);
  } catch (const Error&) {
    o.tokenizer = c.tokenizer_name;  // pre-tokenized data needs none
  }
  o.chat_template = c.dataset.chat_template;
  o.dataset_config = c.dataset.config;
  o.dataset_split = c.dataset.split;
  o.max_prompt_length = c.trainer.max_prompt_length;
  o.max_completion_length = c.trainer.max_completion_length;
  o.max_length = c.trainer.max_length;
  o.truncation_mode = parse_truncation_mode(c.trainer.truncation_mode, c.source + ": trainer.truncation_mode");
  o.token_budget = c.dataset.token_budget;
  o.seed = static_cast<uint64_t>(c.trainer.seed);
  o.skip_bad_lines = c.dataset.on_error == "skip";
  PreferenceData data = load_preference_data(path, o);
  log_info("{}", data.summary.to_text());
  run.train = std::move(data.pairs);
  if (!c.dataset.eval_path.empty()) {
    if (!file_exists(c.dataset.eval_path) && !is_repo_id(c.dataset.eval_path))
      fail("{}: dataset.eval_path {} not found", c.source, c.dataset.eval_path);
    o.token_budget = 0;  // the whole evaluation set
    PreferenceData eval = load_preference_data(c.dataset.eval_path, o);
    log_info("evaluation {}", eval.summary.to_text());
    run.eval = std::move(eval.pairs);
  } else if (c.dataset.test_size > 0) {
    run.eval = hold_out(run.train, c.dataset.test_size, c.trainer.seed);
  }
  const RunFiles files = resolve_run_files(c);
  run.tokenizer_source = files.tokenizer_source;
  run.pad_id = files.pad_id;
}

DpoResult run_dpo(DpoRun& run) {
  const TrainConfig& config = run.config;
  if (run.train.empty()) fail("{}: no preference pairs to train on", config.source);
  const DpoLossConfig loss = DpoLossConfig::from_args(config.trainer);
  // A loss whose state runs through the micro-batches in order (bco_pair's running reward moments)
  // would drift apart on ranks that see different micro-batches.
  if (const PreferenceLossType* stateful = baseline_loss(loss); stateful && Communicator::world().distributed())
    fail("{}: loss_type {} keeps a running state over micro-batches and cannot train data-parallel; run it on one "
         "rank",
         config.source, stateful->name);
  if (loss.use_weighting && run.cuda_device >= 0)
    fail("{}: trainer.use_weighting (WPO) is not implemented on the GPU: its log sum p^2 per position is computed by "
         "the CPU classifier only; run this config with --device cpu",
         config.source);
  if (config.trainer.sync_ref_model && run.cuda_device >= 0)
    fail("{}: trainer.sync_ref_model (TR-DPO) is not implemented on the GPU: the moved reference's log-probs are "
         "computed by the CPU model only; run this config with --device cpu",
         config.source);
  const Precision precision = config.trainer.bf16 ? Precision::BF16 : Precision::FP32;
  DpoResult result;
  result.output_dir = config.trainer.output_dir;
  Model model = load_model(config.model_name);
  const std::string data = config.dataset.path.empty() ? config.dataset.name : config.dataset.path;
  for (size_t i = 0; i < run.train.size(); ++i)
    for (const auto* ids : {&run.train[i].prompt, &run.train[i].chosen, &run.train[i].rejected})
      check_token_ids(*ids, model.config, fmt::format("{}: dataset {}: pair {}", config.source, data, i + 1));
  // the evaluation pairs up front too, not at the first evaluation
  const std::string eval_data = config.dataset.eval_path.empty() ? data + " (its test_size split)" : config.dataset.eval_path;
  for (size_t i = 0; i < run.eval.size(); ++i)
    for (const auto* ids : {&run.eval[i].prompt, &run.eval[i].chosen, &run.eval[i].rejected})
      check_token_ids(*ids, model.config, fmt::format("{}: dataset {}: evaluation pair {}", config.source, eval_data, i + 1));
  int64_t longest = 0;
  for (const auto& p : run.train)
    for (bool chosen : {true, false})
      longest = std::max<int64_t>(longest, static_cast<int64_t>(p.prompt_of(chosen).size() +
                                                                (chosen ? p.chosen : p.rejected).size()));
  note_positions_past_context(config, model.config, longest);
  const ReferenceLogps summed =
      loss.uses_reference()
          ? cached_reference_logps(run, run.train, model, precision, result.reference_cache_file, result.reference_cache_hit)
          : ReferenceLogps{};
  const ReferenceLogps reference = to_loss_units(loss, summed, run.train);
  ReferenceLogps eval_reference;
  if (!run.eval.empty()) {
    std::string eval_cache_file;
    bool eval_hit = false;
    eval_reference = to_loss_units(
        loss,
        loss.uses_reference() ? cached_reference_logps(run, run.eval, model, precision, eval_cache_file, eval_hit) : ReferenceLogps{},
        run.eval);
  }
  PreferenceObjective objective(run.train, reference, loss, run.pad_id, config.trainer.per_device_train_batch_size);
  objective.set_eval(run.eval, eval_reference, config.trainer.per_device_eval_batch_size);
  if (config.trainer.sync_ref_model && loss.uses_reference())  // before run_trainer loads a checkpoint into model
    objective.sync_reference(model, precision, config.trainer.ref_model_mixup_alpha, config.trainer.ref_model_sync_steps);
  const TrainerResult r =
      run_trainer(config, {"dpo", run.tokenizer_source, run.resume, run.shuffle, run.cuda_device, 2}, model, objective);
  result.steps = r.steps;
  result.final_loss = r.final_loss;
  return result;
}

}  // namespace tt
