// Parquet page contents: decompression (snappy, gzip, zstd), the RLE / bit-packed hybrid used for
// levels, booleans and dictionary indices, and the value encodings (PLAIN, dictionary, the DELTA_*
// family, BYTE_STREAM_SPLIT). Malformed input throws tt::Error naming `what` (file and column).
#pragma once
#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "io/parquet_format.h"

namespace tt::parquet {

// The decoded values of one column, in the shape of its physical type. Strings are views: into the
// page they were read from (PLAIN, DELTA_LENGTH_BYTE_ARRAY), into the dictionary, or into `owned`
// for values built while decoding (DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT) and values kept past their
// page; whoever holds a Values keeps those buffers alive as long as its views.
struct Values {
  std::vector<int64_t> ints;                // BOOLEAN, INT32, INT64
  std::vector<double> reals;                // FLOAT, DOUBLE
  std::vector<std::string_view> strings;    // BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY, INT96
  std::deque<std::string> owned;            // pieces that never reallocate once started
  size_t size() const { return strings.size() + ints.size() + reals.size(); }
  void clear() {
    ints.clear(), reals.clear(), strings.clear(), owned.clear();
  }
  void append_view(const char* p, size_t n) { strings.emplace_back(p, n); }
  void append_copy(const char* p, size_t n) {
    constexpr size_t kPiece = size_t{1} << 16;
    if (owned.empty() || owned.back().capacity() - owned.back().size() < n) owned.emplace_back().reserve(std::max(n, kPiece));
    std::string& piece = owned.back();
    piece.append(p, n);
    strings.emplace_back(piece.data() + piece.size() - n, n);
  }
};

// Where a page's stored bytes come from, a piece at a time, so that a page is never held both
// compressed and decompressed: read(out, max) fills up to max bytes and returns how many (0 at the end).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual size_t read(char* out, size_t max) = 0;
};

struct ColumnType {
  PhysicalType physical = PhysicalType::kByteArray;
  int32_t type_length = 0;
};

// Decompresses the `size` bytes `in` yields into exactly `uncompressed_size` bytes at `out`.
void decompress(Codec codec, ByteSource& in, size_t size, size_t uncompressed_size, char* out, const std::string& what);

// Reads `count` values of the RLE / bit-packed hybrid of `bit_width` bits (no length prefix).
void decode_rle_hybrid(const uint8_t* data, size_t size, int bit_width, size_t count, uint32_t* out, const std::string& what);

// Appends `count` values in `encoding` to *out; returns the bytes consumed. Dictionary encodings are
// resolved against `dictionary`.
size_t decode_values(Encoding encoding, const ColumnType& type, const uint8_t* data, size_t size, size_t count,
                     const Values* dictionary, Values* out, const std::string& what);

int bit_width_of(uint32_t max_value);

}  // namespace tt::parquet
