// The embedded default run (until the study runner lands): a micro model of the MobileLLM-R1
// architecture, random-initialised, trained briefly on a built-in synthetic task and scored on
// held-out data before and after, end to end through the same code paths as the real verbs.
#pragma once
#include <cstdint>
#include <string>

#include "kernels/cpu/matmul.h"

namespace tt {

struct DemoOptions {
  std::string out_dir = "out/demo";
  std::string arch = "micro-llama4";
  int64_t steps = 300;
  int64_t batch = 8, seq = 64;
  double learning_rate = 3e-3;
  Precision precision = Precision::FP32;
  uint64_t seed = 42;
};

struct DemoSummary {
  double heldout_logprob_before = 0, heldout_logprob_after = 0;  // mean per token
  double heldout_accuracy_before = 0, heldout_accuracy_after = 0;
  double final_train_loss = 0;
};

DemoSummary run_demo(const DemoOptions& options);

}  // namespace tt
