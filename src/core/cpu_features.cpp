#include "core/cpu_features.h"

#include <cpuid.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>

#include "core/error.h"

namespace tt {

namespace {

constexpr Isa kAllIsas[] = {Isa::AVX2, Isa::AVX512, Isa::AVX512_BF16, Isa::AMX};

bool bit(uint32_t reg, int index) { return (reg >> index) & 1u; }

// XCR0: which register states the OS saves on a context switch.
uint64_t read_xcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

std::atomic<int>& active_isa_slot() {
  static std::atomic<int> slot{-1};
  return slot;
}

}  // namespace

CpuFeatures probe_cpu_features() {
  CpuFeatures f;
  uint32_t eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = bit(ecx, 27), fma = bit(ecx, 12), f16c = bit(ecx, 29);
  if (!osxsave) return f;
  const uint64_t xcr0 = read_xcr0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;             // SSE + AVX
  const bool zmm_state = ymm_state && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  const bool tile_state = (xcr0 & 0x60000) == 0x60000;    // XTILECFG, XTILEDATA
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  f.avx2 = ymm_state && bit(ebx, 5) && fma && f16c;
  f.avx512 = f.avx2 && zmm_state && bit(ebx, 16) && bit(ebx, 17) && bit(ebx, 30) && bit(ebx, 31);
  f.amx = f.avx512 && tile_state && bit(edx, 24) && bit(edx, 22);
  const uint32_t max_subleaf = eax;
  if (max_subleaf >= 1) {
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    f.avx512_bf16 = f.avx512 && bit(eax, 5);
  }
  return f;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = probe_cpu_features();
  return features;
}

bool cpu_can_run(Isa isa, const CpuFeatures& f) {
  switch (isa) {
    case Isa::AVX2: return f.avx2;
    case Isa::AVX512: return f.avx512;
    case Isa::AVX512_BF16: return f.avx512_bf16;
    case Isa::AMX: return f.amx;
  }
  return false;
}

Isa best_isa(const CpuFeatures& f) {
  Isa best = Isa::AVX2;
  for (Isa isa : kAllIsas)
    if (cpu_can_run(isa, f)) best = isa;
  return best;
}

bool has_native_bf16_dot(const CpuFeatures& f) { return f.avx512_bf16 || f.amx; }

Isa parse_isa(const std::string& name) {
  for (Isa isa : kAllIsas)
    if (name == isa_name(isa)) return isa;
  fail("unknown instruction set '{}' (expected avx2, avx512, avx512bf16 or amx)", name);
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::AVX2: return "avx2";
    case Isa::AVX512: return "avx512";
    case Isa::AVX512_BF16: return "avx512bf16";
    case Isa::AMX: return "amx";
  }
  return "?";
}

std::string cpu_feature_names(const CpuFeatures& f) {
  std::string out;
  for (Isa isa : kAllIsas)
    if (cpu_can_run(isa, f)) out += (out.empty() ? "" : " ") + std::string(isa_name(isa));
  return out.empty() ? "none of avx2, avx512, avx512bf16, amx" : out;
}

Isa choose_isa(const char* forced, const CpuFeatures& features) {
  if (forced == nullptr || *forced == '\0') return best_isa(features);
  Isa isa = Isa::AVX2;
  try {
    isa = parse_isa(forced);
  } catch (const Error& e) {
    fail("TT_ISA={}: {}", forced, e.what());
  }
  if (!cpu_can_run(isa, features))
    fail("TT_ISA={}: this CPU cannot run it (it has: {})", forced, cpu_feature_names(features));
  return isa;
}

std::vector<Isa> runnable_isas(const CpuFeatures& features) {
  std::vector<Isa> out;
  for (Isa isa : kAllIsas)
    if (cpu_can_run(isa, features)) out.push_back(isa);
  return out;
}

Isa active_isa() {
  int isa = active_isa_slot().load(std::memory_order_relaxed);
  if (isa < 0) {
    isa = static_cast<int>(choose_isa(std::getenv("TT_ISA"), cpu_features()));
    active_isa_slot().store(isa, std::memory_order_relaxed);
  }
  return static_cast<Isa>(isa);
}

void select_isa(Isa isa) {
  if (!cpu_can_run(isa, cpu_features()))
    fail("instruction set {}: this CPU cannot run it (it has: {})", isa_name(isa), cpu_feature_names(cpu_features()));
  active_isa_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
}

}  // namespace tt
