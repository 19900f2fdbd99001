// Reading parquet files row by row as JSON objects, the way JSON Lines datasets are read: the footer
// (Thrift compact metadata), row groups and pages (v1 and v2), the PLAIN / RLE / bit-packed /
// dictionary / DELTA_* / BYTE_STREAM_SPLIT encodings, snappy, gzip and zstd, and nested columns
// (lists, structs, maps; e.g. messages: list<struct<role, content>>) through their repetition and
// definition levels. Only the requested top-level columns are read, one page per column at a time,
// so memory stays bounded whatever the file size. Errors are one line naming the file and the fault.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt {

using ParquetRowVisitor = std::function<void(int64_t row, const nlohmann::json& object)>;

class ParquetFile {
 public:
  explicit ParquetFile(const std::string& path);  // opens the file and reads its footer
  ~ParquetFile();
  ParquetFile(const ParquetFile&) = delete;
  ParquetFile& operator=(const ParquetFile&) = delete;

  int64_t num_rows() const;
  size_t num_row_groups() const;
  std::vector<std::string> column_names() const;  // the top-level fields

  // Calls visit(n, object) for every row (n counts from 1) with the top-level `columns` as keys
  // (all when empty; an unknown name throws). Nulls are JSON null, lists arrays, structs objects.
  void read_rows(const std::vector<std::string>& columns, const ParquetRowVisitor& visit) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

bool is_parquet_path(const std::string& path);  // ends with ".parquet"

}  // namespace tt
