// Token shards: many tokenized examples in one memory-mapped binary file, written once by `prepare`
// and read by training without parsing. Each example is a run of int32 token ids, a uint8 loss mask
// of the same length (1 = the token gets loss) and the index of its dataset_source name.
//
//   TokenShardWriter writer("train.ttshard");
//   writer.add(ids, mask, writer.source_index("gsm8k"));
//   writer.finish();                          // temp file + fsync + rename: all or nothing
//   TokenShard shard = TokenShard::open("train.ttshard");
//   ShardExample e = shard.example(0);        // spans into the mapping; valid while `shard` lives
//
// File layout (little-endian; every section starts on a 64-byte boundary):
//   header   128 bytes: magic "TTSHARD\0", u32 version (1), u32 header size (128),
//            u64 num_examples, u64 total_tokens, u64 num_sources, u64 file_size,
//            u64 tokens_offset, u64 index_offset, u64 mask_offset, u64 meta_offset, u64 meta_size,
//            u64 checksum (of the header with this field zero, the index and the metadata), zeros
//   tokens   int32[total_tokens], the examples back to back
//   index    num_examples × {u64 first_token, u32 length, u32 source}; contiguous and in order
//   masks    uint8[total_tokens], aligned with the tokens
//   meta     JSON {"sources": [names], "metadata": {...}} (UTF-8, meta_size bytes)
// Tokens come first so a reader can map them with the alignment int32 needs; the index is
// checked in full on open (it is small), the bulk token/mask bytes are not.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt {

inline constexpr uint32_t kShardVersion = 2;  // 2: checksum over the token and mask sections too

struct ShardExample {
  std::span<const int32_t> tokens;
  std::span<const uint8_t> loss_mask;  // same length as tokens
  uint32_t source = 0;                 // index into TokenShard::sources()
};

class TokenShard {
 public:
  // Maps the file and validates header, index and metadata. Throws tt::Error "<path>: ..." (one
  // line) when the file is missing, truncated, of another version, or inconsistent.
  static TokenShard open(const std::string& path);

  size_t size() const { return num_examples_; }
  ShardExample example(size_t i) const;  // throws tt::Error if i >= size()
  int64_t total_tokens() const { return total_tokens_; }
  const std::vector<std::string>& sources() const { return sources_; }
  const nlohmann::json& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  struct Mapping;
  std::shared_ptr<const Mapping> mapping_;  // shared: copies of a TokenShard stay cheap
  std::string path_;
  const int32_t* tokens_ = nullptr;
  const uint8_t* masks_ = nullptr;
  const void* index_ = nullptr;  // {u64 first_token, u32 length, u32 source} per example
  size_t num_examples_ = 0;
  int64_t total_tokens_ = 0;
  std::vector<std::string> sources_;
  nlohmann::json metadata_;
};

// Collects examples in memory and writes the shard in one go on finish(). Destroyed without
// finish(), it writes nothing.
// Whether `path` is a file that begins with the token-shard magic (of any version): what `prepare
// --out` may replace. Any other existing file is a user's and is never overwritten.
bool starts_like_token_shard(const std::string& path);

class TokenShardWriter {
 public:
  explicit TokenShardWriter(std::string path);

  // The index of `name` in the source table, adding it on first use.
  uint32_t source_index(const std::string& name);
  // `loss_mask` must have tokens.size() entries, each 0 or 1; `source` must come from source_index.
  void add(std::span<const int32_t> tokens, std::span<const uint8_t> loss_mask, uint32_t source);
  // Stored verbatim in the file (e.g. the options and the cache key that produced it).
  void set_metadata(nlohmann::json metadata) { metadata_ = std::move(metadata); }

  size_t size() const { return lengths_.size(); }
  int64_t total_tokens() const { return static_cast<int64_t>(tokens_.size()); }
  // Writes atomically (temp file + fsync + rename); the writer cannot be used afterwards.
  void finish();

 private:
  std::string path_;
  std::vector<int32_t> tokens_;
  std::vector<uint8_t> masks_;
  std::vector<uint32_t> lengths_;
  std::vector<uint32_t> example_sources_;
  std::vector<std::string> sources_;
  std::unordered_map<std::string, uint32_t> source_ids_;
  nlohmann::json metadata_ = nlohmann::json::object();
  bool finished_ = false;
};

}  // namespace tt
