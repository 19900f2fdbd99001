// UTF-8 helpers for the tokenizer: validation in the "maximal subpart" style that HF decode uses
// (Rust String::from_utf8_lossy, like Python's errors="replace"), and the GPT-2 byte<->unicode map
// that byte-level BPE vocabularies are written in.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tt::utf8 {

// Appends the UTF-8 encoding of code point `cp` (must be <= 0x10FFFF) to `out`.
void append(std::string& out, uint32_t cp);

// Length of the valid UTF-8 sequence starting at s[i], or 0 if the bytes there do not start a
// complete valid sequence. *subpart receives, when 0 is returned, how many bytes form the maximal
// invalid subpart (>= 1) — or the length of a valid-but-truncated prefix that reaches the end.
// *truncated is set when the sequence was cut off by the end of `s` (more bytes could complete it).
size_t next_valid(std::string_view s, size_t i, size_t* subpart, bool* truncated);

// True if `s` is entirely valid UTF-8.
bool is_valid(std::string_view s);

// Replaces each maximal invalid subpart with U+FFFD (the replacement rule of HF decode).
std::string to_valid_lossy(std::string_view bytes);

// Streaming form: appends the decodable prefix of `bytes` to `out` (invalid subparts become
// U+FFFD) and returns how many bytes were consumed; an incomplete sequence at the very end is left
// unconsumed (it may be completed by later bytes).
size_t append_lossy_prefix(std::string& out, std::string_view bytes);

// The GPT-2 byte-level alphabet: each byte maps to one printable code point.
struct ByteLevelMap {
  std::array<uint32_t, 256> byte_to_cp;   // byte -> code point
  std::array<int16_t, 324> cp_to_byte;    // code point (< 324) -> byte, or -1
};
const ByteLevelMap& byte_level_map();

// Byte-level string (e.g. "Ġhello") -> raw bytes (" hello"). Returns false if some character is
// not in the byte-level alphabet (then `out` is unspecified).
bool byte_level_decode(std::string_view text, std::string& out);
// The same, appending to `out` (no clearing): for hot loops that decode many pieces into one buffer.
bool byte_level_decode_append(std::string_view text, std::string& out);

// Raw bytes -> byte-level string.
std::string byte_level_encode(std::string_view bytes);

}  // namespace tt::utf8
