#include "io/parquet_decode.h"

#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <gtest/gtest.h>

#include "core/error.h"

namespace pq = tt::parquet;

namespace {

// Hands out a buffer `piece` bytes at a time (1: every byte a call of its own), as a file read in
// pieces does.
class PieceSource : public pq::ByteSource {
 public:
  PieceSource(std::string bytes, size_t piece) : bytes_(std::move(bytes)), piece_(piece) {}
  size_t read(char* out, size_t max) override {
    size_t n = std::min({max, piece_, bytes_.size() - at_});
    std::memcpy(out, bytes_.data() + at_, n);
    at_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t piece_, at_ = 0;
};

// 300 kB of text that compresses (more than the 64 KiB pieces the decoder reads at a time).
std::string sample_text() {
  std::string text;
  for (int i = 0; text.size() < 300000; ++i) text += "turn " + std::to_string(i * 7919 % 1000) + ": the answer is \\boxed{" + std::to_string(i) + "}\n";
  return text;
}

std::string compress(pq::Codec codec, const std::string& text) {
  std::string out;
  switch (codec) {
    case pq::Codec::kSnappy: snappy::Compress(text.data(), text.size(), &out); break;
    case pq::Codec::kZstd: {
      out.resize(ZSTD_compressBound(text.size()));
      out.resize(ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3));
      break;
    }
    case pq::Codec::kGzip: {
      z_stream z{};
      deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
      out.resize(deflateBound(&z, text.size()));
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
      z.avail_in = static_cast<uInt>(text.size());
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      deflate(&z, Z_FINISH);
      out.resize(z.total_out);
      deflateEnd(&z);
      break;
    }
    default: out = text;
  }
  return out;
}

std::string decompressed(pq::Codec codec, const std::string& stored, size_t size, size_t piece) {
  PieceSource source(stored, piece);
  std::string out(size, '\0');
  pq::decompress(codec, source, stored.size(), size, out.data(), "page.parquet: column 'content'");
  return out;
}

std::string error_of(pq::Codec codec, const std::string& stored, size_t size) {
  try {
    decompressed(codec, stored, size, 1000);
  } catch (const tt::Error& e) {
    return e.what();
  }
  return "";
}

const pq::Codec kCodecs[] = {pq::Codec::kUncompressed, pq::Codec::kSnappy, pq::Codec::kZstd, pq::Codec::kGzip};

}  // namespace

TEST(ParquetDecode, PagesDecompressFromSourcesReadInPiecesOfAnySize) {
  const std::string text = sample_text();
  for (pq::Codec codec : kCodecs) {
    const std::string stored = compress(codec, text);
    for (size_t piece : {size_t{1}, size_t{4093}, size_t{1} << 20})
      EXPECT_EQ(decompressed(codec, stored, text.size(), piece), text) << static_cast<int>(codec) << " in pieces of " << piece;
  }
}

TEST(ParquetDecode, CutOrMislabelledPagesAreOneLineErrors) {
  const std::string text = sample_text();
  for (pq::Codec codec : kCodecs) {
    const std::string stored = compress(codec, text);
    const std::string cut = stored.substr(0, stored.size() / 2);
    for (const std::string& message : {error_of(codec, cut, text.size()), error_of(codec, stored, text.size() + 1),
                                       error_of(codec, stored, text.size() - 1)}) {
      EXPECT_NE(message.find("page.parquet: column 'content': "), std::string::npos) << static_cast<int>(codec) << ": " << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}
