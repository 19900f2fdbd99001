#include "core/op_profile.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <thread>

namespace tt {

namespace {

std::atomic<bool> g_recording{false};
std::thread::id g_owner;
std::map<std::string, OpTime> g_rows;
thread_local OpScope* t_innermost = nullptr;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

void op_profile_start() {
  g_rows.clear();
  g_owner = std::this_thread::get_id();
  g_recording.store(true, std::memory_order_release);
}

std::vector<OpTime> op_profile_stop() {
  g_recording.store(false, std::memory_order_release);
  std::vector<OpTime> rows;
  for (auto& [name, row] : g_rows) rows.push_back(row);
  std::sort(rows.begin(), rows.end(), [](const OpTime& a, const OpTime& b) { return a.self_s > b.self_s; });
  return rows;
}

OpScope::OpScope(const char* name) {
  if (!g_recording.load(std::memory_order_relaxed) || std::this_thread::get_id() != g_owner) return;
  name_ = name;
  parent_ = t_innermost;
  t_innermost = this;
  start_ = now();
}

OpScope::~OpScope() {
  if (name_ == nullptr) return;
  const double elapsed = now() - start_;
  t_innermost = parent_;
  if (parent_) parent_->children_ += elapsed;
  OpTime& row = g_rows[name_];
  row.name = name_;
  row.self_s += elapsed - children_;
  row.total_s += elapsed;
  ++row.calls;
}

}  // namespace tt
