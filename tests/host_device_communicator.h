// Host stand-ins of kernels/device_collectives.h's DeviceCommunicator for the device training path
// on the HostTrainDevice (tests/host_train_device.h keeps "device" buffers in host memory).
//  - HostDeviceCommunicator: core/communicator's MPI world on host memory (what NCCL does on GPUs);
//  - PeerSumCommunicator: a world of two in one process, rank 0's all-reduce adding the gradient
//    buffer another TrainState computed on the other half of the batch (testable without mpirun);
//  - ThreadRanks: N ranks as N threads of one process, every collective a meeting of all of them
//    (ZeRO-1's reduce-scatter, norm all-reduce and all-gather need every rank at once). Sums are
//    taken in rank order, as MPI and NCCL add two ranks' values (a + b: commutative, so the same bits).
#pragma once
#include <algorithm>
#include <barrier>
#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "core/communicator.h"
#include "kernels/device_collectives.h"

namespace tt::testing {

class HostDeviceCommunicator final : public DeviceCommunicator {
 public:
  explicit HostDeviceCommunicator(Communicator& world) : world_(world) {}
  int size() const override { return world_.size(); }
  int rank() const override { return world_.rank(); }
  int device() const override { return 0; }
  void all_reduce_sum(float* data, size_t n) override { world_.all_reduce_sum(data, n); }
  // in place when out == in + rank() x chunk (as NCCL allows; MPI wants distinct buffers)
  void reduce_scatter_sum(const float* in, float* out, size_t chunk) override {
    std::vector<float> mine(chunk);
    world_.reduce_scatter_sum(in, mine.data(), chunk);
    std::copy(mine.begin(), mine.end(), out);
  }
  // in place when in == out + rank() x chunk
  void all_gather(const float* in, float* out, size_t chunk) override {
    if (in == out + chunk * rank()) return world_.all_gather_in_place(out, std::vector<int64_t>(size(), chunk));
    world_.all_gather(in, out, chunk);
  }
  void synchronize() override {}

 private:
  Communicator& world_;
};

class PeerSumCommunicator final : public DeviceCommunicator {
 public:
  explicit PeerSumCommunicator(const float* peer) : peer_(peer) {}
  int size() const override { return 2; }
  int rank() const override { return 0; }
  int device() const override { return 0; }
  void all_reduce_sum(float* data, size_t n) override {
    ++calls;
    for (size_t i = 0; i < n; ++i) data[i] += peer_[i];
  }
  void reduce_scatter_sum(const float*, float*, size_t) override {
    throw std::runtime_error("PeerSumCommunicator: reduce_scatter_sum not used by the device path");
  }
  void all_gather(const float*, float*, size_t) override {
    throw std::runtime_error("PeerSumCommunicator: all_gather not used by the device path");
  }
  void synchronize() override {}
  int calls = 0;

 private:
  const float* peer_;
};

// The meeting point of ThreadRanks' communicators: every rank posts its buffer, all wait, each
// reads what it needs, all wait again before anyone writes where another reads.
struct ThreadRanksMeeting {
  explicit ThreadRanksMeeting(int ranks) : posted(ranks), arrive(ranks) {}
  std::vector<const float*> posted;
  std::barrier<> arrive;
};

class ThreadRankCommunicator final : public DeviceCommunicator {
 public:
  // skip_sums: every "sum" is this rank's own value (a broken reduction, for the tests that must fail)
  ThreadRankCommunicator(std::shared_ptr<ThreadRanksMeeting> meeting, int rank, bool skip_sums = false)
      : meeting_(std::move(meeting)), rank_(rank), skip_sums_(skip_sums) {}
  int size() const override { return static_cast<int>(meeting_->posted.size()); }
  int rank() const override { return rank_; }
  int device() const override { return 0; }
  void all_reduce_sum(float* data, size_t n) override {
    std::vector<float> sum = summed(data, 0, n);
    std::copy(sum.begin(), sum.end(), data);
  }
  void reduce_scatter_sum(const float* in, float* out, size_t chunk) override {
    std::vector<float> sum = summed(in, chunk * rank_, chunk);
    std::copy(sum.begin(), sum.end(), out);
  }
  void all_gather(const float* in, float* out, size_t chunk) override {
    post(in);
    std::vector<float> all(chunk * size());
    for (int r = 0; r < size(); ++r) std::memcpy(all.data() + chunk * r, meeting_->posted[r], sizeof(float) * chunk);
    meeting_->arrive.arrive_and_wait();  // everyone has read every rank's chunk
    std::copy(all.begin(), all.end(), out);
  }
  void synchronize() override {}
  int calls = 0;

 private:
  void post(const float* data) {
    ++calls;
    meeting_->posted[rank_] = data;
    meeting_->arrive.arrive_and_wait();
  }
  // The elements [offset, offset + n) of every rank's buffer, added in rank order; the ranks have all
  // read when it returns.
  std::vector<float> summed(const float* data, size_t offset, size_t n) {
    post(data);
    std::vector<float> sum(meeting_->posted[0] + offset, meeting_->posted[0] + offset + n);
    for (int r = 1; r < size(); ++r)
      for (size_t i = 0; i < n; ++i) sum[i] += meeting_->posted[r][offset + i];
    if (skip_sums_) sum.assign(data + offset, data + offset + n);
    meeting_->arrive.arrive_and_wait();
    return sum;
  }

  std::shared_ptr<ThreadRanksMeeting> meeting_;
  int rank_;
  bool skip_sums_;
};

}  // namespace tt::testing
