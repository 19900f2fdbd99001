// The parquet reader: the footer (Thrift compact metadata), then every row of every column through
// the page decoders (dictionaries, RLE/bit-packed levels, codecs), as prepare and eval --data read it.
#include <cstdint>

#include "core/error.h"
#include "fuzz/fuzz_input.h"
#include "io/parquet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tt::fuzz::write_input(data, size, "data.parquet");
  try {
    tt::ParquetFile file(path);
    // The first 2^16 rows: a valid file of millions of run-length-encoded rows is read at the reader's
    // speed (Parquet.LargeFileStreamsInBoundedMemoryAtSpeed), too slowly for a fuzzer's unit.
    file.read_rows({}, [&](int64_t row, const nlohmann::json&) {
      if (row >= (1 << 16)) tt::fail("enough rows");
    });
  } catch (const tt::Error&) {
  }
  return 0;
}
