#include "io/parquet_decode.h"

#include <cstring>
#include <memory>

#include <snappy-sinksource.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include "core/error.h"

namespace tt::parquet {

namespace {

// Little-endian, least-significant-bit-first reader of packed values.
class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool read(int width, uint64_t* value) {
    while (bits_ < width) {
      if (p_ >= end_) return false;
      acc_ |= static_cast<unsigned __int128>(*p_++) << bits_;
      bits_ += 8;
    }
    *value = width == 64 ? static_cast<uint64_t>(acc_) : static_cast<uint64_t>(acc_) & ((uint64_t{1} << width) - 1);
    acc_ >>= width;
    bits_ -= width;
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  unsigned __int128 acc_ = 0;
  int bits_ = 0;
};

uint64_t read_uleb(const uint8_t*& p, const uint8_t* end, const std::string& what) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end) fail("{}: truncated page (varint runs past the page)", what);
    uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  fail("{}: corrupt page (varint too long)", what);
}

int64_t read_zigzag(const uint8_t*& p, const uint8_t* end, const std::string& what) {
  uint64_t v = read_uleb(p, end, what);
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

[[noreturn]] void truncated(const std::string& what) { fail("{}: truncated or corrupt page (values run past its end)", what); }

// DELTA_BINARY_PACKED: returns the bytes consumed.
size_t decode_delta_binary(const uint8_t* data, size_t size, size_t count, std::vector<int64_t>* out, const std::string& what) {
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  uint64_t block_size = read_uleb(p, end, what);
  uint64_t miniblocks = read_uleb(p, end, what);
  uint64_t total = read_uleb(p, end, what);
  int64_t value = read_zigzag(p, end, what);
  if (miniblocks == 0 || block_size % miniblocks || (block_size / miniblocks) % 8 || block_size == 0 || miniblocks > 256)
    fail("{}: corrupt DELTA_BINARY_PACKED header", what);
  if (total < count) fail("{}: corrupt page (DELTA_BINARY_PACKED holds {} values, the page needs {})", what, total, count);
  const uint64_t per_miniblock = block_size / miniblocks;
  size_t produced = 0;
  if (count > 0) out->push_back(value), produced = 1;
  while (produced < total) {
    int64_t min_delta = read_zigzag(p, end, what);
    if (static_cast<uint64_t>(end - p) < miniblocks) truncated(what);
    const uint8_t* widths = p;
    p += miniblocks;
    for (uint64_t m = 0; m < miniblocks && produced < total; ++m) {
      int width = widths[m];
      if (width > 64) fail("{}: corrupt DELTA_BINARY_PACKED bit width {}", what, width);
      size_t bytes = per_miniblock * width / 8;
      if (static_cast<size_t>(end - p) < bytes) truncated(what);
      BitReader bits(p, bytes);
      for (uint64_t i = 0; i < per_miniblock && produced < total; ++i) {
        uint64_t delta = 0;
        if (width) bits.read(width, &delta);
        value = static_cast<int64_t>(static_cast<uint64_t>(value) + static_cast<uint64_t>(min_delta) + delta);
        if (produced < count) out->push_back(value);
        ++produced;
      }
      p += bytes;
    }
  }
  return static_cast<size_t>(p - data);
}

size_t decode_plain(const ColumnType& type, const uint8_t* data, size_t size, size_t count, Values* out, const std::string& what) {
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  auto need = [&](size_t n) {
    if (static_cast<size_t>(end - p) < n) truncated(what);
  };
  switch (type.physical) {
    case PhysicalType::kBoolean: {
      need((count + 7) / 8);
      for (size_t i = 0; i < count; ++i) out->ints.push_back((p[i / 8] >> (i % 8)) & 1);
      return (count + 7) / 8;
    }
    case PhysicalType::kInt32: {
      need(4 * count);
      for (size_t i = 0; i < count; ++i, p += 4) {
        int32_t v;
        std::memcpy(&v, p, 4);
        out->ints.push_back(v);
      }
      break;
    }
    case PhysicalType::kInt64: {
      need(8 * count);
      size_t at = out->ints.size();
      out->ints.resize(at + count);
      if (count > 0) std::memcpy(out->ints.data() + at, p, 8 * count);  // no memcpy from/to null (UBSan)
      p += 8 * count;
      break;
    }
    case PhysicalType::kFloat: {
      need(4 * count);
      for (size_t i = 0; i < count; ++i, p += 4) {
        float v;
        std::memcpy(&v, p, 4);
        out->reals.push_back(v);
      }
      break;
    }
    case PhysicalType::kDouble: {
      need(8 * count);
      size_t at = out->reals.size();
      out->reals.resize(at + count);
      if (count > 0) std::memcpy(out->reals.data() + at, p, 8 * count);  // no memcpy from/to null (UBSan)
      p += 8 * count;
      break;
    }
    case PhysicalType::kByteArray: {
      for (size_t i = 0; i < count; ++i) {
        need(4);
        uint32_t n;
        std::memcpy(&n, p, 4);
        p += 4;
        need(n);
        out->append_view(reinterpret_cast<const char*>(p), n);
        p += n;
      }
      break;
    }
    case PhysicalType::kInt96:
    case PhysicalType::kFixedLenByteArray: {
      size_t n = type.physical == PhysicalType::kInt96 ? 12 : static_cast<size_t>(type.type_length);
      need(n * count);
      for (size_t i = 0; i < count; ++i, p += n) out->append_view(reinterpret_cast<const char*>(p), n);
      break;
    }
    default: fail("{}: unknown physical type {}", what, static_cast<int>(type.physical));
  }
  return static_cast<size_t>(p - data);
}

void append_from_dictionary(const Values& dict, const uint32_t* indices, size_t count, Values* out, const std::string& what) {
  const size_t n = dict.size();
  for (size_t i = 0; i < count; ++i)
    if (indices[i] >= n) fail("{}: corrupt page (dictionary index {} of a dictionary of {})", what, indices[i], n);
  if (!dict.strings.empty()) {
    for (size_t i = 0; i < count; ++i) out->strings.push_back(dict.strings[indices[i]]);
  } else if (!dict.reals.empty()) {
    for (size_t i = 0; i < count; ++i) out->reals.push_back(dict.reals[indices[i]]);
  } else {
    for (size_t i = 0; i < count; ++i) out->ints.push_back(dict.ints[indices[i]]);
  }
}

size_t decode_byte_array_lengths(const uint8_t* data, size_t size, size_t count, std::vector<int64_t>* lengths,
                                 const std::string& what) {
  size_t used = decode_delta_binary(data, size, count, lengths, what);
  for (int64_t n : *lengths)
    if (n < 0) fail("{}: corrupt page (negative byte array length)", what);
  return used;
}

size_t decode_delta_length_byte_array(const uint8_t* data, size_t size, size_t count, Values* out, const std::string& what) {
  std::vector<int64_t> lengths;
  size_t used = decode_byte_array_lengths(data, size, count, &lengths, what);
  for (int64_t n : lengths) {
    if (size - used < static_cast<size_t>(n)) truncated(what);
    out->append_view(reinterpret_cast<const char*>(data + used), n);
    used += n;
  }
  return used;
}

size_t decode_delta_byte_array(const uint8_t* data, size_t size, size_t count, Values* out, const std::string& what) {
  std::vector<int64_t> prefixes;
  size_t used = decode_byte_array_lengths(data, size, count, &prefixes, what);
  Values suffixes;
  used += decode_delta_length_byte_array(data + used, size - used, count, &suffixes, what);
  std::string previous, value;
  for (size_t i = 0; i < count; ++i) {
    if (static_cast<size_t>(prefixes[i]) > previous.size()) fail("{}: corrupt DELTA_BYTE_ARRAY prefix", what);
    value.assign(previous, 0, prefixes[i]);
    value.append(suffixes.strings[i]);
    out->append_copy(value.data(), value.size());
    previous.swap(value);
  }
  return used;
}

size_t decode_byte_stream_split(const ColumnType& type, const uint8_t* data, size_t size, size_t count, Values* out,
                                const std::string& what) {
  size_t width = type.physical == PhysicalType::kFloat || type.physical == PhysicalType::kInt32 ? 4
                 : type.physical == PhysicalType::kDouble || type.physical == PhysicalType::kInt64 ? 8 : 0;
  if (width == 0) fail("{}: BYTE_STREAM_SPLIT for this column type is not supported", what);
  if (size < width * count) truncated(what);
  std::string plain(width * count, '\0');
  for (size_t i = 0; i < count; ++i)
    for (size_t b = 0; b < width; ++b) plain[i * width + b] = static_cast<char>(data[b * count + i]);
  decode_plain(type, reinterpret_cast<const uint8_t*>(plain.data()), plain.size(), count, out, what);
  return width * count;
}

}  // namespace

int bit_width_of(uint32_t max_value) {
  int width = 0;
  while (max_value) ++width, max_value >>= 1;
  return width;
}

namespace {

constexpr size_t kSourcePiece = size_t{1} << 16;

// snappy's view of a ByteSource: `size` bytes in pieces of 64 KiB.
class SnappySource : public snappy::Source {
 public:
  SnappySource(ByteSource& in, size_t size) : in_(in), left_(size), buffer_(kSourcePiece, '\0') {}
  size_t Available() const override { return left_ + (end_ - at_); }
  const char* Peek(size_t* len) override {
    if (at_ == end_) fill();
    *len = end_ - at_;
    return buffer_.data() + at_;
  }
  void Skip(size_t n) override { at_ += std::min(n, end_ - at_); }

 private:
  // As many bytes as the buffer holds (however few the source gives per call), so that the length
  // preamble is whole in the first piece.
  void fill() {
    at_ = end_ = 0;
    while (end_ < buffer_.size() && left_ > 0) {
      size_t n = in_.read(buffer_.data() + end_, std::min(left_, buffer_.size() - end_));
      if (n == 0) left_ = 0;
      end_ += n, left_ -= n;
    }
  }

  ByteSource& in_;
  size_t left_;
  std::string buffer_;
  size_t at_ = 0, end_ = 0;
};

// Reads the snappy preamble (the uncompressed length, a varint of at most 5 bytes) without consuming it.
bool snappy_length_matches(SnappySource& source, size_t expected) {
  uint64_t length = 0;
  size_t available = 0;
  const char* p = source.Peek(&available);
  for (size_t i = 0; i < std::min<size_t>(available, 5); ++i) {
    length |= static_cast<uint64_t>(static_cast<uint8_t>(p[i]) & 0x7f) << (7 * i);
    if (!(static_cast<uint8_t>(p[i]) & 0x80)) return length == expected;
  }
  return false;
}

void read_exactly(ByteSource& in, size_t size, char* out, const std::string& what) {
  for (size_t done = 0; done < size;) {
    size_t got = in.read(out + done, size - done);
    if (got == 0) fail("{}: truncated page", what);
    done += got;
  }
}

}  // namespace

void decompress(Codec codec, ByteSource& in, size_t size, size_t uncompressed_size, char* out, const std::string& what) {
  switch (codec) {
    case Codec::kUncompressed:
      if (size != uncompressed_size) fail("{}: corrupt page (uncompressed sizes disagree)", what);
      read_exactly(in, size, out, what);
      return;
    case Codec::kSnappy: {
      SnappySource source(in, size);
      if (!snappy_length_matches(source, uncompressed_size) || !snappy::RawUncompress(&source, out))
        fail("{}: corrupt snappy page", what);
      return;
    }
    case Codec::kZstd: {
      std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> z(ZSTD_createDCtx(), ZSTD_freeDCtx);
      std::string piece(std::min(size, kSourcePiece), '\0');
      ZSTD_outBuffer output{out, uncompressed_size, 0};
      size_t rc = 1;
      for (size_t left = size; left > 0 && rc != 0;) {
        size_t n = in.read(piece.data(), std::min(left, piece.size()));
        if (n == 0) fail("{}: truncated page", what);
        left -= n;
        ZSTD_inBuffer input{piece.data(), n, 0};
        while (input.pos < input.size && rc != 0) {
          rc = ZSTD_decompressStream(z.get(), &output, &input);
          if (ZSTD_isError(rc)) fail("{}: corrupt zstd page ({})", what, ZSTD_getErrorName(rc));
          if (output.pos == output.size && input.pos < input.size && rc != 0) fail("{}: corrupt zstd page (wrong size)", what);
        }
      }
      if (rc != 0 || output.pos != uncompressed_size) fail("{}: corrupt zstd page (wrong size)", what);
      return;
    }
    case Codec::kGzip: {
      z_stream z{};
      if (inflateInit2(&z, 15 + 32) != Z_OK) fail("{}: zlib init failed", what);
      std::unique_ptr<z_stream, int (*)(z_stream*)> end(&z, inflateEnd);
      std::string piece(std::min(size, kSourcePiece), '\0');
      z.next_out = reinterpret_cast<Bytef*>(out);
      z.avail_out = static_cast<uInt>(uncompressed_size);
      int rc = Z_OK;
      for (size_t left = size; left > 0 && rc != Z_STREAM_END;) {
        size_t n = in.read(piece.data(), std::min(left, piece.size()));
        if (n == 0) fail("{}: truncated page", what);
        left -= n;
        z.next_in = reinterpret_cast<Bytef*>(piece.data());
        z.avail_in = static_cast<uInt>(n);
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) fail("{}: corrupt gzip page", what);
      }
      if (rc != Z_STREAM_END || z.total_out != uncompressed_size) fail("{}: corrupt gzip page", what);
      return;
    }
    default:
      fail("{}: compression codec {} is not supported (snappy, gzip, zstd and uncompressed are)", what,
           static_cast<int>(codec));
  }
}

void decode_rle_hybrid(const uint8_t* data, size_t size, int bit_width, size_t count, uint32_t* out, const std::string& what) {
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  const size_t value_bytes = (bit_width + 7) / 8;
  size_t n = 0;
  while (n < count) {
    uint64_t header = read_uleb(p, end, what);
    if (header & 1) {  // bit-packed: (header >> 1) groups of 8 values
      size_t values = (header >> 1) * 8;
      size_t bytes = (header >> 1) * bit_width;
      if (static_cast<size_t>(end - p) < bytes) bytes = end - p;  // the last run may be cut short
      BitReader bits(p, bytes);
      for (size_t i = 0; i < values && n < count; ++i) {
        uint64_t v;
        if (!bits.read(bit_width, &v)) {
          if (bit_width == 0) v = 0;
          else truncated(what);
        }
        out[n++] = static_cast<uint32_t>(v);
      }
      p += bytes;
    } else {  // run: (header >> 1) copies of one value
      size_t run = header >> 1;
      if (static_cast<size_t>(end - p) < value_bytes) truncated(what);
      uint32_t v = 0;
      for (size_t b = 0; b < value_bytes; ++b) v |= static_cast<uint32_t>(p[b]) << (8 * b);
      p += value_bytes;
      if (run == 0) fail("{}: corrupt RLE run of length 0", what);
      for (size_t i = 0; i < run && n < count; ++i) out[n++] = v;
    }
  }
}

size_t decode_values(Encoding encoding, const ColumnType& type, const uint8_t* data, size_t size, size_t count,
                     const Values* dictionary, Values* out, const std::string& what) {
  switch (encoding) {
    case Encoding::kPlain: return decode_plain(type, data, size, count, out, what);
    case Encoding::kPlainDictionary:
    case Encoding::kRleDictionary: {
      if (!dictionary) fail("{}: corrupt column (dictionary-encoded page without a dictionary page)", what);
      if (count == 0) return 0;
      if (size < 1) truncated(what);
      int width = data[0];
      if (width > 32) fail("{}: corrupt page (dictionary index width {})", what, width);
      std::vector<uint32_t> indices(count);
      decode_rle_hybrid(data + 1, size - 1, width, count, indices.data(), what);
      append_from_dictionary(*dictionary, indices.data(), count, out, what);
      return size;
    }
    case Encoding::kRle: {
      if (type.physical != PhysicalType::kBoolean) fail("{}: RLE values on a non-boolean column", what);
      if (size < 4) truncated(what);
      uint32_t length;
      std::memcpy(&length, data, 4);
      if (length > size - 4) truncated(what);
      std::vector<uint32_t> bits(count);
      decode_rle_hybrid(data + 4, length, 1, count, bits.data(), what);
      for (uint32_t b : bits) out->ints.push_back(b);
      return 4 + length;
    }
    case Encoding::kDeltaBinaryPacked: {
      if (type.physical != PhysicalType::kInt32 && type.physical != PhysicalType::kInt64)
        fail("{}: DELTA_BINARY_PACKED on a non-integer column", what);
      size_t at = out->ints.size();
      size_t used = decode_delta_binary(data, size, count, &out->ints, what);
      if (type.physical == PhysicalType::kInt32)
        for (size_t i = at; i < out->ints.size(); ++i) out->ints[i] = static_cast<int32_t>(out->ints[i]);
      return used;
    }
    case Encoding::kDeltaLengthByteArray: return decode_delta_length_byte_array(data, size, count, out, what);
    case Encoding::kDeltaByteArray: return decode_delta_byte_array(data, size, count, out, what);
    case Encoding::kByteStreamSplit: return decode_byte_stream_split(type, data, size, count, out, what);
    default: fail("{}: value encoding {} is not supported", what, static_cast<int>(encoding));
  }
}

}  // namespace tt::parquet
