#include "io/parquet.h"

#include <filesystem>
#include <fstream>
#include <set>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "tests/test_util.h"

// Fixtures: tests/fixtures/parquet, written by DuckDB (tools/parquet/write_fixtures.mjs), with the
// rows DuckDB reads back from each file exported as JSON Lines (chat.jsonl, row_groups.jsonl).

namespace {

std::string fixture(const std::string& name) { return tt::testing::fixture_dir() + "/parquet/" + name; }

nlohmann::json manifest() { return tt::read_json_file(fixture("manifest.json")); }

std::vector<nlohmann::json> jsonl_rows(const std::string& path) {
  std::vector<nlohmann::json> rows;
  tt::read_jsonl(path, [&](int64_t, const nlohmann::json& row) { rows.push_back(row); });
  return rows;
}

std::vector<nlohmann::json> parquet_rows(const std::string& path, const std::vector<std::string>& columns = {}) {
  std::vector<nlohmann::json> rows;
  tt::ParquetFile(path).read_rows(columns, [&](int64_t n, const nlohmann::json& row) {
    EXPECT_EQ(n, static_cast<int64_t>(rows.size()) + 1);
    rows.push_back(row);
  });
  return rows;
}

// The message of the tt::Error that reading every row of `path` throws ("" when none).
std::string read_error(const std::string& path) {
  try {
    parquet_rows(path);
  } catch (const tt::Error& e) {
    return e.what();
  }
  return "";
}

std::string write_variant(const std::string& name, const std::string& content) {
  std::string path = tt::testing::make_temp_dir("parquet") + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// Thrift's compact protocol, as much as a one-column file needs (the field ids of parquet.thrift).
struct CompactWriter {
  std::string out;
  std::vector<int> last_ids{0};
  void varint(uint64_t v) {
    for (; v >= 0x80; v >>= 7) out += static_cast<char>((v & 0x7f) | 0x80);
    out += static_cast<char>(v);
  }
  void field(int id, int type) {
    const int delta = id - last_ids.back();
    if (delta > 0 && delta <= 15) {
      out += static_cast<char>((delta << 4) | type);
    } else {
      out += static_cast<char>(type);
      varint((static_cast<uint64_t>(id) << 1) ^ static_cast<uint64_t>(id >> 15));
    }
    last_ids.back() = id;
  }
  void i32(int id, int32_t v) { field(id, 5), varint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31)); }
  void i64(int id, int64_t v) { field(id, 6), varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void binary(int id, const std::string& s) { field(id, 8), varint(s.size()), out += s; }
  void begin(int id) { field(id, 12), last_ids.push_back(0); }       // a struct field
  void begin_element() { last_ids.push_back(0); }                      // a struct in a list
  void end() { out += '\0', last_ids.pop_back(); }
  void list(int id, int element_type, int size) { field(id, 9), out += static_cast<char>((size << 4) | element_type); }
};

// A parquet file of one required INT32 column "x" in one row group, whose single uncompressed PLAIN
// data page holds `values`, while its page header says `page_values` and the metadata `chunk_values`.
std::string one_column_file(const std::vector<int32_t>& values, int32_t page_values, int64_t chunk_values) {
  const std::string body(reinterpret_cast<const char*>(values.data()), 4 * values.size());
  CompactWriter page;
  page.begin_element();
  page.i32(1, 0);  // DATA_PAGE
  page.i32(2, static_cast<int32_t>(body.size()));
  page.i32(3, static_cast<int32_t>(body.size()));
  page.begin(5);
  page.i32(1, page_values), page.i32(2, 0), page.i32(3, 3), page.i32(4, 3);  // PLAIN values, RLE levels
  page.end();
  page.end();
  const std::string chunk = page.out + body;
  CompactWriter meta;
  meta.begin_element();
  meta.i32(1, 1);
  meta.list(2, 12, 2);
  meta.begin_element(), meta.binary(4, "schema"), meta.i32(5, 1), meta.end();
  meta.begin_element(), meta.i32(1, 1), meta.i32(3, 0), meta.binary(4, "x"), meta.end();  // INT32, REQUIRED
  meta.i64(3, static_cast<int64_t>(values.size()));
  meta.list(4, 12, 1);
  meta.begin_element();
  meta.list(1, 12, 1);
  meta.begin_element();
  meta.i64(2, 4);
  meta.begin(3);
  meta.i32(1, 1), meta.list(2, 5, 1), meta.varint(0), meta.list(3, 8, 1), meta.varint(1), meta.out += "x";
  meta.i32(4, 0), meta.i64(5, chunk_values), meta.i64(6, static_cast<int64_t>(chunk.size()));
  meta.i64(7, static_cast<int64_t>(chunk.size())), meta.i64(9, 4);
  meta.end();
  meta.end();
  meta.i64(2, static_cast<int64_t>(chunk.size())), meta.i64(3, static_cast<int64_t>(values.size()));
  meta.end();
  meta.end();
  const uint32_t length = static_cast<uint32_t>(meta.out.size());
  return "PAR1" + chunk + meta.out + std::string(reinterpret_cast<const char*>(&length), 4) + "PAR1";
}

}  // namespace

TEST(Parquet, EveryFixtureReadsAsTheRowsDuckDbExported) {
  const nlohmann::json files = manifest();
  for (const auto& [name, info] : files.items()) {
    SCOPED_TRACE(name);
    const std::string path = fixture(name + ".parquet");
    std::vector<nlohmann::json> expected = jsonl_rows(fixture(info["expected"].get<std::string>()));
    tt::ParquetFile file(path);
    EXPECT_EQ(file.num_rows(), static_cast<int64_t>(expected.size()));
    EXPECT_EQ(file.num_row_groups(), info["row_groups"].get<size_t>());
    std::vector<nlohmann::json> rows = parquet_rows(path);
    ASSERT_EQ(rows.size(), expected.size());
    for (size_t i = 0; i < rows.size(); ++i) ASSERT_EQ(rows[i], expected[i]) << "row " << i;
  }
}

TEST(Parquet, FixturesCoverEveryEncodingCodecAndSeveralRowGroups) {
  std::set<std::string> encodings, codecs;
  size_t most_row_groups = 0;
  const nlohmann::json files = manifest();
  for (const auto& [name, info] : files.items()) {
    for (const auto& e : info["encodings"]) encodings.insert(e.get<std::string>());
    for (const auto& c : info["codecs"]) codecs.insert(c.get<std::string>());
    most_row_groups = std::max(most_row_groups, info["row_groups"].get<size_t>());
  }
  for (const char* e : {"PLAIN", "PLAIN_DICTIONARY", "RLE_DICTIONARY", "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY",
                        "BYTE_STREAM_SPLIT"})
    EXPECT_TRUE(encodings.count(e)) << e;
  for (const char* c : {"UNCOMPRESSED", "SNAPPY", "GZIP", "ZSTD"}) EXPECT_TRUE(codecs.count(c)) << c;
  EXPECT_GE(most_row_groups, 3u);
}

TEST(Parquet, ChatMessagesAreListsOfRoleContentObjects) {
  std::vector<nlohmann::json> rows = parquet_rows(fixture("chat_v2_zstd.parquet"));
  ASSERT_GT(rows.size(), 4u);
  const nlohmann::json& messages = rows[3]["messages"];
  ASSERT_TRUE(messages.is_array());
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0], (nlohmann::json{{"role", "system"}, {"content", "row 3 turn 0: "}}));
  EXPECT_EQ(messages[1]["role"], "assistant");
  EXPECT_TRUE(rows[16]["messages"].is_null());  // a null list, unlike rows[0]'s empty one
  EXPECT_EQ(rows[0]["messages"], nlohmann::json::array());
}

TEST(Parquet, ReadsOnlyTheRequestedColumns) {
  std::vector<nlohmann::json> expected = jsonl_rows(fixture("chat.jsonl"));
  std::vector<nlohmann::json> rows = parquet_rows(fixture("chat_v1_snappy.parquet"), {"messages", "id"});
  ASSERT_EQ(rows.size(), expected.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 2u);
    EXPECT_EQ(rows[i]["messages"], expected[i]["messages"]);
    EXPECT_EQ(rows[i]["id"], expected[i]["id"]);
  }
  EXPECT_EQ(tt::ParquetFile(fixture("chat_v1_snappy.parquet")).column_names(),
            (std::vector<std::string>{"id", "messages", "source", "score", "flag", "n", "f", "tags", "grid", "meta", "attrs"}));
  try {
    parquet_rows(fixture("chat_v1_snappy.parquet"), {"prompt"});
    FAIL() << "no error for an unknown column";
  } catch (const tt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("chat_v1_snappy.parquet: no column 'prompt'"), std::string::npos) << e.what();
  }
}

TEST(Parquet, ReadJsonlReadsParquetPaths) {
  EXPECT_EQ(jsonl_rows(fixture("row_groups_v1_zstd.parquet")), jsonl_rows(fixture("row_groups.jsonl")));
}

TEST(Parquet, CorruptOrTruncatedFilesGiveOneLineErrorsNamingTheFile) {
  const std::string good = tt::read_file(fixture("chat_v1_zstd.parquet"));
  struct Case {
    std::string name, content, expected;
  };
  std::string bad_length = good;
  bad_length[bad_length.size() - 8] = '\xff', bad_length[bad_length.size() - 7] = '\xff';
  std::string bad_pages = good;
  for (size_t i = 4; i < 400; ++i) bad_pages[i] = static_cast<char>(i * 7);
  std::string bad_footer = good;
  uint32_t length;
  std::memcpy(&length, good.data() + good.size() - 8, 4);
  for (size_t i = good.size() - 8 - length; i < good.size() - 8; ++i) bad_footer[i] = '\xee';
  // One byte inserted into chat_v2_snappy's footer (found by a mutation run): the footer still parses,
  // but its row groups are lost, and it read as a file of 0 rows, exit 0.
  std::string no_row_groups = tt::read_file(fixture("chat_v2_snappy.parquet"));
  uint32_t footer_length;
  std::memcpy(&footer_length, no_row_groups.data() + no_row_groups.size() - 8, 4);
  no_row_groups.insert(9154, 1, '\xd9');
  ++footer_length;
  std::memcpy(no_row_groups.data() + no_row_groups.size() - 8, &footer_length, 4);
  const std::vector<Case> cases = {
      {"no_row_groups.parquet", no_row_groups, "corrupt metadata (200 rows in the footer, 0 in its row groups)"},
      {"empty.parquet", "", "too small"},
      {"text.parquet", "{\"messages\": []}\n{\"messages\": []}\n", "not a parquet file"},
      {"cut.parquet", good.substr(0, good.size() - 100), "truncated parquet file"},
      {"head.parquet", good.substr(0, 5000) + good.substr(good.size() - 8), "corrupt metadata"},
      {"length.parquet", bad_length, "truncated or corrupt parquet footer"},
      {"footer.parquet", bad_footer, "corrupt"},
      {"pages.parquet", bad_pages, "corrupt"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string path = write_variant(c.name, c.content);
    std::string error = read_error(path);
    EXPECT_NE(error.find(path + ": "), std::string::npos) << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

// A page header is trusted only as far as the column chunk's value count and a bound on what one page
// may hold: a page claiming a billion values (run-length levels make that cheap) asked for ~20 GB
// before any value was read (found by the CI's parquet fuzzer).
TEST(Parquet, PageValueCountsBeyondTheChunkOrTheBoundAreRefused) {
  const std::vector<int32_t> values = {7, -1, 42};
  EXPECT_EQ(parquet_rows(write_variant("good.parquet", one_column_file(values, 3, 3))),
            (std::vector<nlohmann::json>{{{"x", 7}}, {{"x", -1}}, {{"x", 42}}}));
  struct Case {
    std::string name, content, expected;
  };
  const std::vector<Case> cases = {
      {"more_than_chunk.parquet", one_column_file(values, 1000, 3), "corrupt page (1000 values, 3 left in its column chunk)"},
      {"huge_page.parquet", one_column_file(values, 1 << 30, int64_t{1} << 30), "page of 1073741824 values (this reader decodes pages of up to 16777216 values)"},
      {"negative_chunk.parquet", one_column_file(values, 3, -5), "corrupt metadata (a column chunk of -5 values)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = write_variant(c.name, c.content);
    const std::string error = read_error(path);
    EXPECT_NE(error.find(path + ": "), std::string::npos) << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
}

// The bound: a large file of chat rows (scripts/parquet-bench.sh writes 1 GB of them with
// DuckDB's default row groups and pages, and points TT_PARQUET_BENCH_FILE at it) is read with a peak
// RSS under 200 MB and at >= TT_PARQUET_BENCH_MIN_MBPS (default 200) MB of file per CPU second. The
// rows are read in a child process, so the RSS and CPU time are the reader's alone (plus this
// binary's own pages, which the child shares).
TEST(Parquet, LargeFileStreamsInBoundedMemoryAtSpeed) {
  const char* path = std::getenv("TT_PARQUET_BENCH_FILE");
  if (!path) GTEST_SKIP() << "TT_PARQUET_BENCH_FILE is not set (scripts/parquet-bench.sh sets it)";
  const double min_mbps = std::getenv("TT_PARQUET_BENCH_MIN_MBPS") ? std::atof(std::getenv("TT_PARQUET_BENCH_MIN_MBPS")) : 200.0;
  const double file_mb = static_cast<double>(std::filesystem::file_size(path)) / (1 << 20);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 0;
    try {
      size_t turns = 0;
      tt::ParquetFile(path).read_rows({}, [&](int64_t, const nlohmann::json& row) { turns += row["messages"].size(); });
      code = turns > 0 ? 0 : 2;
    } catch (const std::exception&) {
      code = 3;
    }
    _exit(code);
  }
  int status = 0;
  struct rusage usage {};
  ASSERT_EQ(wait4(child, &status, 0, &usage), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "reading " << path << " failed (2: no messages, 3: an error)";
  const double peak_rss_mb = usage.ru_maxrss / 1024.0;
  const double cpu_s = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  const double mbps = file_mb / cpu_s;
  std::printf("parquet bench: %.1f MB file, %.2f CPU s, %.1f MB/s, peak RSS %.1f MB\n", file_mb, cpu_s, mbps, peak_rss_mb);
  EXPECT_LT(peak_rss_mb, 200.0);
  EXPECT_GE(mbps, min_mbps);
}
