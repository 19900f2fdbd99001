// Resource limits for rendering untrusted chat templates (they ship with downloaded models).
// Each limit fails with a tt::Error naming the template position and the limit, never a crash,
// hang or silently different value. jinja2's ImmutableSandboxedEnvironment (what transformers
// uses) limits range() to MAX_RANGE = 100000 items; Python limits recursion to about 1000 frames.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/error.h"

namespace tt::jinja {

// Parser: parentheses, brackets, unary operators, operator chains and {% %} blocks nested deeper
// than this are refused (Python's own parser refuses 200 nested parentheses).
inline constexpr int kMaxNesting = 100;
// Renderer: expression + statement evaluation depth, and macro calls nested inside each other
// (a macro calling itself, or two macros calling each other).
inline constexpr int kMaxEvalDepth = 1000;
inline constexpr int kMaxMacroDepth = 64;
// range(): jinja2's sandbox MAX_RANGE.
inline constexpr int64_t kMaxRange = 100000;
// All loop iterations of one render together.
inline constexpr int64_t kMaxLoopIterations = 1'000'000;
// Any one string or list built while rendering, and the rendered output.
inline constexpr size_t kMaxStringBytes = size_t{64} << 20;
inline constexpr size_t kMaxListItems = size_t{1} << 24;
// Printing, JSON and comparison of nested values: how deep (a list can contain itself; Python's
// repr raises RecursionError near 1000 levels) and how many items one walk may visit (sixty loop
// iterations of `x = [x, x]` share one sublist into 2^60 items).
inline constexpr int kMaxValueDepth = 1000;
inline constexpr int64_t kMaxWalkItems = int64_t{1} << 24;

// Fails when `size` (of `what`) is over `limit`.
inline void check_size(size_t size, size_t limit, const char* what) {
  if (size > limit) fail("{} of {} exceeds tinythink's limit of {} for untrusted templates", what, size, limit);
}
inline void check_string_size(size_t bytes, const char* what) { check_size(bytes, kMaxStringBytes, what); }

// Counts one level of recursion in `depth` while it lives; past `limit` it calls `too_deep` (which
// throws) instead.
class DepthGuard {
 public:
  template <typename TooDeep>
  DepthGuard(int& depth, int limit, TooDeep&& too_deep) : depth_(depth) {
    if (depth_ >= limit) too_deep();
    ++depth_;
  }
  ~DepthGuard() { --depth_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;

 private:
  int& depth_;
};

}  // namespace tt::jinja
