#include "io/parquet.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/parquet_decode.h"
#include "io/parquet_format.h"

namespace tt {

namespace pq = parquet;

namespace {

constexpr size_t kFooterTail = 8;  // 4-byte metadata length + "PAR1"
// The most values (levels, nulls included) one page may hold: a page is decoded whole, at up to ~30
// bytes of levels, offsets and indices per value, and one page of each column read is held at once.
// Writers cut pages at ~1 MB or 20,000 rows (Arrow, parquet-mr, DuckDB), far below this; a page header
// claiming billions of run-length-encoded values asked for tens of GB (a fuzzer's finding).
constexpr int64_t kMaxPageValues = int64_t{1} << 24;          // of one column's page
constexpr int64_t kMaxValuesHeldAtOnce = int64_t{1} << 26;    // of all columns' pages together
int64_t max_page_values(size_t columns_read) {
  return std::clamp<int64_t>(kMaxValuesHeldAtOnce / static_cast<int64_t>(std::max<size_t>(columns_read, 1)), 1 << 16, kMaxPageValues);
}

class Fd {
 public:
  explicit Fd(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) fail("{}: cannot open ({})", path, std::strerror(errno));
  }
  ~Fd() { ::close(fd_); }
  // Reads exactly n bytes at offset, or throws "truncated".
  void read_at(int64_t offset, size_t n, void* out, const std::string& path) const {
    size_t done = 0;
    while (done < n) {
      ssize_t got = ::pread(fd_, static_cast<char*>(out) + done, n - done, offset + static_cast<off_t>(done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) fail("{}: read failed ({})", path, std::strerror(errno));
      if (got == 0) fail("{}: truncated file (data at offset {} lies past the end)", path, offset + done);
      done += static_cast<size_t>(got);
    }
  }
  int64_t size(const std::string& path) const {
    struct stat st;
    if (::fstat(fd_, &st) != 0) fail("{}: cannot stat ({})", path, std::strerror(errno));
    return st.st_size;
  }

 private:
  int fd_;
};

// A byte range of the file, read a piece at a time (pages are decompressed straight from the file).
class FdSource : public pq::ByteSource {
 public:
  FdSource(const Fd& fd, const std::string& path, int64_t offset, int64_t size)
      : fd_(fd), path_(path), offset_(offset), end_(offset + size) {}
  size_t read(char* out, size_t max) override {
    const size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(max), end_ - offset_));
    if (n == 0) return 0;
    fd_.read_at(offset_, n, out, path_);
    offset_ += static_cast<int64_t>(n);
    return n;
  }

 private:
  const Fd& fd_;
  const std::string& path_;
  int64_t offset_, end_;
};

// A schema node with what record assembly needs: the definition level at which it is present, the
// repetition level of its nearest repeated ancestor-or-self, and the leaves (column indices) under it.
struct Node {
  pq::SchemaElement element;
  std::vector<int> children;
  int def_level = 0;
  int rep_level = 0;
  int leaf_begin = 0, leaf_end = 0;
  bool is_leaf() const { return element.num_children == 0; }
  bool repeated() const { return element.repetition == pq::Repetition::kRepeated; }
  bool optional() const { return element.repetition == pq::Repetition::kOptional; }
};

struct Range {
  size_t begin = 0, end = 0;
};

// One column chunk read page by page: its levels and values, handed out one row at a time.
class ColumnCursor {
 public:
  ColumnCursor(const Fd& fd, const std::string& path, const Node& leaf, std::string what, int64_t max_page_values)
      : fd_(fd), path_(path), what_(std::move(what)), max_def_(leaf.def_level), max_rep_(leaf.rep_level),
        max_page_values_(max_page_values) {
    type_.physical = static_cast<pq::PhysicalType>(leaf.element.type);
    type_.type_length = leaf.element.type_length;
  }

  void start_chunk(const pq::ColumnChunk& chunk, int64_t file_size) {
    offset_ = chunk.start();
    end_ = offset_ + chunk.total_compressed_size;
    if (offset_ < 4 || chunk.total_compressed_size < 0 || end_ > file_size)
      fail("{}: corrupt metadata (column chunk at bytes {}..{} of a {}-byte file)", what_, offset_, end_, file_size);
    if (chunk.num_values < 0) fail("{}: corrupt metadata (a column chunk of {} values)", what_, chunk.num_values);
    values_left_ = chunk.num_values;
    codec_ = chunk.codec;
    has_dictionary_ = false;
    dictionary_.clear();
    reps_.clear(), defs_.clear(), value_at_.clear(), values_.clear();
    row_end_ = 0;
  }

  // The entries [begin, end) of the next row.
  Range next_row() {
    size_t begin = row_end_;
    while (begin >= defs_.size()) {
      if (!load_page(&begin)) fail("{}: column ends before the row group's last row", what_);
    }
    size_t i = begin + 1;
    for (;;) {
      while (i < reps_.size() && reps_[i] != 0) ++i;
      if (i < defs_.size()) break;
      const size_t before = begin;
      const bool more = load_page(&begin);
      i -= before - begin;
      if (!more) break;
    }
    row_end_ = i;
    return {begin, i};
  }

  int def(size_t entry) const { return defs_[entry]; }
  int rep(size_t entry) const { return reps_.empty() ? 0 : reps_[entry]; }

  nlohmann::json value(size_t entry, pq::ValueKind kind) const {
    int64_t v = value_at_[entry];
    if (v < 0 || static_cast<size_t>(v) >= values_.size())
      fail("{}: corrupt column (entry {} has def {} and value {} of {})", what_, entry, defs_[entry], v, values_.size());
    switch (type_.physical) {
      case pq::PhysicalType::kBoolean: return values_.ints[v] != 0;
      case pq::PhysicalType::kInt32:
      case pq::PhysicalType::kInt64: return values_.ints[v];
      case pq::PhysicalType::kFloat:
      case pq::PhysicalType::kDouble: return values_.reals[v];
      default:
        (void)kind;
        return std::string(values_.strings[v]);
    }
  }

 private:
  // Drops entries before *keep (rows already handed out), then appends the next data page's entries;
  // false at the end of the chunk. *keep is moved to the same entry's new index.
  bool load_page(size_t* keep) {
    drop_before(*keep);
    *keep = 0;
    keep_strings_past_their_page();
    while (offset_ < end_) {
      pq::PageHeader header = read_page_header();
      const int64_t body = offset_ + static_cast<int64_t>(header.header_size);
      if (header.compressed_size < 0 || header.uncompressed_size < 0 || body + header.compressed_size > end_)
        fail("{}: truncated or corrupt page (page of {} bytes runs past its column chunk)", what_, header.compressed_size);
      offset_ = body + header.compressed_size;
      const bool data_page = header.type == pq::PageType::kDataPage || header.type == pq::PageType::kDataPageV2;
      if ((data_page || header.type == pq::PageType::kDictionaryPage) && header.num_values > max_page_values_)
        fail("{}: page of {} values (this reader decodes pages of up to {} values{})", what_, header.num_values,
             max_page_values_, max_page_values_ < kMaxPageValues ? " when reading this many columns" : "");
      if (data_page && header.num_values > values_left_)
        fail("{}: corrupt page ({} values, {} left in its column chunk)", what_, header.num_values, values_left_);
      if (header.type == pq::PageType::kDictionaryPage) {
        read_dictionary(header, body);
      } else if (data_page) {
        values_left_ -= header.num_values;
        read_data_page(header, body);
        return true;
      }  // index pages: skipped
    }
    return false;
  }

  pq::PageHeader read_page_header() {
    size_t window = static_cast<size_t>(std::min<int64_t>(end_ - offset_, 1 << 14));
    for (;;) {
      header_buf_.resize(window);
      fd_.read_at(offset_, window, header_buf_.data(), path_);
      try {
        return pq::parse_page_header(reinterpret_cast<const uint8_t*>(header_buf_.data()), window, what_);
      } catch (const Error&) {
        if (static_cast<int64_t>(window) >= end_ - offset_) throw;  // really cut short
        window = static_cast<size_t>(std::min<int64_t>(end_ - offset_, static_cast<int64_t>(window) * 8));
      }
    }
  }

  // The `size` stored bytes at `offset`, decompressed (when `compressed`) into `uncompressed` bytes of *out.
  const uint8_t* read_body(int64_t offset, size_t size, size_t uncompressed, bool compressed, std::string* out) {
    if (out->capacity() < uncompressed) std::string().swap(*out);  // a bigger page: no copy of the old one into a doubled buffer
    out->resize(uncompressed);
    FdSource source(fd_, path_, offset, static_cast<int64_t>(size));
    pq::decompress(compressed ? codec_ : pq::Codec::kUncompressed, source, size, uncompressed, out->data(), what_);
    return reinterpret_cast<const uint8_t*>(out->data());
  }

  void read_dictionary(const pq::PageHeader& header, int64_t body) {
    dictionary_.clear();
    if (header.encoding != pq::Encoding::kPlain && header.encoding != pq::Encoding::kPlainDictionary)
      fail("{}: dictionary page encoding {} is not supported", what_, static_cast<int>(header.encoding));
    const uint8_t* p = read_body(body, header.compressed_size, header.uncompressed_size, true, &dictionary_page_);
    pq::decode_values(pq::Encoding::kPlain, type_, p, header.uncompressed_size, header.num_values, nullptr, &dictionary_, what_);
    has_dictionary_ = true;
  }

  // Levels of `n` entries: RLE hybrid of the level's bit width.
  void read_levels(const uint8_t* p, size_t size, int max_level, size_t n, std::vector<uint32_t>* out) {
    size_t at = out->size();
    out->resize(at + n);
    pq::decode_rle_hybrid(p, size, pq::bit_width_of(static_cast<uint32_t>(max_level)), n, out->data() + at, what_);
    for (size_t i = at; i < out->size(); ++i)
      if ((*out)[i] > static_cast<uint32_t>(max_level)) fail("{}: corrupt page (level {} above the maximum {})", what_, (*out)[i], max_level);
  }

  // v1: [rep levels: u32 length + RLE][def levels: u32 length + RLE][values], all compressed together.
  void read_data_page(const pq::PageHeader& h, int64_t body) {
    const size_t n = static_cast<size_t>(h.num_values);
    const uint8_t* values;
    size_t values_size;
    if (h.type == pq::PageType::kDataPage) {
      const uint8_t* p = read_body(body, h.compressed_size, h.uncompressed_size, true, &page_);
      const uint8_t* end = p + h.uncompressed_size;
      auto levels = [&](int max_level, std::vector<uint32_t>* out) {
        if (end - p < 4) fail("{}: truncated page (levels)", what_);
        uint32_t length;
        std::memcpy(&length, p, 4);
        if (length > static_cast<size_t>(end - p - 4)) fail("{}: truncated page (levels)", what_);
        read_levels(p + 4, length, max_level, n, out);
        p += 4 + length;
      };
      if (max_rep_ > 0) levels(max_rep_, &reps_);
      if (max_def_ > 0) levels(max_def_, &defs_);
      values = p;
      values_size = static_cast<size_t>(end - p);
    } else {  // v2: [rep levels][def levels] stored uncompressed, then the values, compressed or not
      const size_t levels_size = static_cast<size_t>(h.rep_levels_length) + h.def_levels_length;
      if (h.rep_levels_length < 0 || h.def_levels_length < 0 || levels_size > static_cast<size_t>(h.compressed_size) ||
          levels_size > static_cast<size_t>(h.uncompressed_size))
        fail("{}: corrupt page (level lengths exceed the page)", what_);
      const uint8_t* p = read_body(body, levels_size, levels_size, false, &levels_);
      if (max_rep_ > 0) read_levels(p, h.rep_levels_length, max_rep_, n, &reps_);
      if (max_def_ > 0) read_levels(p + h.rep_levels_length, h.def_levels_length, max_def_, n, &defs_);
      values_size = h.uncompressed_size - levels_size;
      values = read_body(body + static_cast<int64_t>(levels_size), h.compressed_size - levels_size, values_size,
                         h.v2_compressed, &page_);
    }
    if (max_def_ == 0) defs_.resize(defs_.size() + n, 0);
    if (max_rep_ == 0 && !reps_.empty()) reps_.resize(reps_.size() + n, 0);
    size_t present = 0;
    const size_t first = defs_.size() - n;
    value_at_.resize(defs_.size());
    for (size_t i = first; i < defs_.size(); ++i)
      value_at_[i] = defs_[i] == static_cast<uint32_t>(max_def_) ? static_cast<int64_t>(values_.size() + present++) : -1;
    const size_t before = values_.size();
    pq::decode_values(h.encoding, type_, values, values_size, present, has_dictionary_ ? &dictionary_ : nullptr,
                      &values_, what_);
    if (values_.size() != before + present) fail("{}: corrupt page ({} values decoded, {} expected)", what_, values_.size() - before, present);
  }

  void drop_before(size_t keep) {
    if (keep == 0) return;
    size_t first_value = values_.size();
    for (size_t i = keep; i < value_at_.size(); ++i)
      if (value_at_[i] >= 0) {
        first_value = static_cast<size_t>(value_at_[i]);
        break;
      }
    defs_.erase(defs_.begin(), defs_.begin() + keep);
    if (!reps_.empty()) reps_.erase(reps_.begin(), reps_.begin() + keep);
    value_at_.erase(value_at_.begin(), value_at_.begin() + keep);
    for (auto& v : value_at_)
      if (v >= 0) v -= static_cast<int64_t>(first_value);
    drop_values(first_value);
  }

  void drop_values(size_t n) {
    if (n == 0) return;
    if (!values_.strings.empty()) {
      values_.strings.erase(values_.strings.begin(), values_.strings.begin() + static_cast<ptrdiff_t>(n));
    } else if (!values_.reals.empty()) {
      values_.reals.erase(values_.reals.begin(), values_.reals.begin() + static_cast<ptrdiff_t>(n));
    } else {
      values_.ints.erase(values_.ints.begin(), values_.ints.begin() + static_cast<ptrdiff_t>(n));
    }
  }

  // The strings of a row that continues on the next page are views into this page (or the
  // dictionary): they are copied before the page buffer is reused. Only that row's are left.
  void keep_strings_past_their_page() {
    pq::Values kept;
    for (std::string_view s : values_.strings) kept.append_copy(s.data(), s.size());
    values_.strings.swap(kept.strings);
    values_.owned.swap(kept.owned);
  }

  const Fd& fd_;
  const std::string& path_;
  std::string what_;
  int max_def_, max_rep_;
  int64_t max_page_values_;
  pq::ColumnType type_;
  pq::Codec codec_ = pq::Codec::kUncompressed;
  int64_t offset_ = 0, end_ = 0;
  int64_t values_left_ = 0;  // of the column chunk's num_values, in pages not yet read
  std::string header_buf_, page_, levels_, dictionary_page_;  // page_: the current data page, decompressed
  bool has_dictionary_ = false;
  pq::Values dictionary_, values_;
  std::vector<uint32_t> reps_, defs_;
  std::vector<int64_t> value_at_;
  size_t row_end_ = 0;
};

}  // namespace

struct ParquetFile::Impl {
  std::string path;
  Fd fd;
  int64_t file_size = 0;
  pq::FileMetaData meta;
  std::vector<Node> nodes;  // nodes[0] is the root
  std::vector<int> leaves;  // node index of each column, in column order

  explicit Impl(const std::string& p) : path(p), fd(p) {
    read_footer();
    build_tree();
  }

  void read_footer() {
    file_size = fd.size(path);
    if (file_size < 12) fail("{}: not a parquet file ({} bytes, too small)", path, file_size);
    char head[4], tail[kFooterTail];
    fd.read_at(0, 4, head, path);
    fd.read_at(file_size - kFooterTail, kFooterTail, tail, path);
    if (std::memcmp(head, "PAR1", 4) != 0) fail("{}: not a parquet file (no PAR1 magic at the start)", path);
    if (std::memcmp(tail + 4, "PAR1", 4) != 0) {
      if (std::memcmp(tail + 4, "PARE", 4) == 0) fail("{}: encrypted parquet files are not supported", path);
      fail("{}: truncated parquet file (no PAR1 magic at the end)", path);
    }
    uint32_t length;
    std::memcpy(&length, tail, 4);
    if (static_cast<int64_t>(length) > file_size - 12)
      fail("{}: truncated or corrupt parquet footer (metadata of {} bytes in a {}-byte file)", path, length, file_size);
    std::string footer(length, '\0');
    fd.read_at(file_size - kFooterTail - length, length, footer.data(), path);
    meta = pq::parse_file_metadata(reinterpret_cast<const uint8_t*>(footer.data()), footer.size(), path);
  }

  void build_tree() {
    size_t next = 0;
    add_node(&next, -1);
    if (next != meta.schema.size()) fail("{}: corrupt schema ({} elements, the tree uses {})", path, meta.schema.size(), next);
    for (const auto& group : meta.row_groups)
      if (group.columns.size() != leaves.size())
        fail("{}: corrupt metadata (a row group with {} columns, the schema has {})", path, group.columns.size(), leaves.size());
  }

  int add_node(size_t* next, int parent) {
    if (*next >= meta.schema.size()) fail("{}: corrupt schema (children missing)", path);
    const int index = static_cast<int>(nodes.size());
    Node node;
    node.element = meta.schema[(*next)++];
    if (node.element.num_children < 0) fail("{}: corrupt schema (negative child count)", path);
    if (parent >= 0) {
      node.def_level = nodes[parent].def_level + (node.element.repetition != pq::Repetition::kRequired);
      node.rep_level = nodes[parent].rep_level + node.repeated();
    }
    if (node.def_level > 100) fail("{}: corrupt schema (nested too deep)", path);
    node.leaf_begin = static_cast<int>(leaves.size());
    nodes.push_back(node);
    if (node.element.num_children == 0) {
      if (parent < 0) fail("{}: corrupt schema (no columns)", path);
      if (node.element.type < 0 || node.element.type > 7) fail("{}: corrupt schema (column '{}' has no type)", path, node.element.name);
      leaves.push_back(index);
    }
    for (int c = 0; c < node.element.num_children; ++c) {
      int child = add_node(next, index);
      nodes[index].children.push_back(child);
    }
    nodes[index].leaf_end = static_cast<int>(leaves.size());
    return index;
  }

  int top_level(const std::string& name) const {
    for (int child : nodes[0].children)
      if (nodes[child].element.name == name) return child;
    fail("{}: no column '{}'", path, name);
  }
};

namespace {

// Record assembly: turns the entries of one row (per leaf, a range of levels and values) into JSON.
class Assembler {
 public:
  Assembler(const std::string& path, const std::vector<Node>& nodes, const std::vector<ColumnCursor*>& cursors)
      : path_(path), nodes_(nodes), cursors_(cursors) {}

  // ranges: one per leaf of `node`, in leaf order.
  nlohmann::json build(const Node& node, std::span<const Range> ranges, bool as_element = false) const {
    if (node.repeated() && !as_element) return build_repeated(node, ranges, false);
    const ColumnCursor& first = *cursors_[node.leaf_begin];
    const int def = first.def(ranges[0].begin);
    if (def < node.def_level) return nullptr;  // an optional node (or one under it) that is absent
    if (node.is_leaf()) return first.value(ranges[0].begin, node.element.kind);
    if (node.children.size() == 1 && nodes_[node.children[0]].repeated() &&
        (node.element.kind == pq::ValueKind::kList || node.element.kind == pq::ValueKind::kMap)) {
      const Node& repeated = nodes_[node.children[0]];
      nlohmann::json items = build_repeated(repeated, ranges, node.element.kind == pq::ValueKind::kList);
      return node.element.kind == pq::ValueKind::kMap ? as_map(items) : items;
    }
    nlohmann::json object = nlohmann::json::object();
    for (int c : node.children) {
      const Node& child = nodes_[c];
      object[child.element.name] = build(child, child_ranges(node, child, ranges));
    }
    return object;
  }

 private:
  std::span<const Range> child_ranges(const Node& node, const Node& child, std::span<const Range> ranges) const {
    return ranges.subspan(child.leaf_begin - node.leaf_begin, child.leaf_end - child.leaf_begin);
  }

  // A repeated node's values as an array: elements start at entries whose repetition level is the
  // node's own. In a LIST, a repeated group of one child is the 3-level wrapper: elements are its child.
  nlohmann::json build_repeated(const Node& repeated, std::span<const Range> ranges, bool in_list) const {
    nlohmann::json array = nlohmann::json::array();
    const ColumnCursor& first = *cursors_[repeated.leaf_begin];
    if (first.def(ranges[0].begin) < repeated.def_level) return array;  // empty (or the parent is null)
    const bool wrapper = in_list && !repeated.is_leaf() && repeated.children.size() == 1 &&
                         repeated.element.name != "array" && !repeated.element.name.ends_with("_tuple");
    const Node& element = wrapper ? nodes_[repeated.children[0]] : repeated;
    std::vector<Range> next(ranges.begin(), ranges.end());
    std::vector<Range> current(ranges.size());
    for (;;) {
      bool any = false;
      for (size_t l = 0; l < ranges.size(); ++l) {
        const ColumnCursor& cursor = *cursors_[repeated.leaf_begin + l];
        Range& r = next[l];
        if (r.begin >= r.end) continue;
        any = true;
        size_t e = r.begin + 1;
        while (e < r.end && cursor.rep(e) > repeated.rep_level) ++e;
        current[l] = {r.begin, e};
        r.begin = e;
      }
      if (!any) break;
      for (const Range& r : current)
        if (r.begin >= r.end) fail("{}: corrupt nested column '{}' (its leaves disagree on the element count)", path_, repeated.element.name);
      array.push_back(wrapper ? build(element, current) : build(element, current, true));
      for (auto& r : current) r = {};
    }
    return array;
  }

  static nlohmann::json as_map(const nlohmann::json& items) {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& kv : items) {
      if (!kv.is_object() || kv.size() != 2 || !kv.begin()->is_string()) return items;  // keep as a list of pairs
      object[kv.begin()->get<std::string>()] = (++kv.begin()).value();
    }
    return object;
  }

  const std::string& path_;
  const std::vector<Node>& nodes_;
  const std::vector<ColumnCursor*>& cursors_;
};

}  // namespace

ParquetFile::ParquetFile(const std::string& path) : impl_(std::make_unique<Impl>(path)) {}
ParquetFile::~ParquetFile() = default;

int64_t ParquetFile::num_rows() const { return impl_->meta.num_rows; }
size_t ParquetFile::num_row_groups() const { return impl_->meta.row_groups.size(); }

std::vector<std::string> ParquetFile::column_names() const {
  std::vector<std::string> names;
  for (int child : impl_->nodes[0].children) names.push_back(impl_->nodes[child].element.name);
  return names;
}

void ParquetFile::read_rows(const std::vector<std::string>& columns, const ParquetRowVisitor& visit) const {
  const Impl& m = *impl_;
  std::vector<int> fields;
  if (columns.empty()) fields = m.nodes[0].children;
  for (const auto& name : columns) fields.push_back(m.top_level(name));
  // one cursor per leaf under the chosen fields; null for the others
  std::vector<std::unique_ptr<ColumnCursor>> owned(m.leaves.size());
  std::vector<ColumnCursor*> cursors(m.leaves.size(), nullptr);
  size_t columns_read = 0;
  for (int f : fields) columns_read += static_cast<size_t>(m.nodes[f].leaf_end - m.nodes[f].leaf_begin);
  const int64_t page_values = max_page_values(columns_read);
  for (int f : fields)
    for (int l = m.nodes[f].leaf_begin; l < m.nodes[f].leaf_end; ++l) {
      const Node& leaf = m.nodes[m.leaves[l]];
      std::string what = fmt::format("{}: column '{}'", m.path, leaf.element.name);
      owned[l] = std::make_unique<ColumnCursor>(m.fd, m.path, leaf, what, page_values);
      cursors[l] = owned[l].get();
    }
  Assembler assembler(m.path, m.nodes, cursors);
  std::vector<Range> ranges(m.leaves.size());
  int64_t row_number = 0;
  for (const auto& group : m.meta.row_groups) {
    for (size_t l = 0; l < cursors.size(); ++l)
      if (cursors[l]) cursors[l]->start_chunk(group.columns[l], m.file_size);
    for (int64_t r = 0; r < group.num_rows; ++r) {
      for (size_t l = 0; l < cursors.size(); ++l)
        if (cursors[l]) ranges[l] = cursors[l]->next_row();
      nlohmann::json row = nlohmann::json::object();
      for (int f : fields) {
        const Node& field = m.nodes[f];
        row[field.element.name] = assembler.build(field, std::span<const Range>(ranges).subspan(field.leaf_begin, field.leaf_end - field.leaf_begin));
      }
      visit(++row_number, row);
    }
  }
}

bool is_parquet_path(const std::string& path) { return path.ends_with(".parquet"); }

}  // namespace tt
