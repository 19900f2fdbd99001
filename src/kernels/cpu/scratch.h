// Reused scratch buffers: a kernel's (usually thread_local) vector grown to at least `count`
// elements and never shrunk, so steady-state calls allocate nothing.
#pragma once
#include <cstdint>
#include <vector>

namespace tt {

template <typename T>
T* grown(std::vector<T>& buffer, int64_t count) {
  if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(count);
  return buffer.data();
}

}  // namespace tt
