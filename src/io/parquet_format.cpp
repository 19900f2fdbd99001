#include "io/parquet_format.h"

#include "core/error.h"
#include "io/thrift_compact.h"

namespace tt::parquet {

namespace {

using T = ThriftReader;

// logicalType is a union struct: STRING = 1, MAP = 2, LIST = 3, ENUM = 4, JSON = 12 (field ids)
ValueKind read_logical_type(T& r) {
  ValueKind kind = ValueKind::kOther;
  r.begin_struct();
  for (auto f = r.next_field(); f.type != T::kStop; f = r.next_field()) {
    if (f.id == 1 || f.id == 4 || f.id == 12) kind = ValueKind::kString;
    else if (f.id == 2) kind = ValueKind::kMap;
    else if (f.id == 3) kind = ValueKind::kList;
    r.skip(f.type);
  }
  r.end_struct();
  return kind;
}

// converted_type: UTF8 = 0, MAP = 1, MAP_KEY_VALUE = 2, LIST = 3, ENUM = 4, JSON = 19
ValueKind converted_kind(int32_t converted) {
  switch (converted) {
    case 0: case 4: case 19: return ValueKind::kString;
    case 1: return ValueKind::kMap;
    case 3: return ValueKind::kList;
    default: return ValueKind::kOther;
  }
}

SchemaElement read_schema_element(T& r) {
  SchemaElement e;
  ValueKind logical = ValueKind::kOther, converted = ValueKind::kOther;
  r.begin_struct();
  for (auto f = r.next_field(); f.type != T::kStop; f = r.next_field()) {
    switch (f.id) {
      case 1: e.type = r.read_i32(); break;
      case 2: e.type_length = r.read_i32(); break;
      case 3: e.repetition = static_cast<Repetition>(r.read_i32()); break;
      case 4: e.name = std::string(r.read_binary()); break;
      case 5: e.num_children = r.read_i32(); break;
      case 6: converted = converted_kind(r.read_i32()); break;
      case 10: logical = read_logical_type(r); break;
      default: r.skip(f.type);
    }
  }
  r.end_struct();
  e.kind = logical != ValueKind::kOther ? logical : converted;
  return e;
}

ColumnChunk read_column_metadata(T& r) {
  ColumnChunk c;
  r.begin_struct();
  for (auto f = r.next_field(); f.type != T::kStop; f = r.next_field()) {
    switch (f.id) {
      case 3: {
        uint8_t element;
        uint32_t n = r.read_list_header(&element);
        for (uint32_t i = 0; i < n; ++i) c.path.emplace_back(r.read_binary());
        break;
      }
      case 4: c.codec = static_cast<Codec>(r.read_i32()); break;
      case 5: c.num_values = r.read_i64(); break;
      case 7: c.total_compressed_size = r.read_i64(); break;
      case 9: c.data_page_offset = r.read_i64(); break;
      case 11: c.dictionary_page_offset = r.read_i64(); break;
      default: r.skip(f.type);
    }
  }
  r.end_struct();
  return c;
}

ColumnChunk read_column_chunk(T& r, const std::string& what) {
  ColumnChunk c;
  bool has_metadata = false;
  r.begin_struct();
  for (auto f = r.next_field(); f.type != T::kStop; f = r.next_field()) {
    if (f.id == 1) fail("{}: columns stored in other files are not supported", what);
    if (f.id == 3) {
      c = read_column_metadata(r);
      has_metadata = true;
    } else {
      r.skip(f.type);
    }
  }
  r.end_struct();
  if (!has_metadata) fail("{}: corrupt metadata (a column chunk without its metadata)", what);
  return c;
}

RowGroup read_row_group(T& r, const std::string& what) {
  RowGroup g;
  r.begin_struct();
  for (auto f = r.next_field(); f.type != T::kStop; f = r.next_field()) {
    if (f.id == 1) {
      uint8_t element;
      uint32_t n = r.read_list_header(&element);
      for (uint32_t i = 0; i < n; ++i) g.columns.push_back(read_column_chunk(r, what));
    } else if (f.id == 3) {
      g.num_rows = r.read_i64();
    } else {
      r.skip(f.type);
    }
  }
  r.end_struct();
  return g;
}

}  // namespace

FileMetaData parse_file_metadata(const uint8_t* data, size_t size, const std::string& what) {
  T r(data, size, what);
  FileMetaData m;
  bool has_num_rows = false, has_row_groups = false;  // required fields 3 and 4 of FileMetaData
  r.begin_struct();
  for (auto f = r.next_field(); f.type != T::kStop; f = r.next_field()) {
    uint8_t element;
    if (f.id == 2) {
      uint32_t n = r.read_list_header(&element);
      for (uint32_t i = 0; i < n; ++i) m.schema.push_back(read_schema_element(r));
    } else if (f.id == 3) {
      m.num_rows = r.read_i64();
      has_num_rows = true;
    } else if (f.id == 4) {
      uint32_t n = r.read_list_header(&element);
      for (uint32_t i = 0; i < n; ++i) m.row_groups.push_back(read_row_group(r, what));
      has_row_groups = true;
    } else {
      r.skip(f.type);
    }
  }
  r.end_struct();
  if (m.schema.empty()) fail("{}: corrupt metadata (no schema)", what);
  // A damaged footer can still parse as a struct whose required fields are lost or disagree: it
  // read as a file of 0 rows, exit 0.
  if (!has_num_rows || !has_row_groups) fail("{}: corrupt metadata (no {})", what, has_num_rows ? "row groups" : "row count");
  int64_t rows = 0;
  for (const auto& g : m.row_groups) {
    if (g.num_rows < 0) fail("{}: corrupt metadata (a row group of {} rows)", what, g.num_rows);
    rows += g.num_rows;
  }
  if (rows != m.num_rows)
    fail("{}: corrupt metadata ({} rows in the footer, {} in its row groups)", what, m.num_rows, rows);
  return m;
}

PageHeader parse_page_header(const uint8_t* data, size_t size, const std::string& what) {
  T r(data, size, what);
  PageHeader h;
  r.begin_struct();
  for (auto f = r.next_field(); f.type != T::kStop; f = r.next_field()) {
    switch (f.id) {
      case 1: h.type = static_cast<PageType>(r.read_i32()); break;
      case 2: h.uncompressed_size = r.read_i32(); break;
      case 3: h.compressed_size = r.read_i32(); break;
      case 5: case 7: case 8: {  // data page v1, dictionary page, data page v2
        r.begin_struct();
        for (auto g = r.next_field(); g.type != T::kStop; g = r.next_field()) {
          if (g.id == 1) h.num_values = r.read_i32();
          else if (f.id == 5 && g.id == 2) h.encoding = static_cast<Encoding>(r.read_i32());
          else if (f.id == 7 && g.id == 2) h.encoding = static_cast<Encoding>(r.read_i32());
          else if (f.id == 8 && g.id == 4) h.encoding = static_cast<Encoding>(r.read_i32());
          else if (f.id == 8 && g.id == 5) h.def_levels_length = r.read_i32();
          else if (f.id == 8 && g.id == 6) h.rep_levels_length = r.read_i32();
          else if (f.id == 8 && g.id == 7) h.v2_compressed = r.read_bool(g);
          else r.skip(g.type);
        }
        r.end_struct();
        break;
      }
      default: r.skip(f.type);
    }
  }
  r.end_struct();
  h.header_size = r.consumed(data);
  if (h.compressed_size < 0 || h.uncompressed_size < 0 || h.num_values < 0 || h.def_levels_length < 0 ||
      h.rep_levels_length < 0)
    fail("{}: corrupt page header (negative size)", what);
  return h;
}

}  // namespace tt::parquet
