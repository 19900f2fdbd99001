#include "train/dpo.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/system.h"
#include "data/hash.h"
#include "io/file.h"
#include "io/hub.h"
#include "io/jsonl.h"
#include "model/checkpoint.h"
#include "train/run_support.h"
#include "train/trainer_state.h"

namespace tt {

namespace fs = std::filesystem;

namespace {

double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

// Completion tokens that get a log-prob: each is predicted from the token before it, so a
// completion after an empty prompt loses its first token.
int64_t scored_tokens(const std::vector<int32_t>& prompt, const std::vector<int32_t>& completion) {
  return static_cast<int64_t>(completion.size()) - (prompt.empty() && !completion.empty() ? 1 : 0);
}

struct KeyHasher {
  uint64_t a = 0x452821e638d01377ull, b = 0xbe5466cf34e90c6cull;
  void add(const void* data, size_t size) {
    uint64_t n = size;
    a = hash_bytes(&n, sizeof n, a);
    b = hash_bytes(&n, sizeof n, b ^ 0x5bd1e995ull);
    a = hash_bytes(data, size, a);
    b = hash_bytes(data, size, b);
  }
  void add(std::string_view s) { add(s.data(), s.size()); }
  void add(const std::vector<int32_t>& ids) { add(ids.data(), ids.size() * sizeof(int32_t)); }
  std::string hex() const { return fmt::format("{:016x}{:016x}", a, b); }
};

// What the reference log-probs depend on: the starting weights (every *.safetensors file and
// config.json of the model directory, by content), the tokenized, truncated pairs (so the data
// and every tokenization setting) and the precision of the pass.
std::string reference_cache_key(const std::string& model_dir, const std::vector<PreferencePair>& pairs,
                                Precision precision) {
  KeyHasher key;
  key.add(std::string_view("tinythink-dpo-reference-v1"));
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(model_dir))
    if (e.path().extension() == ".safetensors" || e.path().filename() == "config.json") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<char> chunk(16 << 20);  // streamed: a weights file is never held whole in memory
  for (const auto& f : files) {
    key.add(fs::path(f).filename().string());
    std::ifstream in(f, std::ios::binary);
    if (!in) fail("{}: cannot open", f);
    while (in) {
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      if (in.gcount() > 0) key.add(chunk.data(), static_cast<size_t>(in.gcount()));
    }
  }
  key.add(std::string_view(precision_name(precision)));
  uint64_t n = pairs.size();
  key.add(&n, sizeof n);
  for (const auto& p : pairs) {
    key.add(p.prompt);
    key.add(p.chosen);
    key.add(p.rejected);
  }
  return key.hex();
}

}  // namespace

DpoLossConfig DpoLossConfig::from_args(const TrainingArgs& args) {
  DpoLossConfig c;
  c.type = args.loss_type;
  c.beta = args.beta;
  c.label_smoothing = args.label_smoothing;
  c.simpo_gamma = args.simpo_gamma;
  c.reference_free = args.reference_free;
  return c;
}

PairLoss dpo_pair_loss(const DpoLossConfig& c, double logp_c, double logp_r, double ref_c, double ref_r) {
  PairLoss out;
  const double b = c.beta, e = c.label_smoothing;
  if (c.type == "simpo") {
    const double z = logp_c - logp_r - c.simpo_gamma / b;
    out.loss = -(1 - e) * log_sigmoid(b * z) - e * log_sigmoid(-b * z);
    const double dz = -(1 - e) * b * sigmoid(-b * z) + e * b * sigmoid(b * z);
    out.d_chosen = dz;
    out.d_rejected = -dz;
    out.reward_chosen = b * logp_c;
    out.reward_rejected = b * logp_r;
    return out;
  }
  if (c.reference_free) ref_c = ref_r = 0;
  const double rc = logp_c - ref_c, rr = logp_r - ref_r, z = rc - rr;
  double dz = 0;
  if (c.type == "sigmoid") {
    out.loss = -(1 - e) * log_sigmoid(b * z) - e * log_sigmoid(-b * z);
    dz = -(1 - e) * b * sigmoid(-b * z) + e * b * sigmoid(b * z);
  } else if (c.type == "hinge") {
    out.loss = std::max(0.0, 1 - b * z);
    dz = 1 - b * z > 0 ? -b : 0.0;
  } else if (c.type == "ipo") {
    const double d = z - 1 / (2 * b);
    out.loss = d * d;
    dz = 2 * d;
  } else if (c.type == "apo_zero") {
    const double sc = sigmoid(b * rc), sr = sigmoid(b * rr);
    out.loss = (1 - sc) + sr;
    out.d_chosen = -b * sc * (1 - sc);
    out.d_rejected = b * sr * (1 - sr);
  } else if (c.type == "apo_down") {
    const double sc = sigmoid(b * rc), sz = sigmoid(b * z);
    out.loss = sc + (1 - sz);
    out.d_chosen = b * sc * (1 - sc) - b * sz * (1 - sz);
    out.d_rejected = b * sz * (1 - sz);
  } else {
    fail("unknown preference loss '{}'", c.type);
  }
  if (c.type != "apo_zero" && c.type != "apo_down") {
    out.d_chosen = dz;
    out.d_rejected = -dz;
  }
  out.reward_chosen = b * rc;
  out.reward_rejected = b * rr;
  return out;
}

void DpoStats::add(const DpoStats& o) {
  loss += o.loss;
  reward_chosen += o.reward_chosen;
  reward_rejected += o.reward_rejected;
  accuracy += o.accuracy;
  margin += o.margin;
  logps_chosen += o.logps_chosen;
  logps_rejected += o.logps_rejected;
  pairs += o.pairs;
  tokens += o.tokens;
}

Batch make_pair_batch(const std::vector<const PreferencePair*>& pairs, int32_t pad_id) {
  const int64_t B = static_cast<int64_t>(pairs.size());
  Batch batch;
  batch.rows = 2 * B;
  for (const auto* p : pairs)
    batch.seq = std::max<int64_t>(batch.seq, static_cast<int64_t>(p->prompt.size() + std::max(p->chosen.size(), p->rejected.size())));
  batch.tokens.assign(batch.size(), pad_id);
  batch.targets.assign(batch.size(), -100);
  for (int64_t r = 0; r < batch.rows; ++r) {
    const PreferencePair& p = *pairs[r % B];
    const auto& completion = r < B ? p.chosen : p.rejected;
    int32_t* tokens = batch.tokens.data() + r * batch.seq;
    int32_t* targets = batch.targets.data() + r * batch.seq;
    std::copy(p.prompt.begin(), p.prompt.end(), tokens);
    std::copy(completion.begin(), completion.end(), tokens + p.prompt.size());
    const int64_t start = static_cast<int64_t>(p.prompt.size()), end = start + static_cast<int64_t>(completion.size());
    for (int64_t t = std::max<int64_t>(start, 1); t < end; ++t) targets[t - 1] = tokens[t];
  }
  return batch;
}

namespace {

// Per-row summed log-probs of a batch whose decoder output is in ws.hidden; token_logprobs [N].
std::vector<double> row_sums(const Batch& batch, const std::vector<float>& token_logprobs) {
  std::vector<double> sums(batch.rows, 0.0);
  for (int64_t r = 0; r < batch.rows; ++r)
    for (int64_t t = 0; t < batch.seq; ++t)
      if (batch.targets[r * batch.seq + t] >= 0) sums[r] += token_logprobs[r * batch.seq + t];
  return sums;
}

}  // namespace

ReferenceLogps summed_logps(const ModelConfig& c, const WeightSet& w, Precision precision,
                            const std::vector<PreferencePair>& pairs, int64_t batch_pairs, int32_t pad_id) {
  ReferenceLogps out;
  out.chosen.resize(pairs.size());
  out.rejected.resize(pairs.size());
  Workspace ws;
  batch_pairs = std::max<int64_t>(1, batch_pairs);
  for (size_t start = 0; start < pairs.size(); start += batch_pairs) {
    std::vector<const PreferencePair*> group;
    for (size_t i = start; i < std::min(pairs.size(), start + batch_pairs); ++i) group.push_back(&pairs[i]);
    Batch batch = make_pair_batch(group, pad_id);
    model_forward(c, w, batch, ws, {.precision = precision, .for_backward = false});
    std::vector<float> logp(batch.size());
    classifier_forward_backward(ws.hidden.data(), w.matmul_weights.lm_head, batch.targets.data(), batch.size(),
                                c.vocab_size, c.hidden_size, nullptr, logp.data(), precision, w.matmul_weights_are_bf16);
    std::vector<double> sums = row_sums(batch, logp);
    const int64_t B = static_cast<int64_t>(group.size());
    for (int64_t i = 0; i < B; ++i) {
      out.chosen[start + i] = sums[i];
      out.rejected[start + i] = sums[B + i];
    }
  }
  return out;
}

ReferenceLogps to_loss_units(const DpoLossConfig& config, const ReferenceLogps& summed,
                             const std::vector<PreferencePair>& pairs) {
  ReferenceLogps out;
  out.chosen.assign(pairs.size(), 0.0);
  out.rejected.assign(pairs.size(), 0.0);
  if (!config.uses_reference()) return out;
  for (size_t i = 0; i < pairs.size(); ++i) {
    out.chosen[i] = summed.chosen.at(i);
    out.rejected[i] = summed.rejected.at(i);
    if (config.averages_logps()) {
      out.chosen[i] /= static_cast<double>(std::max<int64_t>(1, scored_tokens(pairs[i].prompt, pairs[i].chosen)));
      out.rejected[i] /= static_cast<double>(std::max<int64_t>(1, scored_tokens(pairs[i].prompt, pairs[i].rejected)));
    }
  }
  return out;
}

DpoStats dpo_accumulate(TrainState& state, const std::vector<std::vector<int64_t>>& micro_batches,
                        const std::vector<PreferencePair>& pairs, const ReferenceLogps& reference,
                        const DpoLossConfig& config, int32_t pad_id) {
  Model& model = *state.model;
  const ModelConfig& c = model.config;
  std::fill(state.grads.begin(), state.grads.end(), 0.0f);
  ModelViews grads = make_model_views(c, state.grads.data());
  int64_t total_pairs = 0;
  for (const auto& mb : micro_batches) total_pairs += static_cast<int64_t>(mb.size());
  DpoStats stats;
  if (total_pairs == 0) return stats;
  Workspace& ws = state.workspace;
  const WeightSet& w = state.weights;
  for (const auto& mb : micro_batches) {
    if (mb.empty()) continue;
    std::vector<const PreferencePair*> group;
    for (int64_t id : mb) group.push_back(&pairs.at(id));
    Batch batch = make_pair_batch(group, pad_id);
    const int64_t B = static_cast<int64_t>(group.size()), T = batch.seq, N = batch.size();
    model_forward(c, w, batch, ws, {.precision = state.precision, .for_backward = true});
    // 1. per-token log-probs, forward only
    std::vector<float> logp(N);
    classifier_forward_backward(ws.hidden.data(), w.matmul_weights.lm_head, batch.targets.data(), N, c.vocab_size,
                                c.hidden_size, nullptr, logp.data(), state.precision, w.matmul_weights_are_bf16);
    std::vector<double> sums = row_sums(batch, logp);
    // 2. the loss and dL/dlogp_seq, spread over each sequence's completion tokens as w_t = -dL/dlogp_seq
    //    (the classifier backpropagates sum_t w_t * (-logp_t))
    std::vector<float> token_weights(N, 0.0f);
    for (int64_t i = 0; i < B; ++i) {
      const PreferencePair& p = *group[i];
      const double len_c = static_cast<double>(std::max<int64_t>(1, scored_tokens(p.prompt, p.chosen)));
      const double len_r = static_cast<double>(std::max<int64_t>(1, scored_tokens(p.prompt, p.rejected)));
      const double div_c = config.averages_logps() ? len_c : 1.0, div_r = config.averages_logps() ? len_r : 1.0;
      const double lc = sums[i] / div_c, lr = sums[B + i] / div_r;
      const int64_t id = mb[i];
      PairLoss pl = dpo_pair_loss(config, lc, lr, reference.chosen.at(id), reference.rejected.at(id));
      const double scale = 1.0 / static_cast<double>(total_pairs);
      const float wc = static_cast<float>(-pl.d_chosen / div_c * scale), wr = static_cast<float>(-pl.d_rejected / div_r * scale);
      for (int64_t t = 0; t < T; ++t) {
        if (batch.targets[i * T + t] >= 0) token_weights[i * T + t] = wc;
        if (batch.targets[(B + i) * T + t] >= 0) token_weights[(B + i) * T + t] = wr;
      }
      stats.loss += pl.loss;
      stats.reward_chosen += pl.reward_chosen;
      stats.reward_rejected += pl.reward_rejected;
      stats.accuracy += pl.reward_chosen > pl.reward_rejected ? 1.0 : 0.0;
      stats.margin += pl.reward_chosen - pl.reward_rejected;
      stats.logps_chosen += lc;
      stats.logps_rejected += lr;
      stats.pairs += 1;
      stats.tokens += static_cast<int64_t>(2 * p.prompt.size() + p.chosen.size() + p.rejected.size());
    }
    // 3. d_hidden and the classifier weight gradient, then the decoder
    ClassifierGrad grad{token_weights.data(), TokenLoss::NLL, ws.d_hidden.data(), grads.lm_head};
    classifier_forward_backward(ws.hidden.data(), w.matmul_weights.lm_head, batch.targets.data(), N, c.vocab_size,
                                c.hidden_size, &grad, nullptr, state.precision, w.matmul_weights_are_bf16);
    model_backward(c, w, grads, batch, ws, state.precision);
  }
  return stats;
}

void load_dpo_inputs(DpoRun& run) {
  const TrainConfig& c = run.config;
  const std::string path = c.dataset.path.empty() ? c.dataset.name : c.dataset.path;
  if (path.empty()) fail("{}: dataset.path (or dataset.name) is missing", c.source);
  if (!file_exists(path)) fail("{}: dataset not found", path);
  PreferenceOptions o;
  try {
    o.tokenizer = resolve_model_dir(c.tokenizer_name);
  } catch (const Error&) {
    o.tokenizer = c.tokenizer_name;  // pre-tokenized data needs none
  }
  o.chat_template = c.dataset.chat_template;
  o.max_prompt_length = c.trainer.max_prompt_length;
  o.max_completion_length = c.trainer.max_completion_length;
  o.max_length = c.trainer.max_length;
  o.token_budget = c.dataset.token_budget;
  o.seed = static_cast<uint64_t>(c.trainer.seed);
  PreferenceData data = load_preference_data(path, o);
  log_info("{}", data.summary.to_text());
  run.train = std::move(data.pairs);
  const RunFiles files = resolve_run_files(c);
  run.tokenizer_source = files.tokenizer_source;
  run.pad_id = files.pad_id;
}

DpoResult run_dpo(DpoRun& run) {
  const TrainConfig& config = run.config;
  const TrainingArgs& args = config.trainer;
  if (run.train.empty()) fail("{}: no preference pairs to train on", config.source);
  const DpoLossConfig loss = DpoLossConfig::from_args(args);
  const int64_t n_pairs = static_cast<int64_t>(run.train.size());
  const StepPlan plan = plan_steps(args, n_pairs);
  const Precision precision = args.bf16 ? Precision::BF16 : Precision::FP32;
  const ScheduleKind schedule = parse_schedule(args.lr_scheduler_type);
  DpoResult result;
  result.output_dir = args.output_dir;

  const std::string model_dir = resolve_model_dir(config.model_name);
  Model model = load_model(config.model_name);
  for (const auto& p : run.train)
    for (const auto* ids : {&p.prompt, &p.chosen, &p.rejected})
      for (int32_t t : *ids)
        if (t >= model.config.vocab_size)
          fail("{}: token id {} out of range (vocab size {})", config.source, t, model.config.vocab_size);

  // Reference log-probs from the starting weights (before any checkpoint is loaded into `model`):
  // one forward-only pass, or the cache of an earlier run of the sweep.
  ReferenceLogps summed;
  if (loss.uses_reference()) {
    const std::string cache_dir =
        !run.ref_cache_dir.empty() ? run.ref_cache_dir
                                   : (fs::absolute(args.output_dir).parent_path() / "ref_cache").string();
    const std::string key = reference_cache_key(model_dir, run.train, precision);
    const std::string file = cache_dir + "/" + key + ".json";
    result.reference_cache_file = file;
    if (file_exists(file)) {
      nlohmann::json cached = read_json_file(file);
      if (cached.value("key", "") != key || cached["chosen"].size() != run.train.size())
        fail("{}: reference cache entry does not match its key; delete it", file);
      summed.chosen = cached["chosen"].get<std::vector<double>>();
      summed.rejected = cached["rejected"].get<std::vector<double>>();
      result.reference_cache_hit = true;
      log_info("reference log-probs: reusing {} ({} pairs) - no reference pass", file, run.train.size());
    } else {
      const double t0 = now_seconds();
      {
        std::vector<float> copy;
        WeightSet weights = make_weight_set(model, precision, copy);
        summed = summed_logps(model.config, weights, precision, run.train, args.per_device_eval_batch_size, run.pad_id);
      }
      fs::create_directories(cache_dir);
      nlohmann::json entry = {{"key", key},
                              {"model", model_dir},
                              {"precision", precision_name(precision)},
                              {"pairs", run.train.size()},
                              {"chosen", summed.chosen},
                              {"rejected", summed.rejected}};
      write_file_atomic(file, entry.dump());
      log_info("reference log-probs: computed for {} pairs in one forward-only pass ({:.2f} s), cached at {}",
               run.train.size(), now_seconds() - t0, file);
    }
  }
  const ReferenceLogps reference = to_loss_units(loss, summed, run.train);

  AdamWState adam;
  const ResumePoint resume = resume_if_requested(config, run.resume, model, adam);
  CheckpointState ckpt = resume.state;
  TrainState state(model, precision);
  state.adam = std::move(adam);
  fs::create_directories(args.output_dir);
  const std::string metrics_path = args.output_dir + "/metrics.jsonl";
  std::vector<nlohmann::json> metrics = previous_metrics(metrics_path, resume);
  log_info("dpo: {} pairs, {} steps ({} per epoch), effective batch {} pairs, lr {}, {} beta {} {}{}", n_pairs,
           plan.total_steps, plan.steps_per_epoch, args.per_device_train_batch_size * args.gradient_accumulation_steps,
           args.learning_rate, loss.type, loss.beta, precision_name(precision),
           resume.from.empty() ? "" : ", resumed from " + resume.from);

  const AdamWConfig adamw{args.learning_rate, args.adam_beta1, args.adam_beta2, args.adam_epsilon, args.weight_decay};
  DpoStats window;
  double window_loss = 0, window_norm = 0;
  int64_t window_steps = 0;
  const double t_start = now_seconds();
  const int64_t first_step = ckpt.global_step;
  int64_t cached_epoch = -1;
  std::vector<int64_t> order;
  for (int64_t step = ckpt.global_step; step < plan.total_steps; ++step) {
    const int64_t epoch = step / plan.steps_per_epoch, index = step % plan.steps_per_epoch;
    if (epoch != cached_epoch) {
      order = epoch_order(n_pairs, args.seed, epoch, run.shuffle);
      cached_epoch = epoch;
    }
    const std::vector<std::vector<int64_t>> micro_batches =
        step_micro_batches(order, index, args.per_device_train_batch_size, args.gradient_accumulation_steps);
    const double lr = args.learning_rate * schedule_factor(schedule, step, plan.warmup_steps, plan.total_steps);
    DpoStats stats = dpo_accumulate(state, micro_batches, run.train, reference, loss, run.pad_id);
    const double grad_norm = clip_grad_norm(state.grads, args.max_grad_norm);
    adamw_step(model.params, state.grads, state.adam, adamw, lr, state.decay_mask, model.layout);
    if (precision == Precision::BF16) refresh_bf16_copy(model.params, state.bf16_copy);
    ckpt.global_step = step + 1;
    ckpt.seen_tokens += static_cast<double>(stats.tokens);
    window.add(stats);
    window_loss += stats.pairs ? stats.loss / static_cast<double>(stats.pairs) : 0.0;
    window_norm += grad_norm;
    ++window_steps;
    const bool last = step + 1 == plan.total_steps;
    if ((step + 1) % plan.logging_steps == 0 || last) {
      const double n = static_cast<double>(std::max<int64_t>(1, window.pairs));
      nlohmann::json row = {{"step", step + 1},
                            {"loss", window_loss / window_steps},
                            {"learning_rate", lr},
                            {"grad_norm", window_norm / window_steps},
                            {"rewards/chosen", window.reward_chosen / n},
                            {"rewards/rejected", window.reward_rejected / n},
                            {"rewards/accuracies", window.accuracy / n},
                            {"rewards/margins", window.margin / n},
                            {"logps/chosen", window.logps_chosen / n},
                            {"logps/rejected", window.logps_rejected / n},
                            {"num_tokens", ckpt.seen_tokens},
                            {"epoch", static_cast<double>(step + 1) / plan.steps_per_epoch}};
      result.final_loss = window_loss / window_steps;
      const double elapsed = now_seconds() - t_start;
      log_info("step {}/{}  loss {:.4f}  lr {:.3e}  grad-norm {:.3f}  margin {:.4f}  acc {:.3f}  ETA {:.0f}s", step + 1,
               plan.total_steps, result.final_loss, lr, window_norm / window_steps, window.margin / n,
               window.accuracy / n,
               elapsed / static_cast<double>(step + 1 - first_step) * static_cast<double>(plan.total_steps - step - 1));
      metrics.push_back(row);
      window = DpoStats{};
      window_loss = window_norm = 0;
      window_steps = 0;
      write_jsonl(metrics_path, metrics);
    }
    checkpoint_if_due(args, plan, last, metrics_path, metrics, model, state.adam, ckpt, run.tokenizer_source);
  }
  write_final_model(model, args.output_dir, run.tokenizer_source);
  result.steps = ckpt.global_step;
  log_info("dpo: done, {} steps; model written to {}", result.steps, args.output_dir);
  return result;
}

}  // namespace tt
