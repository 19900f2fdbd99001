#include "text/tokenizer.h"

#include <algorithm>
#include <exception>
#include <unordered_map>

#include "core/error.h"
#include "text/tokenizer_data.h"
#include "text/utf8.h"

namespace tt {

// ---- added tokens ----------------------------------------------------------------------------

void AddedTokenTrie::insert(std::string_view content, int32_t added_index) {
  if (content.empty()) return;
  first_byte_[static_cast<unsigned char>(content[0])] = true;
  int32_t node = 0;
  for (char ch : content) {
    auto c = static_cast<unsigned char>(ch);
    auto& children = nodes_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), c,
                               [](const auto& child, unsigned char b) { return child.first < b; });
    if (it != children.end() && it->first == c) {
      node = it->second;
    } else {
      auto next = static_cast<int32_t>(nodes_.size());
      children.insert(it, {c, next});
      nodes_.emplace_back();  // may reallocate: `children` is not used after this
      node = next;
    }
  }
  if (nodes_[node].token < 0) nodes_[node].token = added_index;
}

int32_t AddedTokenTrie::match(std::string_view text, size_t pos, bool allow_special,
                              const std::vector<AddedToken>& added, size_t* length) const {
  int32_t node = 0, best = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    const auto& children = nodes_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), c,
                               [](const auto& child, unsigned char b) { return child.first < b; });
    if (it == children.end() || it->first != c) break;
    node = it->second;
    int32_t token = nodes_[node].token;
    if (token >= 0 && (allow_special || !added[token].special)) {
      best = token;
      *length = i + 1 - pos;
    }
  }
  return best;
}

void TokenizerData::add_token(AddedToken token) {
  std::string bytes;
  token.decoded = utf8::byte_level_decode(token.content, bytes) ? bytes : token.content;
  added_by_content.emplace(token.content, static_cast<int32_t>(added.size()));
  added.push_back(std::move(token));
}

void TokenizerData::finish(std::string_view where) {
  // An added token's id must be its own: one another added token or a different model.vocab entry
  // holds broke encode/decode round trips silently (the later entry won the id).
  {
    std::unordered_map<int32_t, size_t> seen;
    for (size_t i = 0; i < added.size(); ++i) {
      const AddedToken& t = added[i];
      if (auto [it, fresh] = seen.emplace(t.id, i); !fresh)
        fail("{}: added_tokens '{}' and '{}' both have id {}", where, added[it->second].content, t.content, t.id);
      const size_t id = static_cast<size_t>(t.id);
      if (id < bpe.tokens.size() && !bpe.tokens[id].empty() && bpe.tokens[id] != t.decoded && bpe.tokens[id] != t.content)
        fail("{}: added token '{}' has id {}, which model.vocab gives to another token", where, t.content, t.id);
    }
  }
  size_t size = bpe.tokens.size();
  for (const AddedToken& t : added) size = std::max(size, static_cast<size_t>(t.id) + 1);
  vocab_size = size;
  bpe.tokens.resize(size);
  bpe.in_index.resize(size, 0);
  added_slot.assign(size, -1);
  for (size_t i = 0; i < added.size(); ++i) {
    added_slot[added[i].id] = static_cast<int32_t>(i);
    trie.insert(added[i].content, static_cast<int32_t>(i));
  }
  auto id_of = [&](std::string_view name) -> int32_t {
    auto it = added_by_content.find(std::string(name));
    if (it != added_by_content.end()) return added[it->second].id;
    return bpe.find(name);
  };
  if (bos_id < 0) bos_id = template_prefix.empty() ? id_of("<|begin_of_text|>") : template_prefix.front();
  // tokenizer.json does not say which token ends text (that is in tokenizer_config.json), so the
  // usual names are recognised: Llama-3 first, then the common others.
  for (const char* name : {"<|end_of_text|>", "</s>", "<|endoftext|>"}) {
    if (eos_id < 0) eos_id = id_of(name);
  }
  if (eos_id >= 0) eos_ids.push_back(eos_id);
  for (const char* name : {"<|eom_id|>", "<|eot_id|>", "<|im_end|>"}) {
    int32_t id = id_of(name);
    if (id >= 0 && std::find(eos_ids.begin(), eos_ids.end(), id) == eos_ids.end()) eos_ids.push_back(id);
  }
  (void)where;
}

// ---- encode ----------------------------------------------------------------------------------

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

void encode_segment(const TokenizerData& d, std::string_view segment, std::vector<int32_t>& out) {
  if (segment.empty()) return;
  if (d.normalization != Normalization::None) {
    const std::string normalized = unicode_normalize(segment, d.normalization);
    pre_tokenize(d.pre_tokenizer, normalized,
                 [&](std::string_view piece, PiecePlace) { d.bpe.encode_piece(piece, out); });
    return;
  }
  pre_tokenize(d.pre_tokenizer, segment, [&](std::string_view piece, PiecePlace) { d.bpe.encode_piece(piece, out); });
}

}  // namespace

namespace {

// Cuts added tokens out of `text` (leftmost-longest, like HF's added vocabulary) and reports, left
// to right, the plain text between them as on_segment(begin, end) and each added token as
// on_added(token, begin, end); [begin, end) includes whitespace swallowed by lstrip / rstrip.
template <typename OnSegment, typename OnAdded>
void split_added(const TokenizerData& d, std::string_view text, bool allow_special, OnSegment&& on_segment,
                 OnAdded&& on_added) {
  size_t segment_start = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!d.trie.may_start(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    size_t length = 0;
    int32_t slot = d.trie.match(text, i, allow_special, d.added, &length);
    if (slot < 0) {
      ++i;
      continue;
    }
    const AddedToken& token = d.added[slot];
    size_t begin = i, end = i + length;
    if (token.lstrip) {
      while (begin > segment_start && is_space(text[begin - 1])) --begin;
    }
    if (token.rstrip) {
      while (end < text.size() && is_space(text[end])) ++end;
    }
    if (begin > segment_start) on_segment(segment_start, begin);
    on_added(token, begin, end);
    segment_start = i = end;
  }
  if (segment_start < text.size()) on_segment(segment_start, text.size());
}

}  // namespace

void Tokenizer::encode_into(std::string_view text, const EncodeOptions& options, std::vector<int32_t>& out) const {
  const TokenizerData& d = *data_;
  if (options.add_bos) out.insert(out.end(), d.template_prefix.begin(), d.template_prefix.end());
  // The text between added tokens goes through pre-tokenization and BPE.
  split_added(
      d, text, options.allow_special,
      [&](size_t begin, size_t end) { encode_segment(d, text.substr(begin, end - begin), out); },
      [&](const AddedToken& token, size_t, size_t) { out.push_back(token.id); });
  if (options.add_bos) out.insert(out.end(), d.template_suffix.begin(), d.template_suffix.end());
  if (options.add_eos) {
    if (d.eos_id < 0) fail("{}: add_eos requested but the tokenizer has no end-of-text token", d.source);
    out.push_back(d.eos_id);
  }
}

EncodingWithOffsets Tokenizer::encode_with_offsets(std::string_view text, const EncodeOptions& options) const {
  const TokenizerData& d = *data_;
  EncodingWithOffsets result;
  std::vector<int32_t>& ids = result.ids;
  auto& offsets = result.offsets;
  auto add_template = [&](const std::vector<int32_t>& template_ids) {
    for (int32_t id : template_ids) {
      ids.push_back(id);
      offsets.emplace_back(0, 0);
    }
  };
  if (options.add_bos) add_template(d.template_prefix);
  split_added(
      d, text, options.allow_special,
      [&](size_t segment_begin, size_t segment_end) {
        // Offsets index the caller's text: text a normalizer would change has no such mapping here.
        if (!is_unicode_normalized(text.substr(segment_begin, segment_end - segment_begin), d.normalization))
          fail("{}: byte offsets of text that the normalizer changes are not supported (normalize it first)",
               d.source);
        pre_tokenize(d.pre_tokenizer, text.substr(segment_begin, segment_end - segment_begin),
                     [&](std::string_view piece, PiecePlace place) {
                       size_t first = ids.size();
                       d.bpe.encode_piece(piece, ids);
                       // BPE tokens are the piece's bytes in order: walk their lengths.
                       auto text_pos = [&](size_t k) {
                         return segment_begin + place.origin + (k > place.shift ? k - place.shift : 0);
                       };
                       size_t k = 0;
                       for (size_t t = first; t < ids.size(); ++t) {
                         size_t length = d.bpe.tokens[ids[t]].size();
                         offsets.emplace_back(text_pos(k), text_pos(k + length));
                         k += length;
                       }
                     });
      },
      [&](const AddedToken& token, size_t begin, size_t end) {
        ids.push_back(token.id);
        offsets.emplace_back(begin, end);
      });
  if (options.add_bos) add_template(d.template_suffix);
  if (options.add_eos) {
    if (d.eos_id < 0) fail("{}: add_eos requested but the tokenizer has no end-of-text token", d.source);
    ids.push_back(d.eos_id);
    offsets.emplace_back(0, 0);
  }
  return result;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  encode_into(text, options, out);
  return out;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool allow_special) const {
  return encode(text, EncodeOptions{.add_bos = add_bos, .add_eos = false, .allow_special = allow_special});
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(std::span<const std::string> texts,
                                                          const EncodeOptions& options) const {
  std::vector<std::vector<int32_t>> result(texts.size());
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 16)
  for (size_t i = 0; i < texts.size(); ++i) {
    try {
      result[i] = encode(texts[i], options);
    } catch (...) {
#pragma omp critical(tt_tokenizer_batch_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return result;
}

// ---- decode and lookups ----------------------------------------------------------------------

void Tokenizer::check_id(int32_t id) const {
  const TokenizerData& d = *data_;
  if (id < 0 || static_cast<size_t>(id) >= d.vocab_size) {
    fail("{}: token id {} is out of range (vocabulary size {})", d.source, id, d.vocab_size);
  }
  if (d.added_slot[id] < 0 && d.bpe.tokens[id].empty()) fail("{}: token id {} is not in the vocabulary", d.source, id);
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  check_id(id);
  const TokenizerData& d = *data_;
  int32_t slot = d.added_slot[id];
  return slot >= 0 ? std::string_view(d.added[slot].decoded) : std::string_view(d.bpe.tokens[id]);
}

bool Tokenizer::is_special(int32_t id) const {
  check_id(id);
  int32_t slot = data_->added_slot[id];
  return slot >= 0 && data_->added[slot].special;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  // Like HF's ByteLevel decoder: all bytes first, then one lossy UTF-8 conversion, so a character
  // split across tokens comes back whole.
  std::string bytes;
  bytes.reserve(ids.size() * 4);
  for (int32_t id : ids) {
    if (skip_special && is_special(id)) continue;
    bytes += token_bytes(id);
  }
  if (utf8::is_valid(bytes)) return bytes;
  return utf8::to_valid_lossy(bytes);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  check_id(id);
  const TokenizerData& d = *data_;
  int32_t slot = d.added_slot[id];
  if (slot >= 0) return d.added[slot].content;
  if (!d.bpe.in_index[id]) return d.bpe.tokens[id];  // a vocab entry outside the byte-level alphabet
  return utf8::byte_level_encode(d.bpe.tokens[id]);
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  const TokenizerData& d = *data_;
  auto it = d.added_by_content.find(std::string(token));
  if (it != d.added_by_content.end()) return d.added[it->second].id;
  std::string bytes;
  if (!utf8::byte_level_decode(token, bytes)) {
    for (size_t id = 0; id < d.bpe.tokens.size(); ++id) {  // rare: non-byte-level vocab entries
      if (!d.bpe.in_index[id] && !d.bpe.tokens[id].empty() && d.bpe.tokens[id] == token) return static_cast<int32_t>(id);
    }
    return -1;
  }
  return d.bpe.find(bytes);
}

size_t Tokenizer::vocab_size() const { return data_->vocab_size; }
int32_t Tokenizer::bos_id() const { return data_->bos_id; }
int32_t Tokenizer::eos_id() const { return data_->eos_id; }
std::vector<int32_t> Tokenizer::eos_ids() const { return data_->eos_ids; }
const std::string& Tokenizer::source() const { return data_->source; }

// ---- incremental decoding --------------------------------------------------------------------

std::string IncrementalDecoder::feed(int32_t id) {
  if (skip_special_ && tokenizer_->is_special(id)) return {};
  pending_ += tokenizer_->token_bytes(id);
  std::string out;
  size_t used = utf8::append_lossy_prefix(out, pending_);
  pending_.erase(0, used);
  return out;
}

std::string IncrementalDecoder::flush() {
  std::string out = utf8::to_valid_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace tt
