#include "io/gguf.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "core/bf16.h"

#include "core/error.h"
#include "tests/error_of.h"
#include "tests/test_util.h"

namespace tt {
namespace {

GgufContents small_file() {
  GgufContents c;
  c.metadata.push_back({"general.architecture", GgufValue::string("llama")});
  c.metadata.push_back({"x.count", GgufValue::u32(7)});
  c.metadata.push_back({"x.eps", GgufValue::f32(1e-5f)});
  c.metadata.push_back({"x.flag", GgufValue::boolean(true)});
  c.metadata.push_back({"x.words", GgufValue::string_array({"a", "bc", ""})});
  c.metadata.push_back({"x.ids", GgufValue::i32_array({1, -2, 3})});
  std::vector<float> w(64);
  for (int i = 0; i < 64; ++i) w[i] = std::sin(0.3f * i);
  c.tensors.push_back({"w", GgmlType::F32, {32, 2}, encode_ggml(GgmlType::F32, w.data(), 64)});
  c.tensors.push_back({"q", GgmlType::Q8_0, {64}, encode_ggml(GgmlType::Q8_0, w.data(), 64)});
  return c;
}

TEST(Gguf, RoundTripsMetadataAndTensors) {
  GgufContents c = small_file();
  std::string bytes = serialize_gguf(c);
  GgufContents back = parse_gguf(bytes, "mem");
  ASSERT_EQ(back.metadata.size(), c.metadata.size());
  for (size_t i = 0; i < c.metadata.size(); ++i) {
    EXPECT_EQ(back.metadata[i].key, c.metadata[i].key);
    EXPECT_TRUE(back.metadata[i].value == c.metadata[i].value) << c.metadata[i].key;
  }
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.tensors[1].data, c.tensors[1].data);
  EXPECT_EQ(back.tensors[0].dims, (std::vector<uint64_t>{32, 2}));
}

TEST(Gguf, Q8_0MatchesGgmlBlockFormat) {
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = (i - 16) * 0.5f;  // max |x| = 8 at i = 0
  auto bytes = encode_ggml(GgmlType::Q8_0, x.data(), 32);
  ASSERT_EQ(bytes.size(), 34u);
  float d = f16_to_f32(static_cast<uint16_t>(bytes[0] | bytes[1] << 8));
  EXPECT_NEAR(d, 8.0f / 127, 1e-5);
  EXPECT_EQ(static_cast<int8_t>(bytes[2]), -127);
  EXPECT_EQ(static_cast<int8_t>(bytes[2 + 16]), 0);
  EXPECT_EQ(static_cast<int8_t>(bytes[2 + 17]), static_cast<int8_t>(std::round(0.5f * 127 / 8)));
  auto back = decode_ggml(GgmlType::Q8_0, bytes.data(), 32);
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(back[i], x[i], d / 2 + 1e-6);
  EXPECT_THROW(encode_ggml(GgmlType::Q8_0, x.data(), 16), Error);
}

TEST(Gguf, RejectsTruncatedAndBadMagic) {
  std::string bytes = serialize_gguf(small_file());
  EXPECT_THROW(parse_gguf(bytes.substr(0, bytes.size() - 40), "cut"), Error);
  EXPECT_THROW(parse_gguf(bytes.substr(0, 30), "cut"), Error);
  std::string bad = bytes;
  bad[0] = 'X';
  EXPECT_THROW(parse_gguf(bad, "bad"), Error);
}

// Offsets of fields in small_file()'s bytes, found by writing a marker value and searching for it.
size_t offset_of(const std::string& bytes, const std::string& needle) {
  size_t at = bytes.find(needle);
  EXPECT_NE(at, std::string::npos);
  return at;
}

template <typename T>
void put(std::string& bytes, size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

std::string error_parsing(const std::string& bytes) {
  return testing::error_of([&] { parse_gguf(bytes, "f.gguf"); });
}

TEST(Gguf, AbsurdCountsAndSizesAreOneLineErrors) {
  std::string good = serialize_gguf(small_file());
  std::string bytes = good;
  put<uint64_t>(bytes, 8, uint64_t{1} << 62);  // tensor count
  EXPECT_EQ(error_parsing(bytes), fmt::format("f.gguf: tensor count {} cannot fit in a file of {} bytes", uint64_t{1} << 62, good.size()));
  bytes = good;
  put<uint64_t>(bytes, 16, ~uint64_t{0});  // metadata count
  EXPECT_NE(error_parsing(bytes).find("f.gguf: metadata count 18446744073709551615 cannot fit"), std::string::npos);
  // x.words: u32 ARRAY, u32 STRING, u64 count — a count whose byte size wraps around 2^64
  bytes = good;
  size_t words = offset_of(bytes, "x.words") + 7 + 8;
  put<uint64_t>(bytes, words, (uint64_t{1} << 61) + 1);
  EXPECT_EQ(error_parsing(bytes), "f.gguf: key x.words: array of 2305843009213693953 elements runs past the end of the file");
  // tensor "w": u64 name length, "w", u32 n_dims, u64 dims...: dims whose product overflows
  bytes = good;
  size_t w = offset_of(bytes, std::string("\x01\0\0\0\0\0\0\0w", 9)) + 9;
  put<uint64_t>(bytes, w + 4, uint64_t{1} << 40);
  put<uint64_t>(bytes, w + 12, uint64_t{1} << 40);
  EXPECT_EQ(error_parsing(bytes), fmt::format("f.gguf: tensor w: 1099511627776 x 1099511627776 elements cannot fit in a file of {} bytes", good.size()));
  bytes = good;
  put<uint32_t>(bytes, w + 20, 2);  // ggml type 2 (q4_0)
  EXPECT_EQ(error_parsing(bytes), "f.gguf: tensor w: unsupported ggml type 2");
  bytes = good;
  put<uint64_t>(bytes, w + 24, ~uint64_t{0} - 31);  // an aligned offset near 2^64
  EXPECT_NE(error_parsing(bytes).find("f.gguf: tensor w: data ["), std::string::npos);
}

TEST(Gguf, DuplicateKeysTensorsAndBadAlignmentAreRefused) {
  GgufContents c = small_file();
  c.metadata.push_back({"x.count", GgufValue::u32(8)});
  EXPECT_EQ(error_parsing(serialize_gguf(c)), "f.gguf: key x.count appears twice");
  c = small_file();
  c.tensors.push_back(c.tensors[0]);
  EXPECT_EQ(error_parsing(serialize_gguf(c)), "f.gguf: tensor w appears twice");
  c = small_file();
  c.metadata.push_back({"general.alignment", GgufValue::u32(64)});
  EXPECT_EQ(parse_gguf(serialize_gguf(c), "f.gguf").tensors[1].data, small_file().tensors[1].data);
  std::string bytes = serialize_gguf(c);
  put<uint32_t>(bytes, offset_of(bytes, "general.alignment") + 17 + 4, 48);
  EXPECT_EQ(error_parsing(bytes), "f.gguf: key general.alignment: type 4 value 48 is not a u32 power of two up to 1 MiB");
}

TEST(Gguf, RefusesExistingFileWithoutOverwrite) {
  std::string path = testing::make_temp_dir("gguf") + "/m.gguf";
  write_gguf(path, small_file(), false);
  EXPECT_THROW(write_gguf(path, small_file(), false), Error);
  EXPECT_NO_THROW(write_gguf(path, small_file(), true));
  EXPECT_EQ(read_gguf(path).tensors.size(), 2u);
}

}  // namespace
}  // namespace tt
