// What the CPU can run, probed once with cpuid (and xgetbv: the OS must save the wider registers),
// and which instruction-set path our own kernels take: the widest the CPU has, or the one TT_ISA
// names (avx2 | avx512 | avx512bf16 | amx). A path the CPU cannot run is refused with a one-line
// tt::Error, never a SIGILL. The binary is built for x86-64-v3 (AVX2 + FMA); wider paths live in
// their own translation units compiled for that ISA and are only called when the CPU has it.
#pragma once
#include <string>
#include <vector>

namespace tt {

// Ordered: every path assumes the ones before it.
enum class Isa { AVX2, AVX512, AVX512_BF16, AMX };

struct CpuFeatures {
  bool avx2 = false;         // AVX2 + FMA + F16C (the build's baseline)
  bool avx512 = false;       // AVX-512 F, BW, DQ, VL, with zmm state enabled by the OS
  bool avx512_bf16 = false;  // AVX512_BF16 (vdpbf16ps: native bf16 dot products)
  bool amx = false;          // AMX-TILE + AMX-BF16 with tile state enabled by the OS
};

CpuFeatures probe_cpu_features();  // cpuid + xgetbv, every call
const CpuFeatures& cpu_features(); // probed once

bool cpu_can_run(Isa isa, const CpuFeatures& features);
Isa best_isa(const CpuFeatures& features);
bool has_native_bf16_dot(const CpuFeatures& features);  // AVX512_BF16 or AMX-BF16

Isa parse_isa(const std::string& name);  // avx2 | avx512 | avx512bf16 | amx, else tt::Error
const char* isa_name(Isa isa);
std::string cpu_feature_names(const CpuFeatures& features);  // e.g. "avx2 avx512"

// The path a TT_ISA value asks for on a CPU with `features`: the best it has when forced is null or
// empty; tt::Error when forced is unknown or the CPU cannot run it.
Isa choose_isa(const char* forced, const CpuFeatures& features);

// The ISAs this CPU can run, narrowest first (tests run every one).
std::vector<Isa> runnable_isas(const CpuFeatures& features);

// The path the kernels take: TT_ISA when set (tt::Error when unknown or not runnable here), else
// the best the CPU has. Read once; select_isa changes it.
Isa active_isa();
// Make `isa` the active path (tt::Error when the CPU cannot run it). For tests that compare paths
// and for benchmarks; not thread-safe against kernels running at the same time.
void select_isa(Isa isa);

}  // namespace tt
