#include "io/safetensors.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "tests/test_util.h"

namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// A file made by hand: 8-byte length, the header text as given, then `data_bytes` zero bytes.
std::string craft(const std::string& header, size_t data_bytes, const std::string& name = "bad.safetensors") {
  std::string path = tt::testing::make_temp_dir("st") + "/" + name;
  std::string content(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) content[i] = static_cast<char>(n >> (8 * i));
  content += header;
  content.append(data_bytes, '\0');
  tt::write_file_atomic(path, content);
  return path;
}

// Expects opening `path` to throw a one-line tt::Error naming the file and containing `needle`.
void expect_bad(const std::string& path, const std::string& needle) {
  try {
    tt::SafetensorsFile file(path);
    ADD_FAILURE() << "no throw for " << path;
  } catch (const tt::Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path + ":"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(Safetensors, RoundTripEveryDtype) {
  std::string path = tt::testing::make_temp_dir("st") + "/model.safetensors";
  std::vector<float> f(3 * 5);
  for (size_t i = 0; i < f.size(); ++i) f[i] = 0.25f * static_cast<float>(i) - 1.5f;  // exact in all float dtypes
  std::vector<int64_t> ints = {-3, 0, 7, 1LL << 40};
  std::vector<int64_t> small = {-3, 0, 7, 2147483647};
  tt::write_safetensors(path,
                        {{"a.f32", tt::DType::F32, {3, 5}, f.data(), nullptr},
                         {"b.bf16", tt::DType::BF16, {15}, f.data(), nullptr},
                         {"c.f16", tt::DType::F16, {5, 3}, f.data(), nullptr},
                         {"d.i64", tt::DType::I64, {4}, nullptr, ints.data()},
                         {"e.i32", tt::DType::I32, {2, 2}, nullptr, small.data()},
                         {"f.scalar", tt::DType::F32, {}, f.data() + 2, nullptr},
                         {"g.empty", tt::DType::F32, {0, 4}, nullptr, nullptr}},
                        {{"format", "pt"}});
  // Header padded to a multiple of 8.
  std::string raw = tt::read_file(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(raw[i]);
  EXPECT_EQ(n % 8, 0u);

  tt::SafetensorsFile file(path);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  ASSERT_EQ(file.tensors().size(), 7u);
  EXPECT_EQ(file.tensors()[0].name, "a.f32");  // written order kept
  EXPECT_EQ(file.get("b.bf16").dtype, tt::DType::BF16);
  for (const char* name : {"a.f32", "b.bf16", "c.f16"}) {
    std::vector<float> out(f.size());
    file.read_f32(name, out.data());
    EXPECT_EQ(out, f) << name;
  }
  float scalar = 0;
  file.read_f32("f.scalar", &scalar, {});
  EXPECT_EQ(scalar, f[2]);
  EXPECT_EQ(file.get("g.empty").numel(), 0);
  EXPECT_EQ(file.read_i64("d.i64"), ints);
  EXPECT_EQ(file.read_i64("e.i32"), small);
  EXPECT_EQ(file.find("nope"), nullptr);
}

TEST(Safetensors, ReadErrors) {
  std::string path = tt::testing::make_temp_dir("st") + "/m.safetensors";
  std::vector<float> f(6, 1.0f);
  std::vector<int64_t> ints(2, 1);
  tt::write_safetensors(path, {{"w", tt::DType::F32, {2, 3}, f.data(), nullptr},
                               {"i", tt::DType::I64, {2}, nullptr, ints.data()}});
  tt::SafetensorsFile file(path);
  std::vector<float> out(6);
  try {
    file.read_f32("w", out.data(), {3, 2});
    FAIL();
  } catch (const tt::Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": tensor w has shape [2, 3], expected [3, 2]");
  }
  try {
    file.get("model.norm.weight");
    FAIL();
  } catch (const tt::Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": missing tensor model.norm.weight");
  }
  EXPECT_THROW(file.read_f32("i", out.data()), tt::Error);
  EXPECT_THROW(file.read_i64("w"), tt::Error);
}

TEST(Safetensors, LargeTensorRoundTripsThroughChunks) {
  std::string path = tt::testing::make_temp_dir("st") + "/big.safetensors";
  std::vector<float> f(200003);
  for (size_t i = 0; i < f.size(); ++i) f[i] = std::sin(0.001f * static_cast<float>(i));
  tt::write_safetensors(path, {{"x", tt::DType::BF16, {static_cast<int64_t>(f.size())}, f.data(), nullptr},
                               {"y", tt::DType::F16, {static_cast<int64_t>(f.size())}, f.data(), nullptr}});
  tt::SafetensorsFile file(path);
  std::vector<float> x(f.size()), y(f.size());
  file.read_f32("x", x.data());
  file.read_f32("y", y.data());
  for (size_t i = 0; i < f.size(); i += 997) {
    EXPECT_EQ(x[i], tt::bf16_to_f32(tt::f32_to_bf16(f[i])));
    EXPECT_EQ(y[i], tt::f16_to_f32(tt::f32_to_f16(f[i])));
  }
}

TEST(Safetensors, Bf16RoundsToNearestEven) {
  // 1 + 2^-8 is exactly half-way between bf16 1.0 and 1 + 2^-7: ties go to the even one (1.0).
  EXPECT_EQ(tt::f32_to_bf16(from_bits(0x3f808000)), 0x3f80);
  // 1 + 3*2^-8 is half-way between 1+2^-7 (odd mantissa) and 1+2^-6: rounds up to even.
  EXPECT_EQ(tt::f32_to_bf16(from_bits(0x3f818000)), 0x3f82);
  // Just above half-way rounds up; just below rounds down.
  EXPECT_EQ(tt::f32_to_bf16(from_bits(0x3f808001)), 0x3f81);
  EXPECT_EQ(tt::f32_to_bf16(from_bits(0x3f807fff)), 0x3f80);
  // Negative values round by magnitude.
  EXPECT_EQ(tt::f32_to_bf16(from_bits(0xbf808001)), 0xbf81);
  // The largest finite float rounds up to infinity; infinities and zeros are kept.
  EXPECT_EQ(tt::f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(tt::f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(tt::f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_EQ(tt::f32_to_bf16(-0.0f), 0x8000);
  // A NaN whose payload lives only in the low 16 bits must not become infinity.
  uint16_t nan = tt::f32_to_bf16(from_bits(0x7f800001));
  EXPECT_TRUE(std::isnan(tt::bf16_to_f32(nan)));
  EXPECT_TRUE(std::isnan(tt::bf16_to_f32(tt::f32_to_bf16(std::nanf("")))));
  // bf16 -> f32 is the bit shift.
  EXPECT_EQ(bits(tt::bf16_to_f32(0x4049)), 0x40490000u);
}

TEST(Safetensors, F16Conversions) {
  EXPECT_EQ(tt::f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(tt::f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(tt::f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(tt::f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(tt::f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_TRUE(std::isinf(tt::f16_to_f32(0x7c00)));
  EXPECT_TRUE(std::isinf(tt::f16_to_f32(0xfc00)) && tt::f16_to_f32(0xfc00) < 0);
  EXPECT_TRUE(std::isnan(tt::f16_to_f32(0x7e00)));
  EXPECT_EQ(tt::f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(tt::f32_to_f16(65520.0f), 0x7c00);  // overflow -> inf
  EXPECT_EQ(tt::f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(tt::f32_to_f16(std::ldexp(1.0f, -26)), 0x0000);  // underflow
  EXPECT_EQ(tt::f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie -> even
  EXPECT_TRUE(std::isnan(tt::f16_to_f32(tt::f32_to_f16(std::nanf("")))));
  // Every finite half survives half -> float -> half.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;
    ASSERT_EQ(tt::f32_to_f16(tt::f16_to_f32(static_cast<uint16_t>(h))), h);
  }
}

TEST(SafetensorsBadInput, ShorterThan8Bytes) {
  std::string path = tt::testing::make_temp_dir("st") + "/short.safetensors";
  tt::write_file_atomic(path, "abc");
  expect_bad(path, "shorter than");
}

TEST(SafetensorsBadInput, HeaderLengthLargerThanFile) {
  std::string path = tt::testing::make_temp_dir("st") + "/long.safetensors";
  std::string content(8, '\0');
  content[0] = 100;
  content += "{}";
  tt::write_file_atomic(path, content);
  expect_bad(path, "header length 100 is larger than the file");
}

TEST(SafetensorsBadInput, InvalidJson) {
  expect_bad(craft("{\"a\": {", 0), "invalid header JSON");
}

TEST(SafetensorsBadInput, MissingFields) {
  expect_bad(craft(R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", 8), "tensor w: missing 'dtype'");
  expect_bad(craft(R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})", 8), "tensor w: missing 'shape'");
  expect_bad(craft(R"({"w": {"dtype": "F32", "shape": [2]}})", 8), "tensor w: missing 'data_offsets'");
}

TEST(SafetensorsBadInput, UnknownDtype) {
  expect_bad(craft(R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})", 8),
             "tensor w: unknown dtype 'F64'");
}

TEST(SafetensorsBadInput, NegativeShape) {
  expect_bad(craft(R"({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", 8),
             "tensor w: shape [-2] has a negative dimension");
}

TEST(SafetensorsBadInput, OffsetsBeginAfterEnd) {
  expect_bad(craft(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", 8),
             "tensor w: data_offsets [8, 0] has begin > end");
  expect_bad(craft(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", 8),
             "tensor w: data_offsets [0] is not [begin, end]");
}

TEST(SafetensorsBadInput, EndBeyondData) {
  expect_bad(craft(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8),
             "tensor w: data_offsets end 16 is beyond the data section (8 bytes)");
}

TEST(SafetensorsBadInput, SizeMismatch) {
  expect_bad(craft(R"({"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 8]}})", 16),
             "tensor w: data_offsets span 8 bytes but shape [2,3] of BF16 needs 12");
}

TEST(SafetensorsBadInput, OverlappingTensors) {
  expect_bad(craft(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                   16),
             "tensors a and b overlap");
}

// Holes and trailing bytes, which the safetensors library refuses (a damaged or polyglot file).
TEST(SafetensorsBadInput, BytesNoTensorOwns) {
  expect_bad(craft(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                      "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                   12),
             "tensor b starts at byte 8 of the data section, not at 4");
  expect_bad(craft(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", 8),
             "tensor a starts at byte 4 of the data section, not at 0");
  expect_bad(craft(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 12),
             "the data section holds 8 bytes after its last tensor");
}

TEST(SafetensorsBadInput, MetadataNotStrings) {
  expect_bad(craft(R"({"__metadata__": {"format": 1}})", 0), "__metadata__ value 'format' is not a string");
}

TEST(SafetensorsWrite, RejectsBadInput) {
  std::string path = tt::testing::make_temp_dir("st") + "/w.safetensors";
  std::vector<float> f(4);
  EXPECT_THROW(tt::write_safetensors(path, {{"w", tt::DType::F32, {2}, nullptr, nullptr}}), tt::Error);
  EXPECT_THROW(tt::write_safetensors(path, {{"w", tt::DType::F32, {2}, f.data(), nullptr},
                                            {"w", tt::DType::F32, {2}, f.data(), nullptr}}),
               tt::Error);
  std::vector<int64_t> big = {1LL << 40};
  EXPECT_THROW(tt::write_safetensors(path, {{"i", tt::DType::I32, {1}, nullptr, big.data()}}), tt::Error);
  EXPECT_FALSE(tt::file_exists(path));  // a failed write leaves nothing behind
}

}  // namespace
