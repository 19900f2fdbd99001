// Data-parallel training through the device path (issue 19) on the host stand-in of a GPU
// (tests/host_train_device.h): reduce_gradients sums the device gradient buffer over the ranks with
// the state's DeviceCommunicator before the device optimizer step, the token weights normalised by
// the global token count (what the trainer's step_normaliser all-reduces).
//  - in one process: rank 0's communicator adds the gradients a second state computed on the other
//    half of the batch (tests/host_device_communicator.h's PeerSumCommunicator);
//  - MpiDeviceDataParallel (ctest -L mpi): this binary under `mpirun -np 2`, each rank on its half
//    with the MPI world as its device communicator (HostDeviceCommunicator), against one rank on the
//    whole batch in this process. Without the all-reduce both comparisons fail (tested).
// Two ranks sum (g0) + (g1) where one rank accumulates g0 then g1 into one buffer: the same fp32
// additions, so losses, norms and weights agree to rounding (1e-6 relative).
// DeviceZero1 / MpiDeviceZero1: ZeRO-1 on devices (reduce-scatter, slice update, all-gather) against
// ZeRO-1 off, its checkpoints and their resumption. MpiDeviceDpoReference: DPO's reference pass
// sharded over device ranks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "tests/device_train_fixtures.h"
#include "tests/dpo_device_fixture.h"
#include "tests/gradcheck.h"
#include "tests/host_device_communicator.h"
#include "tests/host_train_device.h"
#include "tests/test_util.h"
#include "train/train_step.h"
#include "train/trainer_state.h"

namespace tt {
namespace {

constexpr int kSteps = 2;

Model dp_model() { return testing::tiny_train_model("tiny-llama", false); }

// Rank `rank`'s half of step `step`'s batch (rank 0: the first micro-batch, rank 1: the second).
Batch half_batch(int step, int rank) { return testing::packed_assistant_batch(100 + 100 * rank + step); }

int64_t global_tokens(int step) { return count_targets(half_batch(step, 0)) + count_targets(half_batch(step, 1)); }

struct StepsRun {
  std::vector<double> losses, norms;  // per step; loss: this state's sum of weighted token losses
  std::vector<float> params;
};

// zero -> forward/backward on `batches` with weight 1 / (global tokens) -> reduce -> AdamW, per step;
// `step_optimizer` false: the gradients only (a peer whose sum another state's communicator takes).
void device_step(TrainState& state, const std::vector<Batch>& batches, int64_t tokens, bool step_optimizer,
                 StepsRun& run) {
  const AdamWConfig adamw{.learning_rate = 1e-2, .weight_decay = 0.01};
  zero_gradients(state);
  double loss = 0;
  for (const Batch& b : batches)
    loss += accumulate_token_loss(state, b, 1.0f / static_cast<float>(tokens), TokenLoss::NLL, 0, 0).loss_sum;
  run.losses.push_back(loss);
  if (!step_optimizer) return;
  reduce_gradients(state);
  run.norms.push_back(apply_gradients(state, adamw, adamw.learning_rate, 1.0));
}

// One rank on both halves of every step's batch.
StepsRun one_rank_run() {
  Model model = dp_model();
  TrainState state(model, Precision::FP32);
  use_train_device(state, std::make_unique<testing::HostTrainDevice>());
  StepsRun run;
  for (int step = 0; step < kSteps; ++step)
    device_step(state, {half_batch(step, 0), half_batch(step, 1)}, global_tokens(step), true, run);
  state.gpu->download_parameters(model.params);
  run.params = model.params;
  return run;
}

using testing::worst_relative_difference;  // relative to the largest weight (as tests/mpi_test.cpp)

void expect_same_run(const StepsRun& two, const StepsRun& one, double weight_tolerance) {
  ASSERT_EQ(two.losses.size(), one.losses.size());
  ASSERT_EQ(two.norms.size(), one.norms.size());
  for (size_t s = 0; s < one.losses.size(); ++s) {
    EXPECT_NEAR(two.losses[s], one.losses[s], 1e-6 * std::fabs(one.losses[s])) << "loss, step " << s;
    EXPECT_NEAR(two.norms[s], one.norms[s], 1e-6 * one.norms[s]) << "gradient norm, step " << s;
  }
  EXPECT_LE(worst_relative_difference(two.params, one.params), weight_tolerance) << "weights";
}

// Two ranks in one process: rank 1 computes its gradients, rank 0's communicator adds them; rank 1
// then takes rank 0's weights (what its own reduced step computes in a real run).
StepsRun two_ranks_in_one_process(bool all_reduce) {
  Model model0 = dp_model(), model1 = dp_model();
  TrainState rank0(model0, Precision::FP32), rank1(model1, Precision::FP32);
  use_train_device(rank0, std::make_unique<testing::HostTrainDevice>());
  use_train_device(rank1, std::make_unique<testing::HostTrainDevice>());
  auto peer = std::make_unique<testing::PeerSumCommunicator>(rank1.device->grads());
  const testing::PeerSumCommunicator& calls = *peer;
  if (all_reduce) rank0.device_world = std::move(peer);
  StepsRun run, peer_run;
  for (int step = 0; step < kSteps; ++step) {
    device_step(rank1, {half_batch(step, 1)}, global_tokens(step), false, peer_run);
    device_step(rank0, {half_batch(step, 0)}, global_tokens(step), true, run);
    run.losses.back() += peer_run.losses.back();
    rank0.gpu->download_parameters(model1.params);
    rank1.device->upload_parameters(model1.params.data());
  }
  if (all_reduce) EXPECT_EQ(calls.calls, kSteps) << "one gradient all-reduce per step";
  rank0.gpu->download_parameters(model0.params);
  run.params = model0.params;
  return run;
}

TEST(DeviceDataParallel, TwoRanksOnHalfTheBatchTrainTheWeightsOfOneRankOnAll) {
  expect_same_run(two_ranks_in_one_process(true), one_rank_run(), 1e-6);
}

// Without the all-reduce rank 0 steps on half the gradient: the comparison above can fail.
TEST(DeviceDataParallel, WithoutTheAllReduceTheWeightsDiffer) {
  EXPECT_GT(worst_relative_difference(two_ranks_in_one_process(false).params, one_rank_run().params), 1e-4);
}

// ---- ZeRO-1 on devices: two ranks as two threads of this process (ThreadRanks) ----

struct ThreadRanksOptions {
  bool zero = false;               // shard_optimizer before use_train_device
  bool shard_after_device = false; // ... or after it (the device buffers created again, sliced)
  bool broken_sums = false;        // the communicators do not sum (each rank keeps its own values)
  const AdamWState* start = nullptr;  // every moment and the step count to start from (a checkpoint's)
  const std::vector<float>* start_params = nullptr;
};

struct ThreadRanksResult {
  StepsRun run;  // losses summed over the ranks, rank 0's norms and weights
  std::vector<StepsRun> ranks;
  std::vector<size_t> moments;  // the moments each rank's device holds (per moment)
};

// Two ranks, each on its half of every step's batch with its own HostTrainDevice, collectives through
// ThreadRankCommunicators (one meeting).
ThreadRanksResult two_rank_threads(const ThreadRanksOptions& options) {
  constexpr int kRanks = 2;
  auto meeting = std::make_shared<testing::ThreadRanksMeeting>(kRanks);
  ThreadRanksResult result;
  result.ranks.resize(kRanks);
  result.moments.resize(kRanks);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < kRanks; ++rank)
    threads.emplace_back([&, rank] {
      Model model = dp_model();
      if (options.start_params) model.params = *options.start_params;
      TrainState state(model, Precision::FP32);
      if (options.start) state.adam = *options.start;
      if (options.zero && !options.shard_after_device) shard_optimizer(state, rank, kRanks);
      auto device = std::make_unique<testing::HostTrainDevice>();
      const testing::HostTrainDevice& held = *device;
      use_train_device(state, std::move(device));
      if (options.zero && options.shard_after_device) shard_optimizer(state, rank, kRanks);
      state.device_world = std::make_unique<testing::ThreadRankCommunicator>(meeting, rank, options.broken_sums);
      StepsRun& run = result.ranks[rank];
      for (int step = 0; step < kSteps; ++step)
        device_step(state, {half_batch(step, rank)}, global_tokens(step), true, run);
      state.gpu->download_parameters(model.params);
      run.params = model.params;
      result.moments[rank] = held.moments_held();
    });
  for (std::thread& t : threads) t.join();
  result.run = result.ranks[0];
  for (int step = 0; step < kSteps; ++step) result.run.losses[step] += result.ranks[1].losses[step];
  return result;
}

// Two ranks hold the same weights and the same norms (the norm is all-reduced, the slices gathered).
void expect_ranks_agree(const ThreadRanksResult& r) {
  EXPECT_EQ(r.ranks[0].params, r.ranks[1].params) << "the ranks' weights after the all-gather";
  EXPECT_EQ(r.ranks[0].norms, r.ranks[1].norms);
}

// ZeRO-1 on vs off: the same losses and norms within 1e-6 relative and weights within 1e-5 of the
// largest, not bitwise: the update is elementwise and each slice's gradient sums are the all-reduce's
// (a + b), but the global norm is the sum of the two slices' sums of squares (float, as on a GPU)
// instead of one reduction over the buffer, so the clip coefficient can differ by one ulp (norms:
// 3e-9 to 1e-8 relative; weights after one step: 1 ulp), and the second step's AdamW turns the
// gradients' resulting rounding into update noise where |g| is near epsilon (lr / eps amplifies it:
// measured 6e-8 here, 1.7e-6 of the largest weight under mpirun).
constexpr double kZeroWeightTolerance = 1e-5;

TEST(DeviceZero1, TwoRanksTrainTheWeightsLossesAndNormsOfZeroStageZero) {
  const ThreadRanksResult off = two_rank_threads({});
  const ThreadRanksResult on = two_rank_threads({.zero = true});
  expect_ranks_agree(off);
  expect_ranks_agree(on);
  expect_same_run(on.run, off.run, kZeroWeightTolerance);
  expect_same_run(on.run, one_rank_run(), kZeroWeightTolerance);
}

TEST(DeviceZero1, EachDeviceHoldsTheMomentsOfItsSliceOnly) {
  const ThreadRanksResult on = two_rank_threads({.zero = true});
  const size_t total = dp_model().params.size();
  EXPECT_EQ(on.moments[0] + on.moments[1], total);
  EXPECT_LT(on.moments[0], total);
  EXPECT_GT(on.moments[1], 0u);
}

// shard_optimizer after use_train_device (bench's order) moves the device to sliced buffers: same run.
TEST(DeviceZero1, ShardingADeviceAlreadyInUseGivesTheSameRun) {
  const ThreadRanksResult after = two_rank_threads({.zero = true, .shard_after_device = true});
  expect_ranks_agree(after);
  expect_same_run(after.run, two_rank_threads({.zero = true}).run, 0);
}

// A checkpoint's moments (every parameter's) resumed under ZeRO-1: each rank keeps its slice and the
// run continues as the unsharded one does from the same moments (also the weights of `start`).
TEST(DeviceZero1, ResumedMomentsOfEveryParameterContinueAsWithoutZero) {
  Model model = dp_model();
  AdamWState start;
  start.step = 3;
  start.m = testing::random_vector(model.params.size(), 7, 1e-3f);
  start.v = testing::random_vector(model.params.size(), 8, 1e-3f);
  for (float& v : start.v) v = v * v;
  const ThreadRanksResult off = two_rank_threads({.start = &start});
  const ThreadRanksResult on = two_rank_threads({.zero = true, .start = &start});
  expect_same_run(on.run, off.run, kZeroWeightTolerance);
  EXPECT_GT(worst_relative_difference(on.run.params, two_rank_threads({.zero = true}).run.params), 1e-4)
      << "the moments of the start were used";
}

// The comparisons above can fail: without the reduce-scatter's sums (each rank's slice from its own
// half only) the weights drift away from ZeRO-1 off.
TEST(DeviceZero1, WithoutTheReduceScatterTheWeightsDiffer) {
  const ThreadRanksResult broken = two_rank_threads({.zero = true, .broken_sums = true});
  EXPECT_GT(worst_relative_difference(broken.run.params, two_rank_threads({}).run.params), 1e-4);
}

// One rank of the mpirun jobs below (skipped unless they start it): trains its half with the MPI
// world as device communicator and rank 0 writes its run to $TT_DEVICE_DP_OUT: the steps run, then
// their losses summed over the ranks, norms, weights. Options (environment):
//   TT_DEVICE_DP_NO_REDUCE   no device communicator (the ranks never sum their gradients)
//   TT_DEVICE_DP_ZERO        ZeRO-1 (shard_optimizer before use_train_device, as the trainer)
//   TT_DEVICE_DP_CHECKPOINT  save_train_checkpoint into this directory after the first step
//   TT_DEVICE_DP_RESUME      start from this checkpoint (every rank loads it, as the trainer)
TEST(DeviceDataParallelRank, TrainsItsHalfUnderMpirun) {
  const char* out = std::getenv("TT_DEVICE_DP_OUT");
  if (!out) GTEST_SKIP() << "a rank of MpiDeviceDataParallel (started by it under mpirun)";
  init_distributed();
  Communicator& world = Communicator::world();
  ASSERT_EQ(world.size(), 2);
  Model model = dp_model();
  AdamWState adam;
  int first_step = 0;
  if (const char* resume = std::getenv("TT_DEVICE_DP_RESUME"))
    first_step = static_cast<int>(load_checkpoint(resume, model, adam).global_step);
  TrainState state(model, Precision::FP32);
  state.adam = std::move(adam);
  if (std::getenv("TT_DEVICE_DP_ZERO")) shard_optimizer(state);
  use_train_device(state, std::make_unique<testing::HostTrainDevice>());
  if (!std::getenv("TT_DEVICE_DP_NO_REDUCE"))
    state.device_world = std::make_unique<testing::HostDeviceCommunicator>(world);
  StepsRun run;
  for (int step = first_step; step < kSteps; ++step) {
    int64_t tokens = count_targets(half_batch(step, world.rank()));
    world.all_reduce_sum(&tokens, 1);  // the trainer's step_normaliser
    device_step(state, {half_batch(step, world.rank())}, tokens, true, run);
    world.all_reduce_sum(&run.losses.back(), 1);
    if (const char* dir = std::getenv("TT_DEVICE_DP_CHECKPOINT"); dir && step == 0)
      save_train_checkpoint(state, dir, {.global_step = 1, .seen_tokens = 0, .extra = {}}, "", 0);
  }
  state.gpu->download_parameters(model.params);
  if (world.is_root()) {
    std::ofstream file(out, std::ios::binary);
    const int64_t steps = static_cast<int64_t>(run.losses.size());
    file.write(reinterpret_cast<const char*>(&steps), sizeof(steps));
    for (const auto* values : {&run.losses, &run.norms})
      file.write(reinterpret_cast<const char*>(values->data()), sizeof(double) * steps);
    file.write(reinterpret_cast<const char*>(model.params.data()), sizeof(float) * model.params.size());
  }
  finish_distributed();
}

// This test binary's tests `filter` on `ranks` ranks (one OpenMP thread each) with `options`
// (mpirun -x NAME=VALUE ...), the log in out.log.
void mpirun_this_binary(int ranks, const std::string& options, const std::string& filter, const std::string& out) {
  const std::string command = fmt::format(
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np {} -x OMP_NUM_THREADS=1 "
      "{} {} --gtest_filter={} > {}.log 2>&1",
      ranks, options, std::filesystem::read_symlink("/proc/self/exe").string(), filter, out);
  EXPECT_EQ(std::system(command.c_str()), 0) << command << " (log: " << out << ".log)";
}

// This test binary's rank test on 2 ranks with `options` (mpirun -x NAME=VALUE ...); the run rank 0
// wrote (empty run when it failed).
StepsRun mpirun_two_ranks(const std::string& options = "") {
  const std::string out = testing::make_temp_dir("device_dp") + "/run.bin";
  mpirun_this_binary(2, "-x TT_DEVICE_DP_OUT=" + out + " " + options, "DeviceDataParallelRank.*", out);
  StepsRun run;
  std::ifstream file(out, std::ios::binary);
  int64_t steps = 0;
  if (!file.read(reinterpret_cast<char*>(&steps), sizeof(steps)) || steps < 0 || steps > kSteps) return run;
  run.losses.resize(steps);
  run.norms.resize(steps);
  for (auto* values : {&run.losses, &run.norms})
    file.read(reinterpret_cast<char*>(values->data()), sizeof(double) * steps);
  run.params.resize(dp_model().params.size());
  file.read(reinterpret_cast<char*>(run.params.data()), sizeof(float) * run.params.size());
  if (!file) run.params.clear();
  return run;
}

#define SKIP_WITHOUT_MPIRUN()                                                                  \
  if (!built_with_mpi() || std::system("command -v mpirun > /dev/null 2>&1") != 0)            \
  GTEST_SKIP() << "SKIPPED: needs a build with MPI and mpirun (Debian: libopenmpi-dev, openmpi-bin)"

TEST(MpiDeviceDataParallel, TwoRanksOnHostDevicesTrainAsOneRankOnTheWholeBatch) {
  SKIP_WITHOUT_MPIRUN();
  // weights: the ranks run one OpenMP thread, this process several (other kernel reduction orders),
  // and AdamW carries that rounding: measured 9.9e-6 of the largest weight; without the all-reduce >1e-4
  expect_same_run(mpirun_two_ranks(), one_rank_run(), 3e-5);
}

TEST(MpiDeviceDataParallel, WithoutTheAllReduceTheRanksDrift) {
  SKIP_WITHOUT_MPIRUN();
  const StepsRun two = mpirun_two_ranks("-x TT_DEVICE_DP_NO_REDUCE=1");
  ASSERT_FALSE(two.params.empty());
  EXPECT_GT(worst_relative_difference(two.params, one_rank_run().params), 1e-4);
}

// ---- ZeRO-1 on devices under mpirun: the MPI world as device communicator (reduce-scatter, norm
// all-reduce, in-place all-gather), rank 0 writing checkpoints with the moments gathered ----

// A checkpoint's weights and moments (every parameter's) and its step.
struct LoadedCheckpoint {
  std::vector<float> params;
  AdamWState adam;
  int64_t step = 0;
};

LoadedCheckpoint load(const std::string& dir) {
  Model model = dp_model();
  LoadedCheckpoint c;
  c.step = load_checkpoint(dir, model, c.adam).global_step;
  c.params = model.params;
  return c;
}

TEST(MpiDeviceZero1, TwoRanksTrainAndCheckpointAsWithoutZero) {
  SKIP_WITHOUT_MPIRUN();
  const std::string dir = testing::make_temp_dir("device_zero1");
  const StepsRun on = mpirun_two_ranks(fmt::format("-x TT_DEVICE_DP_ZERO=1 -x TT_DEVICE_DP_CHECKPOINT={}/on", dir));
  const StepsRun off = mpirun_two_ranks(fmt::format("-x TT_DEVICE_DP_CHECKPOINT={}/off", dir));
  ASSERT_EQ(on.losses.size(), static_cast<size_t>(kSteps));
  expect_same_run(on, off, kZeroWeightTolerance);  // measured: weights 1.7e-6 of the largest
  // the checkpoint after step 1: every parameter's weights and moments, written by rank 0 (measured:
  // weights 1 ulp apart, moments 2e-7 of the largest: the clip coefficient's ulp)
  const LoadedCheckpoint zero = load(dir + "/on/checkpoint-1"), plain = load(dir + "/off/checkpoint-1");
  EXPECT_EQ(zero.step, 1);
  EXPECT_EQ(zero.adam.step, plain.adam.step);
  ASSERT_EQ(zero.adam.m.size(), plain.adam.m.size()) << "the moments of every parameter, gathered";
  EXPECT_LT(worst_relative_difference(zero.params, plain.params), 1e-6);
  EXPECT_LT(worst_relative_difference(zero.adam.m, plain.adam.m), 1e-6);
  EXPECT_LT(worst_relative_difference(zero.adam.v, plain.adam.v), 1e-6);
}

// --resume from a ZeRO-1 checkpoint: two ranks again under ZeRO-1 train the bits of the uninterrupted
// run; one process without ZeRO (another world size) continues it within the thread-count tolerance.
TEST(MpiDeviceZero1, ItsCheckpointResumesOnTwoRanksAndOnOneProcess) {
  SKIP_WITHOUT_MPIRUN();
  const std::string dir = testing::make_temp_dir("device_zero1_resume");
  const StepsRun whole = mpirun_two_ranks(fmt::format("-x TT_DEVICE_DP_ZERO=1 -x TT_DEVICE_DP_CHECKPOINT={}", dir));
  ASSERT_FALSE(whole.params.empty());
  const std::string checkpoint = dir + "/checkpoint-1";
  const StepsRun resumed = mpirun_two_ranks("-x TT_DEVICE_DP_ZERO=1 -x TT_DEVICE_DP_RESUME=" + checkpoint);
  ASSERT_EQ(resumed.losses.size(), 1u);
  EXPECT_EQ(resumed.losses[0], whole.losses[1]);
  EXPECT_EQ(resumed.norms[0], whole.norms[1]);
  EXPECT_EQ(resumed.params, whole.params) << "resumed under ZeRO-1 on two ranks: the same bits";

  Model model = dp_model();
  AdamWState adam;
  ASSERT_EQ(load_checkpoint(checkpoint, model, adam).global_step, 1);
  TrainState state(model, Precision::FP32);
  state.adam = std::move(adam);
  use_train_device(state, std::make_unique<testing::HostTrainDevice>());
  StepsRun alone;
  device_step(state, {half_batch(1, 0), half_batch(1, 1)}, global_tokens(1), true, alone);
  state.gpu->download_parameters(model.params);
  alone.params = model.params;
  StepsRun last = whole;
  last.losses = {whole.losses[1]};
  last.norms = {whole.norms[1]};
  expect_same_run(last, alone, 3e-5);  // one process: several OpenMP threads (MpiDeviceDataParallel's tolerance)
}

// ---- DPO's reference pass on devices under mpirun: rank r scores the batches r, r + N, ... of pairs
// on its device (cuda:LOCAL_RANK in a run), the sums all-reduced on the host (train/dpo.cpp
// summed_logps_with), so every rank holds, and rank 0 caches, what one process computes ----

// One rank of MpiDeviceDpoReference (skipped unless it starts it): the sigmoid fixture's 12 pairs in
// batches of 3 on a host stand-in device; rank 0 writes every pair's chosen then rejected sums to
// $TT_DPO_REFERENCE_OUT.
TEST(DeviceDpoReferenceRank, ScoresItsShareUnderMpirun) {
  const char* out = std::getenv("TT_DPO_REFERENCE_OUT");
  if (!out) GTEST_SKIP() << "a rank of MpiDeviceDpoReference (started by it under mpirun)";
  init_distributed();
  const testing::DpoFixture f = testing::load_dpo_fixture("sigmoid");
  const Model model = load_model(f.model_dir);
  testing::HostTrainDevice device;
  const ReferenceLogps summed = summed_logps_on_device(model, device, Precision::FP32, f.pairs, 3, 0);
  if (Communicator::world().is_root()) {
    std::ofstream file(out, std::ios::binary);
    for (const auto* values : {&summed.chosen, &summed.rejected})
      file.write(reinterpret_cast<const char*>(values->data()), sizeof(double) * values->size());
  }
  finish_distributed();
}

std::vector<double> mpirun_reference_pass(int ranks) {
  const std::string out = testing::make_temp_dir("device_dpo_reference") + "/sums.bin";
  mpirun_this_binary(ranks, "-x TT_DPO_REFERENCE_OUT=" + out, "DeviceDpoReferenceRank.*", out);
  std::ifstream file(out, std::ios::binary);
  std::vector<double> sums(24);  // 12 pairs, chosen and rejected
  if (!file.read(reinterpret_cast<char*>(sums.data()), sizeof(double) * sums.size())) sums.clear();
  return sums;
}

// Bitwise: every batch of 3 pairs is scored whole, by the same kernels on one thread, on one rank
// (the others add zeros). Without the sharding the sums would double; without the all-reduce rank
// 0 would hold zeros for rank 1's batches.
TEST(MpiDeviceDpoReference, TwoRanksComputeTheReferenceLogpsOfOneProcess) {
  SKIP_WITHOUT_MPIRUN();
  const std::vector<double> one = mpirun_reference_pass(1), two = mpirun_reference_pass(2);
  ASSERT_EQ(one.size(), 24u);
  for (double logp : one) EXPECT_LT(logp, 0.0) << "a summed log-prob";
  EXPECT_EQ(two, one);
}

}  // namespace
}  // namespace tt
