// A per-task progress bar on stderr: redrawn in place on a terminal (at most 5 times a second), a
// line every 10 seconds otherwise; silent with --quiet.
#pragma once
#include <cstdint>
#include <string>

namespace tt::eval {

class Progress {
 public:
  Progress(bool enabled, std::string label, int64_t total);
  void show(int64_t done, bool force = false);

 private:
  bool enabled_, tty_;
  std::string label_;
  int64_t total_;
  double start_, last_ = -1e9;
};

}  // namespace tt::eval
