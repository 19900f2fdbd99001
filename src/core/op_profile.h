// Per-op wall time of a run's steps (tinythink bench train --profile). Kernels and step phases open
// an OpScope at their entry; while profiling is on, the thread that turned it on adds each scope's
// time to its op's row, as self time (what the op's own code took) and inclusive time (with the ops it
// called). Off (the default), an OpScope costs one relaxed atomic load.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tt {

struct OpTime {
  std::string name;
  double self_s = 0.0, total_s = 0.0;
  int64_t calls = 0;
};

void op_profile_start();               // clear and record on this thread
std::vector<OpTime> op_profile_stop();  // stop; rows by self time, largest first

class OpScope {
 public:
  explicit OpScope(const char* name);
  ~OpScope();
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  const char* name_ = nullptr;  // null when not recording
  double start_ = 0.0, children_ = 0.0;
  OpScope* parent_ = nullptr;
};

}  // namespace tt
