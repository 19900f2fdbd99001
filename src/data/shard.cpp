#include "data/shard.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/content_hash.h"
#include "io/file_internal.h"

namespace tt {

static_assert(std::endian::native == std::endian::little, "token shards are little-endian");

namespace {

constexpr char kMagic[8] = {'T', 'T', 'S', 'H', 'A', 'R', 'D', '\0'};
constexpr uint64_t kAlign = 64;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t header_size;
  uint64_t num_examples;
  uint64_t total_tokens;
  uint64_t num_sources;
  uint64_t file_size;
  uint64_t tokens_offset;
  uint64_t index_offset;
  uint64_t mask_offset;
  uint64_t meta_offset;
  uint64_t meta_size;
  uint64_t checksum;       // header (data_checksum included), index and metadata
  uint64_t data_checksum;  // the token and mask sections (version 2)
  uint8_t reserved[24];
};
static_assert(sizeof(Header) == 128);

struct RawIndexEntry {
  uint64_t first_token;
  uint32_t length;
  uint32_t source;
};
static_assert(sizeof(RawIndexEntry) == 16);

uint64_t align_up(uint64_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

// The bulk token and mask bytes: a flipped byte there is found on open, not trained on.
uint64_t data_checksum(const void* tokens, size_t token_bytes, const void* mask, size_t mask_bytes) {
  uint64_t h = hash_bytes(tokens, token_bytes, 0x7474736861726432ull);
  return hash_bytes(mask, mask_bytes, h);
}

// The header (holding data_checksum), index and metadata.
uint64_t header_checksum(Header header, const void* index, size_t index_bytes, const void* meta, size_t meta_bytes) {
  header.checksum = 0;
  uint64_t h = hash_bytes(&header, sizeof header, 0x7474736861726431ull);
  h = hash_bytes(index, index_bytes, h);
  return hash_bytes(meta, meta_bytes, h);
}

}  // namespace

struct TokenShard::Mapping {
  void* data = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (data) ::munmap(data, size);
  }
};

TokenShard TokenShard::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open token shard ({})", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path);
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < sizeof(Header)) {
    ::close(fd);
    fail("{}: not a token shard or truncated ({} bytes; the header alone is {})", path, file_size, sizeof(Header));
  }
  auto mapping = std::make_shared<Mapping>();
  void* data = ::mmap(nullptr, file_size, PROT_READ, MAP_SHARED, fd, 0);
  int saved_errno = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (data == MAP_FAILED) fail("{}: cannot map token shard ({})", path, std::strerror(saved_errno));
  mapping->data = data;
  mapping->size = file_size;
  const auto* bytes = static_cast<const uint8_t*>(data);

  Header h;
  std::memcpy(&h, bytes, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) fail("{}: not a tinythink token shard (bad magic)", path);
  if (h.version != kShardVersion)
    fail("{}: token shard version {} (this build reads version {}); re-run prepare", path, h.version, kShardVersion);
  if (h.header_size != sizeof(Header)) fail("{}: corrupt token shard (header size {})", path, h.header_size);
  if (h.file_size != file_size)
    fail("{}: truncated or corrupt token shard (header says {} bytes, file has {})", path, h.file_size, file_size);

  // Each section must lie inside the file, after the header, without overflow. Sizes are checked
  // against the file size before multiplying so that a corrupt count cannot wrap around.
  auto section = [&](const char* what, uint64_t offset, uint64_t count, uint64_t elem, uint64_t alignment) {
    if (offset < sizeof(Header) || offset > file_size || offset % alignment != 0 || count > (file_size - offset) / elem)
      fail("{}: corrupt token shard ({} section out of bounds)", path, what);
  };
  section("token", h.tokens_offset, h.total_tokens, sizeof(int32_t), 4);
  section("index", h.index_offset, h.num_examples, sizeof(RawIndexEntry), 8);
  section("mask", h.mask_offset, h.total_tokens, 1, 1);
  section("metadata", h.meta_offset, h.meta_size, 1, 1);

  const auto* index = reinterpret_cast<const RawIndexEntry*>(bytes + h.index_offset);
  const char* meta = reinterpret_cast<const char*>(bytes + h.meta_offset);
  if (header_checksum(h, index, h.num_examples * sizeof(RawIndexEntry), meta, h.meta_size) != h.checksum)
    fail("{}: corrupt token shard (checksum mismatch in the header, index or metadata)", path);
  if (data_checksum(bytes + h.tokens_offset, h.total_tokens * sizeof(int32_t), bytes + h.mask_offset, h.total_tokens) !=
      h.data_checksum)
    fail("{}: corrupt token shard (checksum mismatch in the token or mask section); re-run prepare", path);

  TokenShard shard;
  try {
    auto parsed = nlohmann::json::parse(meta, meta + h.meta_size);
    for (const auto& name : parsed.at("sources")) shard.sources_.push_back(name.get<std::string>());
    shard.metadata_ = parsed.value("metadata", nlohmann::json::object());
  } catch (const nlohmann::json::exception&) {
    fail("{}: corrupt token shard (unreadable metadata)", path);
  }
  if (shard.sources_.size() != h.num_sources) fail("{}: corrupt token shard (source table size)", path);

  uint64_t next = 0;
  for (uint64_t i = 0; i < h.num_examples; ++i) {
    const RawIndexEntry& e = index[i];
    if (e.first_token != next || e.length > h.total_tokens - next || e.source >= h.num_sources)
      fail("{}: corrupt token shard (index entry {})", path, i);
    next += e.length;
  }
  if (next != h.total_tokens) fail("{}: corrupt token shard (index covers {} of {} tokens)", path, next, h.total_tokens);

  shard.mapping_ = std::move(mapping);
  shard.path_ = path;
  shard.tokens_ = reinterpret_cast<const int32_t*>(bytes + h.tokens_offset);
  shard.masks_ = bytes + h.mask_offset;
  shard.index_ = index;
  shard.num_examples_ = h.num_examples;
  shard.total_tokens_ = static_cast<int64_t>(h.total_tokens);
  return shard;
}

ShardExample TokenShard::example(size_t i) const {
  if (i >= num_examples_) fail("{}: example {} out of range ({} examples)", path_, i, num_examples_);
  const RawIndexEntry& e = static_cast<const RawIndexEntry*>(index_)[i];
  return ShardExample{std::span<const int32_t>(tokens_ + e.first_token, e.length),
                      std::span<const uint8_t>(masks_ + e.first_token, e.length), e.source};
}

TokenShardWriter::TokenShardWriter(std::string path) : path_(std::move(path)) {}

uint32_t TokenShardWriter::source_index(const std::string& name) {
  auto [it, inserted] = source_ids_.emplace(name, static_cast<uint32_t>(sources_.size()));
  if (inserted) sources_.push_back(name);
  return it->second;
}

void TokenShardWriter::add(std::span<const int32_t> tokens, std::span<const uint8_t> loss_mask, uint32_t source) {
  TT_CHECK(!finished_, "TokenShardWriter::add after finish");
  TT_CHECK(tokens.size() == loss_mask.size(), "token and mask lengths differ");
  TT_CHECK(!tokens.empty() && tokens.size() <= UINT32_MAX, "example length out of range");
  TT_CHECK(source < sources_.size(), "unknown source index");
  for (uint8_t m : loss_mask) TT_CHECK(m <= 1, "loss mask values must be 0 or 1");
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  masks_.insert(masks_.end(), loss_mask.begin(), loss_mask.end());
  lengths_.push_back(static_cast<uint32_t>(tokens.size()));
  example_sources_.push_back(source);
}

void TokenShardWriter::finish() {
  TT_CHECK(!finished_, "TokenShardWriter::finish called twice");
  finished_ = true;

  std::vector<RawIndexEntry> index(lengths_.size());
  uint64_t first = 0;
  for (size_t i = 0; i < index.size(); ++i) {
    index[i] = {first, lengths_[i], example_sources_[i]};
    first += lengths_[i];
  }
  std::string meta = nlohmann::json{{"sources", sources_}, {"metadata", metadata_}}.dump();

  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kShardVersion;
  h.header_size = sizeof(Header);
  h.num_examples = index.size();
  h.total_tokens = tokens_.size();
  h.num_sources = sources_.size();
  h.tokens_offset = align_up(sizeof(Header));
  h.index_offset = align_up(h.tokens_offset + tokens_.size() * sizeof(int32_t));
  h.mask_offset = align_up(h.index_offset + index.size() * sizeof(RawIndexEntry));
  h.meta_offset = align_up(h.mask_offset + masks_.size());
  h.meta_size = meta.size();
  h.file_size = h.meta_offset + h.meta_size;
  h.data_checksum = data_checksum(tokens_.data(), tokens_.size() * sizeof(int32_t), masks_.data(), masks_.size());
  h.checksum = header_checksum(h, index.data(), index.size() * sizeof(RawIndexEntry), meta.data(), meta.size());

  AtomicFile file(path_);
  uint64_t written = 0;
  const char zeros[kAlign] = {};
  auto put = [&](uint64_t offset, const void* data, uint64_t size) {
    TT_CHECK(offset >= written && offset - written < kAlign, "shard layout");
    file.write(zeros, offset - written);
    if (size) file.write(data, size);
    written = offset + size;
  };
  put(0, &h, sizeof h);
  put(h.tokens_offset, tokens_.data(), tokens_.size() * sizeof(int32_t));
  put(h.index_offset, index.data(), index.size() * sizeof(RawIndexEntry));
  put(h.mask_offset, masks_.data(), masks_.size());
  put(h.meta_offset, meta.data(), meta.size());
  file.commit();
}

bool starts_like_token_shard(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[sizeof kMagic] = {};
  return in.read(magic, sizeof magic) && std::memcmp(magic, kMagic, sizeof kMagic) == 0;
}

}  // namespace tt
