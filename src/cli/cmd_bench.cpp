// tinythink bench train: throughput, memory and model-FLOP utilisation of full training steps.
// bench train --world (under mpirun/srun): data-parallel scaling, one rank alone vs every rank.
// bench roofline: this machine's ceilings (memory bandwidth, oneDNN's GEMM rate on the model's shapes).
#include <algorithm>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "cli/device_option.h"
#include "cli/profile_table.h"
#include "core/communicator.h"
#include "core/log.h"
#include "core/op_profile.h"
#include "core/rng.h"
#include "core/error.h"
#include "core/system.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/roofline.h"
#include "train/train_step.h"

namespace tt::cli {

namespace {

struct TrainBenchArgs {
  std::string arch = "mobilellm-r1-140m", precision = "auto", device;
  int64_t batch = 1, seq = 512, steps = 3, zero_stage = 0;
  bool json = false, profile = false, world = false;
};

// Model FLOPs of one training step: 6 per parameter per token (forward 2, backward 4), plus causal
// attention: QK^T and PV cost 4 * D per head per visible key in the forward, x3 with the backward.
// The trainer's own limit on a step's rows x tokens (train/training_args.cpp: 2^24 each).
constexpr double kMaxBenchTokens = double(int64_t{1} << 24);

double train_flops(const ModelConfig& c, int64_t batch, int64_t seq) {
  const double tokens = static_cast<double>(batch) * seq;
  const double dense = 6.0 * static_cast<double>(parameter_count(c)) * tokens;
  const double visible_keys = (seq + 1) / 2.0;
  const double attention = 3.0 * 4.0 * c.head_dim * c.num_attention_heads * visible_keys * tokens * c.num_hidden_layers;
  return dense + attention;
}

// oneDNN's throughput on the model's own largest dense shape (the FFN up-projection of the step).
double measured_matmul_flops(const ModelConfig& c, int64_t tokens, Precision precision) {
  return measure_matmul_flops(std::min<int64_t>(tokens, 4096), c.intermediate_size, c.hidden_size, precision);
}

// cuBLASLt's throughput on the same shape as measured_matmul_flops (all tokens of the step), on the
// training device, with the step's operand type.
double measured_device_gemm_flops(TrainDevice& d, const ModelConfig& c, int64_t tokens, Precision precision) {
  const int64_t m = tokens, n = c.intermediate_size, k = c.hidden_size;
  const bool bf16 = precision == Precision::BF16;
  const size_t element = bf16 ? sizeof(uint16_t) : sizeof(float);
  void* a = d.allocate(element * m * k);
  void* b = d.allocate(element * n * k);
  auto* out = static_cast<float*>(d.allocate(sizeof(float) * m * n));
  d.zero(a, element * m * k);
  d.zero(b, element * n * k);
  auto product = [&] { d.gemm({a, bf16}, {b, bf16}, out, m, n, k, false, true, false, bf16); };
  product();
  d.synchronize();
  constexpr int kRepeats = 20;
  const double t0 = now_seconds();
  for (int i = 0; i < kRepeats; ++i) product();
  d.synchronize();
  const double seconds = (now_seconds() - t0) / kRepeats;
  for (void* p : {a, b, static_cast<void*>(out)}) d.release(p);
  return 2.0 * static_cast<double>(m) * n * k / seconds;
}

// The GPU's side of the benchmark: model FLOP utilisation against the card's bf16 dense peak (when
// its name is in the table) and against cuBLASLt on the model's own shape, and device memory.
nlohmann::json device_bench_fields(TrainState& state, const ResolvedDevice& device, const ModelConfig& c,
                                   int64_t tokens, Precision precision, double achieved_flops) {
  TrainDevice& d = *state.device;
  size_t free_bytes = 0, total_bytes = 0;
  d.memory_info(free_bytes, total_bytes);
  const double peak_tracked_mb = static_cast<double>(d.peak_bytes_in_use()) / (1024.0 * 1024.0);
  const double gemm_flops = measured_device_gemm_flops(d, c, tokens, precision);
  const double peak_tflops = bf16_dense_peak_tflops(device.name);
  nlohmann::json out = {{"device", fmt::format("cuda:{}", device.index)},
                        {"device_name", device.name},
                        {"peak_device_mb", peak_tracked_mb},
                        {"device_used_mb", static_cast<double>(total_bytes - free_bytes) / (1024.0 * 1024.0)},
                        {"device_total_mb", static_cast<double>(total_bytes) / (1024.0 * 1024.0)},
                        {"matmul_tflops_per_s", gemm_flops / 1e12},
                        {"mfu", achieved_flops / gemm_flops},
                        {"matmul_kernel", "cuBLASLt"}};
  if (peak_tflops > 0) {
    out["bf16_peak_tflops"] = peak_tflops;
    out["mfu_vs_bf16_peak"] = achieved_flops / (peak_tflops * 1e12);
  } else {
    out["bf16_peak_tflops"] = nullptr;
    out["mfu_vs_bf16_peak"] = nullptr;
    log_warn("bench: no bf16 peak known for '{}' (kernels/device.cpp's table): MFU only against cuBLASLt", device.name);
  }
  return out;
}

void run_train_bench(const TrainBenchArgs& args) {
  Precision precision = parse_precision(args.precision);
  const ResolvedDevice device = choose_device(args.device, "", precision, true);
  if (device.kind == DeviceKind::CUDA && args.precision == "auto")  // auto = the card's tensor-core type
    precision = device.bf16_tensor_cores ? Precision::BF16 : Precision::FP32;
  if (!args.json) log_info("precision {}", describe_precision(args.precision, precision));
  const ModelConfig preset = preset_config(args.arch);
  // Checked before any allocation: `--batch 1000000 --seq 100000000` used to fill memory for minutes.
  if (preset.max_position_embeddings > 0 && args.seq > preset.max_position_embeddings)
    fail("bench train: --seq {} is longer than {}'s context of {} tokens", args.seq, args.arch, preset.max_position_embeddings);
  if (static_cast<double>(args.batch) * static_cast<double>(args.seq) > kMaxBenchTokens)
    fail("bench train: --batch {} x --seq {} is more than {} tokens per step", args.batch, args.seq, kMaxBenchTokens);
  Model model = init_model(preset, 0);
  const ModelConfig& c = model.config;
  TrainState state(model, precision);
  if (device.kind == DeviceKind::CUDA)
    use_cuda_device(state, device.index, MicroBatchShape{args.batch, args.seq}, args.profile);
  Rng rng(1);
  std::vector<Batch> batches(1);
  Batch& batch = batches[0];
  batch.rows = args.batch;
  batch.seq = args.seq;
  for (int64_t i = 0; i < batch.size(); ++i) batch.tokens.push_back(static_cast<int32_t>(rng.below(c.vocab_size)));
  for (int64_t i = 0; i < batch.size(); ++i)
    batch.targets.push_back((i + 1) % args.seq == 0 ? -100 : batch.tokens[i + 1]);
  StepOptions options;
  options.learning_rate = 1e-5;
  std::vector<double> times;
  for (int64_t s = 0; s < args.steps + 1; ++s) {  // step 0 warms up (allocations, primitive creation)
    if (s == 1 && args.profile) op_profile_start();
    double t0 = now_seconds();
    StepResult r = train_step(state, batches, options);
    double dt = now_seconds() - t0;
    if (s > 0) times.push_back(dt);
    if (!args.json) log_info("step {}: {:.2f} s, loss {:.4f}", s, dt, r.loss);
  }
  const std::vector<OpTime> profile = args.profile ? op_profile_stop() : std::vector<OpTime>{};
  double timed_s = 0.0;
  for (double t : times) timed_s += t;
  std::sort(times.begin(), times.end());
  const double step_s = times[times.size() / 2];
  const double tokens = static_cast<double>(batch.size());
  const double achieved = train_flops(c, args.batch, args.seq) / step_s;
  const double matmul_peak = state.gpu ? 0.0 : measured_matmul_flops(c, batch.size(), precision);
  nlohmann::json out = {{"impl", "tinythink"},
                        {"arch", args.arch},
                        {"batch", args.batch},
                        {"seq", args.seq},
                        {"steps", args.steps},
                        {"precision", precision_name(precision)},
                        {"precision_requested", args.precision},
                        {"isa", isa_name(active_isa())},
                        {"step_s", step_s},
                        {"tokens_per_s", tokens / step_s},
                        {"peak_rss_mb", peak_rss_mb()},
                        {"model_tflops_per_s", achieved / 1e12},
                        {"matmul_tflops_per_s", matmul_peak / 1e12},
                        {"mfu", achieved / matmul_peak},
                        {"matmul_kernel", matmul_kernel_name(std::min<int64_t>(batch.size(), 4096), c.intermediate_size,
                                                             c.hidden_size, precision)},
                        {"threads", thread_count()},
                        {"cpu", cpu_model_name()},
                        {"cpu_simd", cpu_simd_summary()}};
  if (state.gpu) out.update(device_bench_fields(state, device, c, batch.size(), precision, achieved));
  if (args.profile) out["profile"] = profile_json(profile, timed_s, args.steps);
  std::printf("%s\n", out.dump(args.json ? -1 : 2).c_str());
}

// A step's random rows (seeded by `seed`): every position predicts the next token.
Batch random_batch(const ModelConfig& c, int64_t rows, int64_t seq, uint64_t seed) {
  Rng rng(seed);
  Batch batch;
  batch.rows = rows;
  batch.seq = seq;
  for (int64_t i = 0; i < batch.size(); ++i) batch.tokens.push_back(static_cast<int32_t>(rng.below(c.vocab_size)));
  for (int64_t i = 0; i < batch.size(); ++i) batch.targets.push_back((i + 1) % seq == 0 ? -100 : batch.tokens[i + 1]);
  return batch;
}

struct StepTimes {
  double step_s = 0, communication_s = 0;
};

// One data-parallel step as the trainer makes it: forward and backward of this rank's batch (loss
// over every rank's target tokens), the gradient all-reduce (ZeRO-1: reduce-scatter, and the
// parameter all-gather after the update), clip and AdamW.
StepTimes data_parallel_step(TrainState& state, const Batch& batch, const StepOptions& options) {
  Communicator& world = Communicator::world();
  const double t0 = now_seconds();
  int64_t tokens = count_targets(batch);
  world.all_reduce_sum(&tokens, 1);
  zero_gradients(state);
  accumulate_token_loss(state, batch, 1.0f / static_cast<float>(tokens), options.loss, 0.0f, 0);
  StepTimes times;
  if (world.distributed()) {
    const double t1 = now_seconds();
    reduce_gradients(state);
    times.communication_s = now_seconds() - t1;
  }
  apply_gradients(state, options.adamw, options.learning_rate, options.max_grad_norm);
  if (optimizer_sharded(state)) times.communication_s += state.shards.gather_seconds;
  times.step_s = now_seconds() - t0;
  return times;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Every rank's value, in rank order, on every rank.
std::vector<double> gather_values(Communicator& world, double value) {
  std::vector<double> all;
  for (const std::string& bytes : world.all_gather(nlohmann::json(value).dump()))
    all.push_back(nlohmann::json::parse(bytes).get<double>());
  return all;
}

// Weak scaling: each rank trains `batch` rows per step. Rank 0 first times steps alone (the others
// sleep in a barrier: the single-rank throughput on this machine), then every rank times
// data-parallel steps. Rank 0 prints tokens/s per rank and in total, the scaling efficiency (total /
// (ranks x single rank)) and the share of a step spent summing gradients over the ranks.
void run_world_bench(const TrainBenchArgs& args) {
  Communicator& world = Communicator::world();
  Precision precision = parse_precision(args.precision);
  choose_device(args.device, "", precision);
  Model model = init_model(preset_config(args.arch), 0);
  TrainState state(model, precision);
  if (args.zero_stage == 1) shard_optimizer(state);
  const Batch batch = random_batch(model.config, args.batch, args.seq, 1 + static_cast<uint64_t>(world.rank()));
  StepOptions options;
  options.learning_rate = 1e-5;
  if (!args.json)
    log_info("bench train --world: {} rank(s) x {} thread(s), {} x {} tokens per rank and step, {}{}", world.size(),
             thread_count(), args.batch, args.seq, precision_name(precision), optimizer_sharded(state) ? ", ZeRO-1" : "");
  data_parallel_step(state, batch, options);  // warm-up on every rank

  std::vector<double> alone;
  if (world.is_root()) {
    // Rank 0 alone: the same step on its own copy of the model, with no collective.
    Model solo_model = model;
    TrainState solo(solo_model, precision);
    train_step(solo, {batch}, options);  // warm-up of its own buffers
    for (int64_t s = 0; s < args.steps; ++s) {
      const double t0 = now_seconds();
      train_step(solo, {batch}, options);
      alone.push_back(now_seconds() - t0);
    }
    if (!args.json) log_info("one rank alone: {:.3f} s per step", median(alone));
  }
  world.barrier_sleeping();

  std::vector<double> steps, communication;
  for (int64_t s = 0; s < args.steps; ++s) {
    const StepTimes t = data_parallel_step(state, batch, options);
    steps.push_back(t.step_s);
    communication.push_back(t.communication_s);
    if (!args.json) log_info("step {}: {:.3f} s, of which {:.3f} s summing over the ranks", s + 1, t.step_s, t.communication_s);
  }
  const double tokens = static_cast<double>(batch.size());
  const std::vector<double> step_s = gather_values(world, median(steps));
  const std::vector<double> communication_s = gather_values(world, median(communication));
  if (!world.is_root()) return;
  nlohmann::json per_rank = nlohmann::json::array();
  double total = 0, slowest = 0, communication_share = 0;
  for (int r = 0; r < world.size(); ++r) {
    per_rank.push_back(tokens / step_s[r]);
    total += tokens / step_s[r];
    slowest = std::max(slowest, step_s[r]);
    communication_share += communication_s[r] / step_s[r] / world.size();
  }
  const double single = tokens / median(alone);
  const nlohmann::json out = {{"impl", "tinythink"},
                              {"arch", args.arch},
                              {"batch_per_rank", args.batch},
                              {"seq", args.seq},
                              {"steps", args.steps},
                              {"precision", precision_name(precision)},
                              {"ranks", world.size()},
                              {"threads_per_rank", thread_count()},
                              {"zero_stage", optimizer_sharded(state) ? 1 : 0},
                              {"single_rank_tokens_per_s", single},
                              {"tokens_per_s_per_rank", per_rank},
                              {"tokens_per_s_total", total},
                              {"scaling_efficiency", total / (world.size() * single)},
                              {"step_s", slowest},
                              {"all_reduce_s", median(communication_s)},
                              {"all_reduce_share", communication_share},
                              {"gradient_mb", 4.0 * static_cast<double>(state.grads.size()) / 1e6},
                              {"cpu", cpu_model_name()},
                              {"load_average", load_average()}};
  std::printf("%s\n", out.dump(args.json ? -1 : 2).c_str());
}

struct RooflineArgs {
  std::string arch = "mobilellm-r1-140m";
  int64_t rows = 512, array_mb = 128, repeats = 5;
  bool json = false;
};

// The machine's ceilings for bench/compare_cpu.sh: triad and read bandwidth (what batch-1 decode,
// reading every weight once per token, is bound by), and oneDNN's rate on each distinct dense shape of
// the model (a layer's projections and the classifier; --rows rows of activations) in fp32 and bf16.
// "model_tflops_per_s" is the rate of the whole mix: every matmul of one token of a layer stack plus the
// classifier, in total FLOPs over total time — the ceiling a training step or a prefill could reach if
// nothing but its GEMMs took time.
void run_roofline_bench(const RooflineArgs& args) {
  const ModelConfig c = preset_config(args.arch);
  const int64_t d = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  struct Shape {
    const char* name;
    int64_t n, k, per_layer;  // per_layer: how many of it one layer runs (0: once per model)
  };
  const std::vector<Shape> shapes = {{"q_proj", q, d, 1},   {"k_proj/v_proj", kv, d, 2},
                                     {"o_proj", d, q, 1},   {"gate_proj/up_proj", c.intermediate_size, d, 2},
                                     {"down_proj", d, c.intermediate_size, 1}, {"lm_head", c.vocab_size, d, 0}};
  const MemoryBandwidth bw = measure_memory_bandwidth(args.array_mb * (1 << 20) / 4, static_cast<int>(args.repeats));
  nlohmann::json gemms = nlohmann::json::array(), mix = nlohmann::json::object(), best = nlohmann::json::object();
  for (Precision precision : {Precision::FP32, Precision::BF16}) {
    double flops = 0, seconds = 0, fastest = 0;
    for (const Shape& s : shapes) {
      const double rate = measure_matmul_flops(args.rows, s.n, s.k, precision, static_cast<int>(args.repeats));
      const double shape_flops = 2.0 * args.rows * s.n * s.k * (s.per_layer ? s.per_layer * c.num_hidden_layers : 1);
      flops += shape_flops;
      seconds += shape_flops / rate;
      fastest = std::max(fastest, rate);
      gemms.push_back({{"shape", s.name},
                       {"m", args.rows},
                       {"n", s.n},
                       {"k", s.k},
                       {"precision", precision_name(precision)},
                       {"kernel", matmul_kernel_name(args.rows, s.n, s.k, precision)},
                       {"tflops_per_s", rate / 1e12}});
      if (!args.json)
        log_info("{:>18} {} x {} x {} {}: {:.3f} TFLOP/s", s.name, args.rows, s.n, s.k, precision_name(precision), rate / 1e12);
    }
    mix[precision_name(precision)] = flops / seconds / 1e12;
    best[precision_name(precision)] = fastest / 1e12;
  }
  const nlohmann::json out = {{"arch", args.arch},
                              {"rows", args.rows},
                              {"triad_gb_per_s", bw.triad_gb_per_s},
                              {"read_gb_per_s", bw.read_gb_per_s},
                              {"array_mb", bw.array_bytes / (1 << 20)},
                              {"model_tflops_per_s", mix},
                              {"best_gemm_tflops_per_s", best},
                              {"native_bf16", native_bf16_available()},
                              {"gemms", gemms},
                              {"isa", isa_name(active_isa())},
                              {"threads", thread_count()},
                              {"cpu", cpu_model_name()},
                              {"cpu_simd", cpu_simd_summary()},
                              {"load_average", load_average()}};
  std::printf("%s\n", out.dump(args.json ? -1 : 2).c_str());
}

}  // namespace

void register_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "throughput and memory benchmarks");
  bench->require_subcommand(1);
  auto args = std::make_shared<TrainBenchArgs>();
  auto* train = bench->add_subcommand("train", "time full training steps (forward, backward, AdamW)");
  train->add_option("--arch", args->arch, "model preset");
  train->add_option("--batch", args->batch, "rows per step")->check(positive());
  train->add_option("--seq", args->seq, "tokens per row")->check(positive());
  train->add_option("--steps", args->steps, "timed steps (after one warm-up step)")->check(positive());
  train->add_option("--precision", args->precision, kPrecisionHelp);
  train->add_flag("--json", args->json, "print one JSON line");
  train->add_flag("--profile", args->profile,
                  "per-op time of the timed steps (self time; GEMMs = matmul and small gemm rows; with --device "
                  "cuda each device op is timed to its end, which slows the step): a table on stderr, rows under "
                  "\"profile\" in the JSON");
  train->add_flag("--world", args->world,
                  "under mpirun/srun: data-parallel steps over the ranks (each rank --batch rows); prints tokens/s "
                  "per rank and in total, the scaling efficiency against one rank alone and the all-reduce share "
                  "of a step");
  train->add_option("--zero-stage", args->zero_stage, "with --world: 1 shards the AdamW state and update (ZeRO-1)")
      ->check(CLI::Range(0, 1));
  add_device_option(train, args->device);
  auto roof = std::make_shared<RooflineArgs>();
  auto* roofline = bench->add_subcommand(
      "roofline", "this machine's ceilings: triad/read memory bandwidth and oneDNN's GEMM rate on the model's shapes");
  roofline->add_option("--arch", roof->arch, "model preset whose shapes are timed");
  roofline->add_option("--rows", roof->rows, "activation rows of each GEMM (tokens)")->check(positive());
  roofline->add_option("--array-mb", roof->array_mb, "MiB per bandwidth array (well beyond the last-level cache)")
      ->check(CLI::Range(1, 16384));
  roofline->add_option("--repeats", roof->repeats, "timed passes of each measure")->check(CLI::Range(1, 1000));
  roofline->add_flag("--json", roof->json, "print one JSON line");
  roofline->callback([roof] { run_roofline_bench(*roof); });
  train->callback([args] {
    if (args->world)
      run_world_bench(*args);
    else
      run_train_bench(*args);
  });
}

}  // namespace tt::cli
