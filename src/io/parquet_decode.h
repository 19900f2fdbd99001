// Parquet page contents: decompression (snappy, gzip, zstd), the RLE / bit-packed hybrid used for
// levels, booleans and dictionary indices, and the value encodings (PLAIN, dictionary, the DELTA_*
// family, BYTE_STREAM_SPLIT). Malformed input throws tt::Error naming `what` (file and column).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/parquet_format.h"

namespace tt::parquet {

// The decoded values of one column, in the shape of its physical type.
struct Values {
  std::vector<int64_t> ints;      // BOOLEAN, INT32, INT64
  std::vector<double> reals;      // FLOAT, DOUBLE
  std::string bytes;              // BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY, INT96: value i is bytes[offsets[i], offsets[i + 1])
  std::vector<uint64_t> offsets = {0};
  size_t size() const { return offsets.size() > 1 ? offsets.size() - 1 : ints.size() + reals.size(); }
  void clear() {
    ints.clear(), reals.clear(), bytes.clear();
    offsets.assign(1, 0);
  }
  void append_bytes(const char* p, size_t n) {
    bytes.append(p, n);
    offsets.push_back(bytes.size());
  }
};

struct ColumnType {
  PhysicalType physical = PhysicalType::kByteArray;
  int32_t type_length = 0;
};

// Decompresses `size` bytes into exactly `uncompressed_size` bytes of *out.
void decompress(Codec codec, const uint8_t* data, size_t size, size_t uncompressed_size, std::string* out,
                const std::string& what);

// Reads `count` values of the RLE / bit-packed hybrid of `bit_width` bits (no length prefix).
void decode_rle_hybrid(const uint8_t* data, size_t size, int bit_width, size_t count, uint32_t* out, const std::string& what);

// Appends `count` values in `encoding` to *out; returns the bytes consumed. Dictionary encodings are
// resolved against `dictionary`.
size_t decode_values(Encoding encoding, const ColumnType& type, const uint8_t* data, size_t size, size_t count,
                     const Values* dictionary, Values* out, const std::string& what);

int bit_width_of(uint32_t max_value);

}  // namespace tt::parquet
