#include "io/gguf.h"

#include <cmath>

#include <gtest/gtest.h>

#include "core/bf16.h"

#include "core/error.h"
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

TEST(Gguf, RefusesExistingFileWithoutOverwrite) {
  std::string path = testing::make_temp_dir("gguf") + "/m.gguf";
  write_gguf(path, small_file(), false);
  EXPECT_THROW(write_gguf(path, small_file(), false), Error);
  EXPECT_NO_THROW(write_gguf(path, small_file(), true));
  EXPECT_EQ(read_gguf(path).tensors.size(), 2u);
}

}  // namespace
}  // namespace tt
