// Parquet's file metadata (the footer) and page headers, as far as a row reader needs them, parsed
// from Thrift compact bytes. Field numbers follow parquet-format's parquet.thrift.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tt::parquet {

enum class PhysicalType : int32_t {
  kBoolean = 0, kInt32 = 1, kInt64 = 2, kInt96 = 3, kFloat = 4, kDouble = 5, kByteArray = 6, kFixedLenByteArray = 7,
};
enum class Repetition : int32_t { kRequired = 0, kOptional = 1, kRepeated = 2 };
enum class Codec : int32_t { kUncompressed = 0, kSnappy = 1, kGzip = 2, kLzo = 3, kBrotli = 4, kLz4 = 5, kZstd = 6, kLz4Raw = 7 };
enum class Encoding : int32_t {
  kPlain = 0, kPlainDictionary = 2, kRle = 3, kBitPacked = 4, kDeltaBinaryPacked = 5, kDeltaLengthByteArray = 6,
  kDeltaByteArray = 7, kRleDictionary = 8, kByteStreamSplit = 9,
};
enum class PageType : int32_t { kDataPage = 0, kIndexPage = 1, kDictionaryPage = 2, kDataPageV2 = 3 };

// A converted_type / logicalType reduced to what changes how a value reads as JSON.
enum class ValueKind { kOther, kString, kList, kMap };

struct SchemaElement {
  std::string name;
  int32_t type = -1;  // a PhysicalType for leaves, -1 for groups
  int32_t type_length = 0;
  Repetition repetition = Repetition::kRequired;
  int32_t num_children = 0;
  ValueKind kind = ValueKind::kOther;
};

struct ColumnChunk {
  std::vector<std::string> path;
  Codec codec = Codec::kUncompressed;
  int64_t num_values = 0;
  int64_t total_compressed_size = 0;
  int64_t data_page_offset = 0;
  int64_t dictionary_page_offset = -1;
  int64_t start() const { return dictionary_page_offset > 0 ? std::min(dictionary_page_offset, data_page_offset) : data_page_offset; }
};

struct RowGroup {
  std::vector<ColumnChunk> columns;
  int64_t num_rows = 0;
};

struct FileMetaData {
  std::vector<SchemaElement> schema;  // depth-first, schema[0] is the root
  int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
};

struct PageHeader {
  PageType type = PageType::kDataPage;
  int32_t uncompressed_size = 0;
  int32_t compressed_size = 0;
  int32_t num_values = 0;
  Encoding encoding = Encoding::kPlain;
  // data page v2 only
  int32_t def_levels_length = 0;
  int32_t rep_levels_length = 0;
  bool v2_compressed = true;
  size_t header_size = 0;  // bytes the header itself took
};

// `what` names the file in errors.
FileMetaData parse_file_metadata(const uint8_t* data, size_t size, const std::string& what);
PageHeader parse_page_header(const uint8_t* data, size_t size, const std::string& what);

}  // namespace tt::parquet
