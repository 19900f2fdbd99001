#include "kernels/cpu/matmul.h"

#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "core/error.h"
#include "core/bf16.h"
#include "core/op_profile.h"
#include "kernels/cpu/scratch.h"

namespace tt {

namespace {

using dnnl::memory;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  return engine;
}

// One stream per calling thread: ranks of a data-parallel run in one process (ThreadRanks) run
// matmuls at the same time, and a oneDNN stream is not for concurrent use.
dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream{cpu_engine()};
  return stream;
}

struct MatmulKey {
  int64_t m, n, k;
  bool trans_a, trans_b, accumulate, bf16;
  bool operator==(const MatmulKey&) const = default;
};

struct MatmulKeyHash {
  size_t operator()(const MatmulKey& key) const {
    size_t h = std::hash<int64_t>()(key.m);
    h = h * 1000003u ^ std::hash<int64_t>()(key.n);
    h = h * 1000003u ^ std::hash<int64_t>()(key.k);
    return h * 31 + (key.trans_a | key.trans_b << 1 | key.accumulate << 2 | key.bf16 << 3);
  }
};

struct MatmulPrimitive {
  dnnl::matmul primitive;
  memory::desc a, b, c, scratchpad;
  std::string kernel;
};

dnnl::matmul::primitive_desc make_primitive_desc(const MatmulKey& key) {
  auto type = key.bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  memory::desc a({key.m, key.k}, type, key.trans_a ? memory::dims{1, key.m} : memory::dims{key.k, 1});
  memory::desc b({key.k, key.n}, type, key.trans_b ? memory::dims{1, key.k} : memory::dims{key.n, 1});
  memory::desc c({key.m, key.n}, memory::data_type::f32, {key.n, 1});
  dnnl::primitive_attr attr;
  // The caller's scratchpad (run: one per thread). In the library's mode, Debian's oneDNN (built
  // without DNNL_ENABLE_CONCURRENT_EXEC) shares one scratchpad among primitives, and two threads in
  // matmuls at once corrupted each other's AVX-512 GEMMs (DeviceZero1's two thread-ranks on Zen 5).
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (key.accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), attr, cpu_engine());
}

const MatmulPrimitive& get_primitive(const MatmulKey& key) {
  static std::mutex mutex;
  static std::unordered_map<MatmulKey, MatmulPrimitive, MatmulKeyHash> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto pd = make_primitive_desc(key);
  MatmulPrimitive entry{dnnl::matmul(pd), pd.src_desc(), pd.weights_desc(), pd.dst_desc(), pd.scratchpad_desc(),
                        pd.impl_info_str()};
  return cache.emplace(key, std::move(entry)).first->second;
}


void run(const MatmulKey& key, const void* a, const void* b, float* c) {
  const MatmulPrimitive& p = get_primitive(key);
  dnnl::engine& engine = cpu_engine();
  thread_local std::vector<uint8_t> scratchpad_bytes;
  memory ma(p.a, engine, const_cast<void*>(a));
  memory mb(p.b, engine, const_cast<void*>(b));
  memory mc(p.c, engine, c);
  uint8_t* bytes = grown(scratchpad_bytes, static_cast<int64_t>(p.scratchpad.get_size()) + 64);
  bytes += (64 - reinterpret_cast<uintptr_t>(bytes) % 64) % 64;  // oneDNN's buffers are 64-byte aligned
  memory scratchpad(p.scratchpad, engine, bytes);
  dnnl::stream& stream = thread_stream();
  p.primitive.execute(stream, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc},
                               {DNNL_ARG_SCRATCHPAD, scratchpad}});
  stream.wait();
}

}  // namespace

bool native_bf16_available() {
  static const bool available = [] {
    try {
      auto pd = make_primitive_desc({64, 64, 64, false, true, false, true});
      return std::string(pd.impl_info_str()).find("ref") == std::string::npos;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return available;
}

std::string matmul_kernel_name(int64_t m, int64_t n, int64_t k, Precision precision) {
  bool bf16 = precision == Precision::BF16 && native_bf16_available();
  std::string name = get_primitive({m, n, k, false, true, false, bf16}).kernel;
  if (precision == Precision::BF16 && !bf16) name += " (bf16 emulated: inputs rounded, fp32 kernel)";
  return name;
}

void matmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, const MatmulOptions& options) {
  OpScope scope("matmul (oneDNN)");
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!options.accumulate) std::memset(c, 0, sizeof(float) * m * n);
    return;
  }
  MatmulKey key{m, n, k, options.trans_a, options.trans_b, options.accumulate, false};
  if (options.precision == Precision::FP32) return run(key, a, b, c);
  // Scratch is per thread: matmul is called from the top level, never from inside a parallel region.
  if (native_bf16_available()) {
    thread_local std::vector<uint16_t> a16, b16;
    key.bf16 = true;
    uint16_t* pa = grown(a16, m * k);
    uint16_t* pb = grown(b16, k * n);
    to_bf16(a, pa, m * k);
    to_bf16(b, pb, k * n);
    return run(key, pa, pb, c);
  }
  thread_local std::vector<float> a32, b32;
  const float* pa = a;
  const float* pb = b;
  if (!options.a_is_bf16) {
    round_to_bf16(a, grown(a32, m * k), m * k);
    pa = a32.data();
  }
  if (!options.b_is_bf16) {
    round_to_bf16(b, grown(b32, k * n), k * n);
    pb = b32.data();
  }
  run(key, pa, pb, c);
}

void matmul_bf16_bits(const uint16_t* a, const uint16_t* b, float* c, int64_t m, int64_t n, int64_t k,
                      const MatmulOptions& options) {
  OpScope scope("matmul (oneDNN)");
  if (!native_bf16_available()) fail("matmul_bf16_bits: oneDNN has no native bf16 matmul on this CPU");
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!options.accumulate) std::memset(c, 0, sizeof(float) * m * n);
    return;
  }
  run({m, n, k, options.trans_a, options.trans_b, options.accumulate, true}, a, b, c);
}

}  // namespace tt
