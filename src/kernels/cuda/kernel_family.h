// A process-wide choice between the two tensor-core kernel families of one operation (the wmma kernels
// and their mma.sync successors): set() if called, else an environment variable (`wmma` or `mma`;
// anything else is a one-line error naming it), else wmma, read on first use. Family: an enum class
// with members wmma and mma.
#pragma once

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace tt::cuda {

template <typename Family>
class KernelFamilyChoice {
 public:
  explicit KernelFamilyChoice(const char* variable) : variable_(variable) {}

  Family get() {
    int chosen = chosen_.load();
    if (chosen < 0) {
      chosen = static_cast<int>(from_environment());
      chosen_.store(chosen);
    }
    return static_cast<Family>(chosen);
  }
  void set(Family family) { chosen_.store(static_cast<int>(family)); }

 private:
  Family from_environment() const {
    const char* value = std::getenv(variable_);
    if (!value || !*value || std::string(value) == "wmma") return Family::wmma;
    if (std::string(value) == "mma") return Family::mma;
    throw std::runtime_error(std::string(variable_) + ": '" + value + "' is not one of wmma, mma");
  }

  const char* variable_;
  std::atomic<int> chosen_{-1};  // -1: not chosen yet
};

}  // namespace tt::cuda
