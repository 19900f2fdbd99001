// Runs a CUDA kernel written against warp_mma.cuh on the CPU: every thread of a block is a context of
// its own (ucontext), run one at a time until it meets a barrier; warp collectives (mma.sync, ldmatrix,
// shuffles) are barriers of the warp's 32 lanes around an exchange of their registers, computed as the
// PTX ISA lays them out. Blocks run one after another. For tests only: it is slow (a context switch
// per lane per collective) and exact where the hardware is (fp32 sums of bf16 products, in k order).
//
// Races show up: the threads between two barriers run in an order drawn afresh at every pass (a seed
// per launch), and ldmatrix reads its rows when each lane arrives, not after the warp met, so a row
// written by another lane without a warp or block barrier in between is read stale in some orders. A
// barrier that not every thread reaches is reported as a deadlock (an exception), not a hang. cp.async
// copies land early or late (see cp_async_16).
#pragma once

#include <ucontext.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace tt::cuda::emulation {

inline uint16_t float_to_bf16_bits(float f) {  // round to nearest even, NaN stays a quiet NaN
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if (std::isnan(f)) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}
inline float bf16_bits_to_float(uint16_t h) { return std::bit_cast<float>(uint32_t(h) << 16); }

struct LaunchShape {
  int64_t grid_x = 1, grid_y = 1;
  int threads = 128;           // a multiple of 32
  size_t shared_bytes = 0;
  uint64_t schedule_seed = 1;  // the order of threads between barriers
};

class Block;
inline Block*& current_block_pointer() {
  static thread_local Block* block = nullptr;
  return block;
}
inline Block& current_block() { return *current_block_pointer(); }

class Block {
 public:
  int64_t block_x = 0, block_y = 0, grid_x = 1;

  unsigned char* shared_memory() { return shared_.data(); }
  int thread_index() const { return current_; }

  void block_barrier() { wait_at(block_barrier_, threads_); }
  void warp_barrier() { wait_at(warp_barriers_[current_ / 32], 32); }

  // Every lane of the warp gives `value` and gets the one of lane `source`.
  float exchange_float(float value, int source) {
    Slot& mine = slot();
    mine[0] = std::bit_cast<uint32_t>(value);
    warp_barrier();
    const float got = std::bit_cast<float>(warp_slot(source)[0]);
    warp_barrier();
    return got;
  }

  void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    Slot& mine = slot();
    std::copy(a, a + 4, mine.begin());
    std::copy(b, b + 2, mine.begin() + 4);
    warp_barrier();
    const int lane = current_ % 32, g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
      const int row = g + 8 * (i / 2), col = 2 * t + i % 2;
      float sum = d[i];
      for (int k = 0; k < 16; ++k) sum += a_element(row, k) * b_element(k, col);
      d[i] = sum;
    }
    warp_barrier();
  }

  void ldmatrix_x4(uint32_t (&r)[4], const uint16_t* row, bool transpose) {
    if (reinterpret_cast<uintptr_t>(row) % 16 != 0) throw std::runtime_error("ldmatrix: a row address is not 16-byte aligned");
    const auto* base = shared_.data();
    if (reinterpret_cast<const unsigned char*>(row) < base ||
        reinterpret_cast<const unsigned char*>(row) + 16 > base + shared_.size())
      throw std::runtime_error("ldmatrix: a row address is outside the block's shared memory");
    Slot& mine = slot();
    std::memcpy(mine.data(), row, 16);  // read as the lane arrives (see the header comment)
    warp_barrier();
    const int lane = current_ % 32, g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
      if (!transpose) {
        r[i] = warp_slot(8 * i + g)[t];
      } else {
        const uint32_t lo = half_of(warp_slot(8 * i + 2 * t), g), hi = half_of(warp_slot(8 * i + 2 * t + 1), g);
        r[i] = lo | (hi << 16);
      }
    }
    warp_barrier();
  }

  // cp.async: a copy lands at issue or only when a wait retires its group (drawn per copy), as the
  // hardware may land it anywhere in between: shared memory read before the wait (and the barrier
  // after it) is stale in some draws, and a buffer still being read when the next copy into it is
  // issued is overwritten in others.
  void cp_async_16(void* shared_dst, const void* global_src) {
    auto* dst = static_cast<unsigned char*>(shared_dst);
    if (reinterpret_cast<uintptr_t>(dst) % 16 != 0 || reinterpret_cast<uintptr_t>(global_src) % 16 != 0)
      throw std::runtime_error("cp.async: an address is not 16-byte aligned");
    if (dst < shared_.data() || dst + 16 > shared_.data() + shared_.size())
      throw std::runtime_error("cp.async: the destination is outside the block's shared memory");
    if (random_() & 1) std::memcpy(dst, global_src, 16);
    else thread_[current_].pending.push_back({dst, global_src});
  }
  void cp_async_commit() {
    Thread& me = thread_[current_];
    me.groups.push_back(std::move(me.pending));
    me.pending.clear();
  }
  void cp_async_wait(int in_flight) {
    Thread& me = thread_[current_];
    while (static_cast<int>(me.groups.size()) > in_flight) {
      for (const Copy& c : me.groups.front()) std::memcpy(c.dst, c.src, 16);
      me.groups.erase(me.groups.begin());
    }
  }

  // Runs `kernel` on every block of the grid. Throws on a deadlock.
  static void launch(const LaunchShape& shape, const std::function<void()>& kernel) {
    if (shape.threads % 32 != 0 || shape.threads <= 0) throw std::runtime_error("emulated launch: threads must be a multiple of 32");
    Block block(shape, kernel);
    for (int64_t y = 0; y < shape.grid_y; ++y)
      for (int64_t x = 0; x < shape.grid_x; ++x) block.run(x, y);
  }

 private:
  using Slot = std::array<uint32_t, 8>;
  struct Barrier {
    int arrived = 0;
    uint64_t generation = 0;
  };
  struct Copy {
    unsigned char* dst;
    const void* src;
  };
  struct Thread {
    ucontext_t context{};
    std::unique_ptr<char[]> stack;
    bool done = false;
    std::vector<Copy> pending;               // cp.async copies not yet committed
    std::vector<std::vector<Copy>> groups;  // committed, oldest first
  };
  static constexpr size_t kStackBytes = 256 * 1024;

  Block(const LaunchShape& shape, const std::function<void()>& kernel)
      : threads_(shape.threads),
        kernel_(kernel),
        random_(shape.schedule_seed),
        shared_(std::max<size_t>(shape.shared_bytes, 16)),
        slots_(shape.threads),
        warp_barriers_(shape.threads / 32),
        thread_(shape.threads) {
    grid_x = shape.grid_x;
    for (auto& t : thread_) t.stack = std::make_unique<char[]>(kStackBytes);
  }

  Slot& slot() { return slots_[current_]; }
  const Slot& warp_slot(int lane) const { return slots_[(current_ / 32) * 32 + lane]; }
  static uint32_t half_of(const Slot& s, int element) { return (s[element / 2] >> (16 * (element % 2))) & 0xffffu; }
  float a_element(int row, int k) const {  // A of the warp's mma (slot words 0..3)
    const int lane = (row % 8) * 4 + (k % 8) / 2, reg = row / 8 + 2 * (k / 8);
    return bf16_bits_to_float(static_cast<uint16_t>((warp_slot(lane)[reg] >> (16 * (k % 2))) & 0xffffu));
  }
  float b_element(int k, int col) const {  // B (slot words 4, 5)
    const int lane = col * 4 + (k % 8) / 2, reg = 4 + k / 8;
    return bf16_bits_to_float(static_cast<uint16_t>((warp_slot(lane)[reg] >> (16 * (k % 2))) & 0xffffu));
  }

  void wait_at(Barrier& barrier, int expected) {
    const uint64_t generation = barrier.generation;
    if (++barrier.arrived == expected) {
      barrier.arrived = 0;
      ++barrier.generation;
      ++progress_;
      return;
    }
    while (barrier.generation == generation) swapcontext(&thread_[current_].context, &scheduler_);
  }

  static void entry() {
    Block& block = current_block();
    block.kernel_();
    block.thread_[block.current_].done = true;
    ++block.progress_;
  }

  void run(int64_t x, int64_t y) {
    block_x = x;
    block_y = y;
    std::fill(shared_.begin(), shared_.end(), static_cast<unsigned char>(0xA5));  // no zeros for free
    block_barrier_ = {};
    std::fill(warp_barriers_.begin(), warp_barriers_.end(), Barrier{});
    for (auto& t : thread_) {
      t.done = false;
      t.pending.clear();
      t.groups.clear();
      getcontext(&t.context);
      t.context.uc_stack.ss_sp = t.stack.get();
      t.context.uc_stack.ss_size = kStackBytes;
      t.context.uc_link = &scheduler_;
      makecontext(&t.context, &Block::entry, 0);
    }
    Block* const outer = current_block_pointer();
    current_block_pointer() = this;
    std::vector<int> order(threads_);
    for (int i = 0; i < threads_; ++i) order[i] = i;
    int live = threads_;
    while (live > 0) {
      std::shuffle(order.begin(), order.end(), random_);
      const uint64_t before = progress_;
      for (int i : order) {
        if (thread_[i].done) continue;
        current_ = i;
        swapcontext(&scheduler_, &thread_[i].context);
      }
      live = static_cast<int>(std::count_if(thread_.begin(), thread_.end(), [](const Thread& t) { return !t.done; }));
      if (live > 0 && progress_ == before) {
        current_block_pointer() = outer;
        throw std::runtime_error("emulated kernel deadlocked in block (" + std::to_string(x) + ", " + std::to_string(y) +
                                 "): a barrier that not every thread reaches");
      }
    }
    current_block_pointer() = outer;
  }

  int threads_;
  std::function<void()> kernel_;
  std::mt19937_64 random_;
  std::vector<unsigned char> shared_;
  std::vector<Slot> slots_;
  Barrier block_barrier_;
  std::vector<Barrier> warp_barriers_;
  std::vector<Thread> thread_;
  ucontext_t scheduler_{};
  int current_ = 0;
  uint64_t progress_ = 0;
};

}  // namespace tt::cuda::emulation
