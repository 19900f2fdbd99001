#include "io/thrift_compact.h"

#include "core/error.h"

namespace tt {

void ThriftReader::truncated() const { fail("{}: truncated or corrupt metadata (Thrift struct runs past its end)", what_); }

uint8_t ThriftReader::read_byte() {
  if (p_ >= end_) truncated();
  return *p_++;
}

uint64_t ThriftReader::read_varint() {
  uint64_t value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    uint8_t b = read_byte();
    value |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return value;
  }
  fail("{}: corrupt metadata (a varint longer than 10 bytes)", what_);
}

ThriftReader::Field ThriftReader::next_field() {
  uint8_t b = read_byte();
  Field f;
  f.type = b & 0x0f;
  if (f.type == kStop) return f;
  int delta = b >> 4;
  f.id = delta ? static_cast<int16_t>(last_id_ + delta) : static_cast<int16_t>(read_zigzag());
  last_id_ = f.id;
  return f;
}

std::string_view ThriftReader::read_binary() {
  uint64_t n = read_varint();
  if (n > static_cast<uint64_t>(end_ - p_)) truncated();
  std::string_view s(reinterpret_cast<const char*>(p_), n);
  p_ += n;
  return s;
}

uint32_t ThriftReader::read_list_header(uint8_t* element_type) {
  uint8_t b = read_byte();
  *element_type = b & 0x0f;
  uint64_t n = b >> 4;
  if (n == 15) n = read_varint();
  if (n > static_cast<uint64_t>(end_ - p_)) truncated();  // every element takes at least a byte (bools: a bit; rare)
  return static_cast<uint32_t>(n);
}

void ThriftReader::skip_element(uint8_t type) {
  if (type == kTrue || type == kFalse) read_byte();  // in lists, sets and maps a bool is a byte
  else skip(type);
}

void ThriftReader::skip(uint8_t type) {
  switch (type) {
    case kTrue: case kFalse: return;
    case kByte: read_byte(); return;
    case kI16: case kI32: case kI64: read_varint(); return;
    case kDouble:
      if (end_ - p_ < 8) truncated();
      p_ += 8;
      return;
    case kBinary: read_binary(); return;
    case kList: case kSet: case kMap: {
      // Every element takes at least a byte, so a count beyond the bytes left is corrupt (a map of
      // 2^60 bool entries that consumed nothing looped for hours: a fuzzer's finding).
      if (++nesting_ > kMaxNesting) fail("{}: corrupt metadata (values nested too deep)", what_);
      if (type == kMap) {
        const uint64_t n = read_varint();
        if (n != 0) {
          const uint8_t types = read_byte();
          if (n > static_cast<uint64_t>(end_ - p_) / 2) truncated();
          for (uint64_t i = 0; i < n; ++i) skip_element(types >> 4), skip_element(types & 0x0f);
        }
      } else {
        uint8_t element;
        const uint32_t n = read_list_header(&element);
        for (uint32_t i = 0; i < n; ++i) skip_element(element);
      }
      --nesting_;
      return;
    }
    case kStruct: {
      if (depth_ >= 60 || nesting_ >= kMaxNesting) fail("{}: corrupt metadata (structs nested too deep)", what_);
      begin_struct();
      for (Field f = next_field(); f.type != kStop; f = next_field()) skip(f.type);
      end_struct();
      return;
    }
    default: fail("{}: corrupt metadata (unknown Thrift type {})", what_, type);
  }
}

}  // namespace tt
