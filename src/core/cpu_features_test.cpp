#include "core/cpu_features.h"

#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "core/error.h"

namespace tt {
namespace {

std::set<std::string> proc_cpuinfo_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line.substr(line.find(':') + 1));
      std::set<std::string> flags;
      for (std::string w; words >> w;) flags.insert(w);
      return flags;
    }
  return {};
}

TEST(CpuFeatures, ProbeAgreesWithTheKernelsFlags) {
  const auto flags = proc_cpuinfo_flags();
  if (flags.empty()) GTEST_SKIP() << "no /proc/cpuinfo flags";
  const CpuFeatures f = probe_cpu_features();
  EXPECT_EQ(f.avx2, flags.count("avx2") && flags.count("fma") && flags.count("f16c"));
  EXPECT_EQ(f.avx512, flags.count("avx512f") && flags.count("avx512bw") && flags.count("avx512dq") &&
                          flags.count("avx512vl"));
  EXPECT_EQ(f.avx512_bf16, f.avx512 && flags.count("avx512_bf16"));
  EXPECT_EQ(f.amx, f.avx512 && flags.count("amx_tile") && flags.count("amx_bf16"));
}

TEST(CpuFeatures, BestPathIsTheWidestTheCpuHas) {
  EXPECT_EQ(best_isa({.avx2 = true}), Isa::AVX2);
  EXPECT_EQ(best_isa({.avx2 = true, .avx512 = true}), Isa::AVX512);
  EXPECT_EQ(best_isa({.avx2 = true, .avx512 = true, .avx512_bf16 = true}), Isa::AVX512_BF16);
  EXPECT_EQ(best_isa({.avx2 = true, .avx512 = true, .avx512_bf16 = true, .amx = true}), Isa::AMX);
  EXPECT_FALSE(has_native_bf16_dot({.avx2 = true, .avx512 = true}));
  EXPECT_TRUE(has_native_bf16_dot({.avx2 = true, .avx512 = true, .avx512_bf16 = true}));
}

TEST(CpuFeatures, ForcedPathIsTakenOrRefusedInOneLine) {
  const CpuFeatures ice_lake{.avx2 = true, .avx512 = true};
  EXPECT_EQ(choose_isa(nullptr, ice_lake), Isa::AVX512);
  EXPECT_EQ(choose_isa("", ice_lake), Isa::AVX512);
  EXPECT_EQ(choose_isa("avx2", ice_lake), Isa::AVX2);
  try {
    choose_isa("amx", ice_lake);
    FAIL() << "amx on a CPU without it";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "TT_ISA=amx: this CPU cannot run it (it has: avx2 avx512)");
  }
  try {  // the message names the variable (it used to say only "unknown instruction set")
    choose_isa("avx1024", ice_lake);
    FAIL() << "an unknown name";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("TT_ISA=avx1024: unknown instruction set 'avx1024'", 0), 0u) << e.what();
  }
  for (Isa isa : {Isa::AVX2, Isa::AVX512, Isa::AVX512_BF16, Isa::AMX}) EXPECT_EQ(parse_isa(isa_name(isa)), isa);
}

TEST(CpuFeatures, SelectRefusesWhatThisCpuCannotRun) {
  const Isa before = active_isa();
  for (Isa isa : {Isa::AVX2, Isa::AVX512, Isa::AVX512_BF16, Isa::AMX}) {
    if (cpu_can_run(isa, cpu_features())) {
      select_isa(isa);
      EXPECT_EQ(active_isa(), isa);
    } else {
      EXPECT_THROW(select_isa(isa), Error) << isa_name(isa);
    }
  }
  select_isa(before);
}

}  // namespace
}  // namespace tt
