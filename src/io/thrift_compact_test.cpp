#include "io/thrift_compact.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"

namespace {

// Skips one struct field of `type` whose value is `value`, then reads the field after it (id 2,
// an i32 of 7), as a reader does with a field it doesn't know.
int32_t skip_then_read(uint8_t type, const std::string& value) {
  const std::string bytes = std::string(1, static_cast<char>(0x10 | type)) + value + "\x15\x0e" + std::string(1, '\0');
  tt::ThriftReader r(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "meta");
  r.begin_struct();
  auto f = r.next_field();
  EXPECT_EQ(f.id, 1);
  r.skip(f.type);
  f = r.next_field();
  EXPECT_EQ(f.id, 2);
  const int32_t v = r.read_i32();
  EXPECT_EQ(r.next_field().type, tt::ThriftReader::kStop);
  return v;
}

std::string error_of(uint8_t type, const std::string& value) {
  try {
    skip_then_read(type, value);
  } catch (const tt::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ThriftCompact, SkipsListsMapsAndStructsToTheNextField) {
  using R = tt::ThriftReader;
  EXPECT_EQ(skip_then_read(R::kList, std::string("\x35\x02\x04\x06", 4)), 7);           // list<i32> [1, 2, 3]
  EXPECT_EQ(skip_then_read(R::kList, std::string("\x21\x01\x02", 3)), 7);               // list<bool>: a byte each
  EXPECT_EQ(skip_then_read(R::kMap, std::string("\x02\x85\x01\x61\x02\x01\x62\x04", 8)), 7);  // map<binary, i32>
  EXPECT_EQ(skip_then_read(R::kMap, std::string("\x01\x11\x01\x02", 4)), 7);            // map<bool, bool>
  EXPECT_EQ(skip_then_read(R::kMap, std::string("\x00", 1)), 7);                        // empty map
  EXPECT_EQ(skip_then_read(R::kStruct, std::string("\x15\x02\x19\x15\x04\x00", 6)), 7); // {1: i32, 2: list<i32>}
}

// A map's entry count is checked against the bytes left: a map of 2^60 bool entries, each of which
// consumed nothing, looped for hours (the CI's parquet fuzzer's finding); lists nested thousands
// deep overflowed the stack.
TEST(ThriftCompact, CountsBeyondTheBytesLeftAndDeepNestingAreRefusedAtOnce) {
  using R = tt::ThriftReader;
  const auto start = std::chrono::steady_clock::now();
  std::string huge_map = "\x80\x80\x80\x80\x80\x80\x80\x80\x10";  // varint 2^60
  huge_map += "\x11";                                               // bool keys, bool values
  EXPECT_NE(error_of(R::kMap, huge_map).find("meta: truncated or corrupt metadata"), std::string::npos);
  EXPECT_NE(error_of(R::kList, "\xf5\xff\xff\xff\xff\x0f").find("meta: truncated or corrupt metadata"), std::string::npos);
  EXPECT_NE(error_of(R::kList, std::string(100000, '\x19')).find("meta: corrupt metadata (values nested too deep)"),
            std::string::npos);
  EXPECT_NE(error_of(R::kStruct, std::string(100000, '\x1c')).find("nested too deep"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}
