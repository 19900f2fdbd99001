// GGUF v3 (the file format of llama.cpp and Ollama): write and read.
// Layout: "GGUF", u32 version, u64 tensor count, u64 metadata count, then the metadata (key string,
// u32 value type, value), then per tensor (name, u32 n_dims, u64 dims[n_dims] with dims[0] the
// fastest-varying, u32 ggml type, u64 offset into the data section), padding to general.alignment
// (32 by default), then the tensor data, each tensor starting at a multiple of the alignment.
// Strings are u64 length + UTF-8 bytes; arrays are u32 element type + u64 count + elements. All little-endian.
#pragma once
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace tt {

enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
  U64 = 10, I64 = 11, F64 = 12,
};

// ggml tensor types used here (ids from ggml.h).
enum class GgmlType : uint32_t { F32 = 0, F16 = 1, Q8_0 = 8, BF16 = 30 };
const char* ggml_type_name(GgmlType type);
// Bytes of a row of `count` elements; throws when count is not a multiple of the type's block size.
uint64_t ggml_row_bytes(GgmlType type, int64_t count);
constexpr int kQ8_0BlockSize = 32;  // Q8_0 block: fp16 scale d, then 32 int8 q with x ~= d * q

// Convert `count` floats into `type`'s encoding (F16/BF16 round to nearest even; Q8_0 as ggml's
// quantize_row_q8_0: d = max|x| / 127 per block, q = round-half-away(x / d)).
std::vector<uint8_t> encode_ggml(GgmlType type, const float* data, int64_t count);
// Decode back to float (Q8_0: d * q).
std::vector<float> decode_ggml(GgmlType type, const uint8_t* data, int64_t count);

// One metadata value. Arrays are homogeneous: `array_type` says the element type and the elements
// live in the matching vector (strings in `strings`, integers in `ints`, floats in `floats`).
struct GgufValue {
  GgufValueType type = GgufValueType::U32;
  std::variant<uint64_t, int64_t, double, bool, std::string> scalar;
  GgufValueType array_type = GgufValueType::U32;
  std::vector<std::string> strings = {};
  std::vector<int64_t> ints = {};
  std::vector<double> floats = {};

  static GgufValue u32(uint32_t v) { return {GgufValueType::U32, uint64_t{v}}; }
  static GgufValue i32(int32_t v) { return {GgufValueType::I32, int64_t{v}}; }
  static GgufValue f32(float v) { return {GgufValueType::F32, double{v}}; }
  static GgufValue boolean(bool v) { return {GgufValueType::BOOL, v}; }
  static GgufValue string(std::string v) { return {GgufValueType::STRING, std::move(v)}; }
  static GgufValue string_array(std::vector<std::string> v);
  static GgufValue i32_array(std::vector<int64_t> v);

  bool operator==(const GgufValue& other) const = default;
  std::string describe() const;  // short text for error messages and tests
};

struct GgufKeyValue {
  std::string key;
  GgufValue value;
};

struct GgufTensor {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<uint64_t> dims;  // ggml order: dims[0] is the contiguous one (HF shape reversed)
  std::vector<uint8_t> data;   // encoded bytes
};

struct GgufContents {
  std::vector<GgufKeyValue> metadata;  // in file order
  std::vector<GgufTensor> tensors;     // in file order
  const GgufValue* find(const std::string& key) const;  // nullptr when absent
  const GgufTensor* find_tensor(const std::string& name) const;
};

// Serialise to bytes (alignment from general.alignment when present, else 32).
std::string serialize_gguf(const GgufContents& contents);
// Write atomically (temp file + rename). Refuses an existing path unless overwrite.
void write_gguf(const std::string& path, const GgufContents& contents, bool overwrite);

// Parse a GGUF file. Any inconsistency (bad magic, unsupported version, truncation, unknown value or
// tensor type, data out of range) throws tt::Error naming the file and the key or tensor.
GgufContents read_gguf(const std::string& path);
GgufContents parse_gguf(const std::string& bytes, const std::string& label);

}  // namespace tt
