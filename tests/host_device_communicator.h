// Host stand-ins of kernels/device_collectives.h's DeviceCommunicator for the device training path
// on the HostTrainDevice (tests/host_train_device.h keeps "device" buffers in host memory).
//  - HostDeviceCommunicator: core/communicator's MPI world on host memory (what NCCL does on GPUs);
//  - PeerSumCommunicator: a world of two in one process, rank 0's all-reduce adding the gradient
//    buffer another TrainState computed on the other half of the batch (testable without mpirun).
#pragma once
#include <cstddef>
#include <stdexcept>

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
  void reduce_scatter_sum(const float*, float*, size_t) override {
    throw std::runtime_error("HostDeviceCommunicator: reduce_scatter_sum not used by the device path");
  }
  void all_gather(const float*, float*, size_t) override {
    throw std::runtime_error("HostDeviceCommunicator: all_gather not used by the device path");
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

}  // namespace tt::testing
