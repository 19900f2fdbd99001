#include "core/error.h"

#include <gtest/gtest.h>

TEST(Error, FailFormatsOneLine) {
  try {
    tt::fail("{}: missing tensor {}", "model.safetensors", "model.norm.weight");
    FAIL() << "fail() returned";
  } catch (const tt::Error& e) {
    EXPECT_STREQ(e.what(), "model.safetensors: missing tensor model.norm.weight");
  }
}
