// SFT/DPO YAML configs: parsing, every key's setter and the range validation.
#include "core/error.h"
#include "fuzz/fuzz_input.h"
#include "train/training_args.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tt::fuzz::write_input(data, size, "config.yaml");
  for (auto kind : {tt::TrainerKind::SFT, tt::TrainerKind::DPO}) {
    try {
      tt::load_train_config(path, {}, kind);
    } catch (const tt::Error&) {
    }
  }
  return 0;
}
