// The safetensors reader: header validation, then every tensor read back as f32.
#include <vector>

#include "core/error.h"
#include "fuzz/fuzz_input.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tt::fuzz::write_input(data, size, "model.safetensors");
  try {
    tt::SafetensorsFile file(path);
    for (const auto& info : file.tensors()) {
      if (info.numel() > (int64_t{1} << 22)) continue;  // the data section bounds it; keep runs fast
      std::vector<float> out(static_cast<size_t>(info.numel()));
      file.read_f32(info.name, out.data());
    }
  } catch (const tt::Error&) {
  }
  return 0;
}
