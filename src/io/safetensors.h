// safetensors: read (memory-mapped, validated) and write (atomic).
// Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
// optional "__metadata__" (string -> string), then the raw little-endian tensor bytes.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/bf16.h"  // the dtype conversions

namespace tt {

enum class DType { F32, BF16, F16, I32, I64 };

const char* dtype_name(DType dtype);  // "F32", "BF16", ...
size_t dtype_size(DType dtype);


struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
  int64_t numel() const;
};

// An open, memory-mapped safetensors file. The constructor validates the whole header: a truncated
// file, a header that lies about offsets (out of range, overlapping, size != numel * dtype size), an
// unknown dtype or malformed JSON each throw tt::Error naming the file (and tensor).
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // nullptr when absent
  const TensorInfo* find(const std::string& name) const;
  // Like find, but throws tt::Error "<file>: missing tensor <name>" when absent.
  const TensorInfo& get(const std::string& name) const;
  // Raw bytes of a tensor inside the mapping.
  const uint8_t* data(const TensorInfo& info) const;

  // Convert a float tensor (F32, BF16, F16) to fp32 into dst (numel floats). Throws on int dtypes.
  // If expected_shape is non-empty and differs, throws "<file>: tensor <name> has shape [..], expected [..]".
  void read_f32(const std::string& name, float* dst, const std::vector<int64_t>& expected_shape = {}) const;
  // Read an integer tensor (I32 or I64) as int64.
  std::vector<int64_t> read_i64(const std::string& name) const;

 private:
  void parse_header();  // fills tensors_/metadata_ from the mapping; throws on any inconsistency

  std::string path_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
  const uint8_t* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  uint64_t data_start_ = 0;
};

// A tensor to write: fp32 data converted to `dtype` (F32, BF16 with round-to-nearest-even, F16),
// or int64 data written as I64/I32.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const float* f32 = nullptr;
  const int64_t* i64 = nullptr;
};

// Writes atomically (temp file in the same directory, fsync, rename). Tensors are written in the order
// given; the header is padded with spaces to a multiple of 8 bytes as HF does.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace tt
