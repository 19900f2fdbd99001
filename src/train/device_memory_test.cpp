#include "train/device_memory.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "model/transformer.h"
#include "tests/host_train_device.h"

namespace tt {
namespace {

constexpr size_t kGiB = size_t(1) << 30;

double gib(size_t bytes) { return static_cast<double>(bytes) / kGiB; }

// The study's settings (issue 14): SFT of MobileLLM-R1-140M at max_length 4096, batch 2, and its DPO
// at 2048 + 2048 tokens, batch 2 (four rows of 4096), fit in a 16 GB card with a context's worth
// (1 GiB) to spare.
TEST(DeviceMemory, StudySettingsOfThe140MFitIn16GB) {
  const ModelConfig c = preset_config("mobilellm-r1-140m");
  const DeviceMemoryEstimate sft = estimate_training_memory(c, {2, 4096});
  const DeviceMemoryEstimate dpo = estimate_training_memory(c, {4, 4096});
  EXPECT_EQ(sft.parameters, 140248512);  // the published parameter count
  EXPECT_EQ(sft.parameter_state, size_t(140248512) * 19);
  EXPECT_EQ(dpo.parameter_state, sft.parameter_state);
  // activations grow with the tokens and nothing else
  EXPECT_NEAR(static_cast<double>(dpo.activations) / sft.activations, 2.0, 1e-3);
  EXPECT_LT(sft.total(), 15 * kGiB) << gib(sft.total()) << " GiB";
  EXPECT_LT(dpo.total(), 15 * kGiB) << gib(dpo.total()) << " GiB";
  EXPECT_GT(sft.activations, 2 * kGiB) << "15 layers x 8192 tokens of fp32 activations are gigabytes";
  RecordProperty("sft_140m_gib", std::to_string(gib(sft.total())));
  RecordProperty("dpo_140m_gib", std::to_string(gib(dpo.total())));
}

// ZeRO-1 over 2 ranks: the moments and the decay mask (9 of the 19 bytes a parameter) halved.
TEST(DeviceMemory, ZeroStageOneHoldsTheMomentsOfOneSlice) {
  const ModelConfig c = preset_config("mobilellm-r1-140m");
  const DeviceMemoryEstimate two = estimate_training_memory(c, {2, 4096}, 2);
  EXPECT_EQ(two.parameter_state, size_t(140248512) * 10 + size_t(140248512 / 2) * 9);
  EXPECT_EQ(two.activations, estimate_training_memory(c, {2, 4096}).activations);
}

// The 950M preset at seq 2048, batch 1: ~18 GB of parameter state alone (19 bytes a parameter).
TEST(DeviceMemory, The950MAtSeq2048OnA24GBCard) {
  const ModelConfig c = preset_config("mobilellm-r1-950m");
  const MicroBatchShape shape{1, 2048};
  const DeviceMemoryEstimate e = estimate_training_memory(c, shape);
  EXPECT_EQ(e.parameter_state, static_cast<size_t>(e.parameters) * 19);
  EXPECT_GT(e.parameters, 900000000);
  EXPECT_LT(e.parameters, 1000000000);
  RecordProperty("train_950m_gib", std::to_string(gib(e.total())));
  // what a 24 GB card (about 23.5 GiB free after the context) answers
  const std::string verdict = device_memory_shortfall(e, shape, size_t(23.5 * kGiB), "sft");
  EXPECT_EQ(verdict.empty(), e.total() <= size_t(23.5 * kGiB));
  std::printf("950M seq 2048 batch 1: %.2f GiB (state %.2f, activations %.2f, classifier+scratch %.2f): %s\n",
              gib(e.total()), gib(e.parameter_state), gib(e.activations), gib(e.classifier + e.scratch),
              verdict.empty() ? "fits in 24 GB" : verdict.c_str());
}

TEST(DeviceMemory, ShortfallIsOneLineWithNeededFreeAndWhatToLower) {
  const ModelConfig c = preset_config("mobilellm-r1-140m");
  const MicroBatchShape shape{2, 4096};
  const DeviceMemoryEstimate e = estimate_training_memory(c, shape);
  EXPECT_EQ(device_memory_shortfall(e, shape, e.total(), "sft"), "");
  const std::string line = device_memory_shortfall(e, shape, e.total() - 1, "sft on cuda:0");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  for (const char* part : {"sft on cuda:0", "needs about", "is free", "2 x 4096 tokens", "per_device_train_batch_size",
                           "max_length"})
    EXPECT_NE(line.find(part), std::string::npos) << part << " missing from: " << line;
  // a device with nothing free (the host stand-in reports 0 bytes) stops before anything is allocated
  testing::HostTrainDevice device;
  try {
    require_device_memory(device, c, shape, "sft on cuda:0");
    ADD_FAILURE() << "no error with 0 bytes free";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("0.00 GiB is free"), std::string::npos) << err.what();
  }
  EXPECT_EQ(device.peak_bytes_in_use(), 0u);
}

}  // namespace
}  // namespace tt
