#include "eval/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/log.h"
#include "core/system.h"

namespace tt::eval {

Progress::Progress(bool enabled, std::string label, int64_t total)
    : enabled_(enabled && !log_quiet()), tty_(isatty(STDERR_FILENO)), label_(std::move(label)), total_(total),
        start_(now_seconds()) {
  show(0, true);
}

void Progress::show(int64_t done, bool force) {
  if (!enabled_) return;
  const double now = now_seconds();
  if (!force && done < total_ && now - last_ < (tty_ ? 0.2 : 10.0)) return;
  last_ = now;
  const double elapsed = now - start_;
  const int width = 28;
  const int filled = total_ ? static_cast<int>(width * done / total_) : width;
  const double eta = done ? elapsed / static_cast<double>(done) * static_cast<double>(total_ - done) : 0.0;
  const std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
  std::fprintf(stderr, "%s%-28s [%s] %lld/%lld  %.0fs  ETA %.0fs%s", tty_ ? "\r" : "", label_.c_str(), bar.c_str(),
               static_cast<long long>(done), static_cast<long long>(total_), elapsed, eta,
               tty_ && done < total_ ? "" : "\n");
  std::fflush(stderr);
}

}  // namespace tt::eval
