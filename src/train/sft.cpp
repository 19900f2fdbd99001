#include "train/sft.h"

#include <algorithm>
#include <cmath>

#include "core/communicator.h"
#include "core/error.h"
#include "data/prepare.h"
#include "train/run_support.h"
#include "train/trainer.h"

namespace tt {

namespace {

// A training "row" is one example, or one packed group of examples (or of fragments or wrapped
// pieces, which `packed` owns).
struct Rows {
  PackedRows packed;  // rows of one example each when not packing
  Batch batch(const std::vector<int64_t>& ids, int32_t pad_id) const {
    if (packed.padding_free) {
      std::vector<std::vector<const SftExample*>> selected;
      for (int64_t id : ids) selected.push_back(packed.rows[id]);
      return make_packed_batch(selected, pad_id);
    }
    std::vector<const SftExample*> selected;
    for (int64_t id : ids) selected.push_back(packed.rows[id][0]);
    return make_padded_batch(selected, pad_id);
  }
  size_t size() const { return packed.rows.size(); }
  const std::vector<const SftExample*>& operator[](size_t i) const { return packed.rows[i]; }
};

Rows make_rows(const std::vector<SftExample>& examples, const TrainingArgs& args, bool packing) {
  Rows rows;
  if (!packing) {
    rows.packed.padding_free = args.padding_free;  // TRL's padding_free: the micro-batch as one flat row
    for (const auto& e : examples) rows.packed.rows.push_back({&e});
    return rows;
  }
  rows.packed = pack_dataset(examples, args.max_length, parse_packing_strategy(args.packing_strategy, "trainer.packing_strategy"),
                             args.dataset_num_proc);
  rows.packed.padding_free = rows.packed.padding_free || args.padding_free;  // wrapped too, as TRL flattens it
  return rows;
}

// The tokens that are targets (a token with loss after the first of its document), over every row.
int64_t target_tokens(const Rows& rows) {
  int64_t n = 0;
  for (size_t i = 0; i < rows.size(); ++i)
    for (const SftExample* e : rows[i])
      for (size_t t = 1; t < e->loss_mask.size(); ++t) n += e->loss_mask[t] != 0;
  return n;
}

// TRL's truncate_dataset (data/prepare.h): each example keeps its first max_length tokens.
void truncate_examples(std::vector<SftExample>& examples, int64_t max_length) {
  for (auto& e : examples) truncate_to_max_length(e.tokens, e.loss_mask, max_length);
}

// The SFT objective: the token loss (nll or dft) averaged over every target token of the effective
// batch, NEFTune noise on the input embeddings, TRL's mean_token_accuracy; eval_loss on held-out rows.
// Metrics are averaged as TRL and transformers do: mean_token_accuracy is the mean over the logging
// window's micro-steps of each one's accuracy (SFTTrainer.compute_loss appends one per call, log()
// averages the list), a micro-step being one micro-batch on every rank: its accuracy pools their
// correct and target tokens (gather_for_metrics of both), or with use_liger_kernel averages their
// accuracies (TRL's Liger path gathers each rank's token_accuracy); eval_loss the mean of each eval
// batch's token-mean loss weighted by its rows (evaluation_loop repeats a batch's loss batch-size
// times; a padding-free packed batch is one row).
class SftObjective final : public Objective {
 public:
  enum Slot : size_t { kLossSum, kCorrect, kTargets, kAccuracySum, kMicroBatches, kSlots };
  // then per micro-step of the step, every rank's micro-batch of it summed (pooled after the all-reduce)
  enum MicroStepSlot : size_t { kStepCorrect, kStepTargets, kStepAccuracySum, kStepMicroBatches, kMicroStepSlots };

  SftObjective(const SftRun& run, Rows train, Rows eval)
      : run_(run), args_(run.config.trainer), train_(std::move(train)), eval_(std::move(eval)),
        loss_(args_.loss_type == "dft" ? TokenLoss::DFT : TokenLoss::NLL) {}

  int64_t rows() const override { return static_cast<int64_t>(train_.size()); }

  std::string describe() const override {
    return fmt::format("{} rows ({} examples{}), loss {}", train_.size(), run_.train.size(),
                       args_.packing ? ", packed " + args_.packing_strategy : "", args_.loss_type);
  }

  MicroBatch micro_batch(const std::vector<int64_t>& ids) const override {
    MicroBatch m;
    m.rows = ids;
    for (int64_t id : ids)
      for (const auto* e : train_[static_cast<size_t>(id)]) m.input_tokens += static_cast<int64_t>(e->tokens.size());
    m.batch = train_.batch(ids, run_.pad_id);
    m.units = count_targets(m.batch);
    return m;
  }

  void accumulate(TrainState& state, const MicroBatch& micro, const MicroStep& where, MetricSums& sums) override {
    const uint64_t step_seed = static_cast<uint64_t>(args_.seed) * 1000003ull + static_cast<uint64_t>(where.step);
    LossResult r = accumulate_token_loss(state, micro.batch, 1.0f / static_cast<float>(where.normaliser), loss_,
                                         static_cast<float>(args_.neftune_noise_alpha),
                                         step_seed * 1000003ull + static_cast<uint64_t>(where.index));
    sums[kLossSum] += r.loss_sum;
    sums[kCorrect] += static_cast<double>(r.correct);
    sums[kTargets] += static_cast<double>(micro.units);
    // micro-batch k of the step's N x accumulation is rank k % N's share of micro-step k / N
    const int64_t micro_step = where.index / Communicator::world().size();
    TT_CHECK(micro_step >= 0 && micro_step < args_.gradient_accumulation_steps, "micro-batch {} of a step", where.index);
    double* slots = sums.data() + kSlots + kMicroStepSlots * static_cast<size_t>(micro_step);
    slots[kStepCorrect] += static_cast<double>(r.correct);
    slots[kStepTargets] += static_cast<double>(micro.units);
    slots[kStepAccuracySum] += micro.units > 0 ? static_cast<double>(r.correct) / static_cast<double>(micro.units) : 0.0;
    slots[kStepMicroBatches] += 1;
  }

  size_t metric_slots() const override {
    return kSlots + kMicroStepSlots * static_cast<size_t>(args_.gradient_accumulation_steps);
  }

  void pool_step_metrics(MetricSums& step) const override {
    for (size_t at = kSlots; at < step.size(); at += kMicroStepSlots) {
      double* slots = step.data() + at;
      if (slots[kStepMicroBatches] == 0) continue;
      step[kAccuracySum] += micro_step_accuracy(slots[kStepCorrect], slots[kStepTargets], slots[kStepAccuracySum],
                                                slots[kStepMicroBatches], args_.use_liger_kernel);
      step[kMicroBatches] += 1;
      std::fill(slots, slots + kMicroStepSlots, 0.0);
    }
  }
  double step_loss(const MetricSums& step) const override { return step[kLossSum]; }

  void add_metrics(const MetricSums& window, nlohmann::json& row) const override {
    row["mean_token_accuracy"] = window[kMicroBatches] > 0 ? window[kAccuracySum] / window[kMicroBatches] : 0.0;
  }

  std::string progress(const nlohmann::json& row) const override {
    return fmt::format("acc {:.3f}", row["mean_token_accuracy"].get<double>());
  }

  bool has_eval_data() const override { return eval_.size() > 0; }

  // The training loss on a forward-only batch, as TRL evaluates with its compute_loss_func:
  // -logp per target token (nll), or -sg(p) logp (dft).
  double eval_loss_sum(const Batch& batch, const std::vector<float>& logprobs) const {
    double sum = 0;
    for (int64_t t = 0; t < batch.size(); ++t) {
      if (batch.targets[t] < 0) continue;
      const double lp = logprobs[t];
      sum += loss_ == TokenLoss::DFT ? -std::exp(lp) * lp : -lp;
    }
    return sum;
  }

  nlohmann::json evaluate(TrainState& state) override {
    // Under mpirun each rank evaluates its share of the batches (batch b: rank b % N, evaluation step
    // b / N, as accelerate shards the eval loader) and the sums are all-reduced.
    const size_t bs = static_cast<size_t>(args_.per_device_eval_batch_size);
    Communicator& world = Communicator::world();
    const size_t batches = (eval_.size() + bs - 1) / bs;
    const size_t ranks = static_cast<size_t>(world.size());
    EvalAverages averages(static_cast<int64_t>((batches + ranks - 1) / ranks), args_.use_liger_kernel);
    Workspace ws;
    for (size_t b : rank_share(batches, world.size(), world.rank())) {
      const size_t start = b * bs;
      std::vector<int64_t> ids;
      for (size_t i = start; i < std::min(eval_.size(), start + bs); ++i) ids.push_back(static_cast<int64_t>(i));
      Batch batch = eval_.batch(ids, run_.pad_id);
      std::vector<float> logprobs(batch.size());
      LossResult r = evaluate_token_loss(state, batch, loss_, ws, logprobs.data());
      averages.add(static_cast<int64_t>(b / ranks), eval_loss_sum(batch, logprobs), r.tokens, r.correct,
                   eval_.packed.padding_free ? 1 : batch.rows);
    }
    if (world.distributed()) {
      std::vector<double> sums = {averages.weighted_loss, averages.weight};
      sums.insert(sums.end(), averages.steps.begin(), averages.steps.end());
      world.all_reduce_sum(sums.data(), sums.size());
      averages.weighted_loss = sums[0];
      averages.weight = sums[1];
      std::copy(sums.begin() + 2, sums.end(), averages.steps.begin());
    }
    return {{"eval_loss", averages.loss()}, {"eval_mean_token_accuracy", averages.accuracy()}};
  }

 private:
  const SftRun& run_;
  const TrainingArgs& args_;
  Rows train_, eval_;
  TokenLoss loss_;
};

}  // namespace

double micro_step_accuracy(double correct, double targets, double accuracy_sum, double micro_batches, bool over_ranks) {
  if (over_ranks) return accuracy_sum / micro_batches;
  return targets > 0 ? correct / targets : 0.0;
}

void EvalAverages::add(int64_t step, double loss_sum, int64_t tokens, int64_t correct, int64_t rows) {
  TT_CHECK(step >= 0 && static_cast<size_t>(step) * kStepSlots < steps.size(), "evaluation step {}", step);
  double* slots = steps.data() + static_cast<size_t>(step) * kStepSlots;
  slots[kBatches] += 1;
  if (tokens <= 0) return;
  weighted_loss += static_cast<double>(rows) * loss_sum / static_cast<double>(tokens);
  weight += static_cast<double>(rows);
  slots[kCorrect] += static_cast<double>(correct);
  slots[kTargets] += static_cast<double>(tokens);
  slots[kAccuracySum] += static_cast<double>(correct) / static_cast<double>(tokens);
}

double EvalAverages::accuracy() const {
  double sum = 0, counted = 0;
  for (size_t at = 0; at < steps.size(); at += kStepSlots) {
    const double* slots = steps.data() + at;
    if (slots[kBatches] == 0) continue;
    sum += micro_step_accuracy(slots[kCorrect], slots[kTargets], slots[kAccuracySum], slots[kBatches],
                               accuracy_over_ranks);
    counted += 1;
  }
  return counted > 0 ? sum / counted : 0.0;
}

SftResult run_sft(SftRun& run) {
  const TrainConfig& config = run.config;
  const TrainingArgs& args = config.trainer;
  if (run.train.empty()) fail("{}: the training set is empty", config.source);
  // TRL truncates unpacked data and bfd-packed data; bfd-requeue splits and wrapped cuts instead
  const auto strategy = parse_packing_strategy(args.packing_strategy, config.source + ": trainer.packing_strategy");
  const bool eval_packing = args.eval_packing.value_or(args.packing);
  const bool keeps_every_token = strategy != PackingStrategy::Bfd;
  if (!(args.packing && keeps_every_token)) truncate_examples(run.train, args.max_length);
  if (!(eval_packing && keeps_every_token)) truncate_examples(run.eval, args.max_length);
  Model model = load_model(config.model_name);
  const std::string data_source = fmt::format("{}: dataset {}", config.source, config.dataset.path);
  for (const auto& e : run.train) check_token_ids(e.tokens, model.config, data_source);
  // the eval examples up front too: a bad id used to stop the run at its first evaluation
  const std::string eval_source =
      config.dataset.eval_path.empty() ? data_source + " (its test_size split)"
                                       : fmt::format("{}: dataset.eval_path {}", config.source, config.dataset.eval_path);
  for (const auto& e : run.eval) check_token_ids(e.tokens, model.config, eval_source);
  Rows train = make_rows(run.train, args, args.packing), eval = make_rows(run.eval, args, eval_packing);
  // After truncation (or splitting) a token may have lost every target: training "ran" on nothing
  // and logged loss 0.0 with exit 0.
  if (target_tokens(train) == 0)
    fail("{}: after max_length {} truncation no training example has a token with loss: nothing to train on",
         config.source, args.max_length);
  if (eval.size() > 0 && target_tokens(eval) == 0)
    fail("{}: after max_length {} truncation no evaluation example has a token with loss: eval_loss would be "
         "meaningless", config.source, args.max_length);
  int64_t longest = 0;  // a row's documents restart their positions; a wrapped piece is one sequence
  for (const auto* rows : {&train, &eval})
    for (size_t i = 0; i < rows->size(); ++i)
      for (const auto* e : (*rows)[i]) longest = std::max<int64_t>(longest, static_cast<int64_t>(e->tokens.size()));
  note_positions_past_context(config, model.config, longest);
  SftObjective objective(run, std::move(train), std::move(eval));
  const TrainerResult r = run_trainer(config, {"sft", run.tokenizer_source, run.resume, run.shuffle, run.cuda_device}, model, objective);
  return {r.steps, r.final_loss, args.output_dir};
}

}  // namespace tt
