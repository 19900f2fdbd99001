// A reader for the Thrift compact protocol, as parquet stores its footer and page headers: field
// headers, zigzag varints, binaries, lists, nested structs, and skipping of fields it does not read.
// Running past the end of the buffer or a malformed value throws tt::Error naming `what`.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace tt {

class ThriftReader {
 public:
  enum Type : uint8_t {
    kStop = 0, kTrue = 1, kFalse = 2, kByte = 3, kI16 = 4, kI32 = 5, kI64 = 6, kDouble = 7,
    kBinary = 8, kList = 9, kSet = 10, kMap = 11, kStruct = 12,
  };
  struct Field {
    int16_t id = 0;
    uint8_t type = kStop;
  };

  ThriftReader(const uint8_t* data, size_t size, std::string what) : p_(data), end_(data + size), what_(std::move(what)) {}

  void begin_struct() { last_ids_[depth_++ & 63] = last_id_, last_id_ = 0; }
  void end_struct() { last_id_ = last_ids_[--depth_ & 63]; }
  Field next_field();  // type kStop at the end of the struct
  bool read_bool(const Field& f) const { return f.type == kTrue; }
  int32_t read_i32() { return static_cast<int32_t>(read_zigzag()); }
  int64_t read_i64() { return read_zigzag(); }
  std::string_view read_binary();
  // Returns the element count; element type in *element_type.
  uint32_t read_list_header(uint8_t* element_type);
  void skip(uint8_t type);
  size_t consumed(const uint8_t* start) const { return static_cast<size_t>(p_ - start); }
  const uint8_t* position() const { return p_; }

 private:
  uint64_t read_varint();
  int64_t read_zigzag() {
    uint64_t v = read_varint();
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  }
  uint8_t read_byte();
  void skip_element(uint8_t type);
  [[noreturn]] void truncated() const;

  const uint8_t* p_;
  const uint8_t* end_;
  std::string what_;
  int16_t last_id_ = 0;
  int16_t last_ids_[64] = {};
  int depth_ = 0;
  static constexpr int kMaxNesting = 64;  // lists, sets and maps within each other and structs
  int nesting_ = 0;
};

}  // namespace tt
