#include "text/utf8.h"

namespace tt::utf8 {

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t next_valid(std::string_view s, size_t i, size_t* subpart, bool* truncated) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t lead = byte(i);
  *truncated = false;
  *subpart = 1;
  if (lead < 0x80) return 1;
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte (Unicode table 3-7)
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;  // C0, C1, F5..FF or a stray continuation byte: a one-byte invalid subpart
  }
  for (size_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) {
      *subpart = k;
      *truncated = true;
      return 0;
    }
    uint8_t b = byte(i + k);
    bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) {
      *subpart = k;
      return 0;
    }
  }
  return need;
}

bool is_valid(std::string_view s) {
  size_t i = 0, sub;
  bool trunc;
  while (i < s.size()) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = next_valid(s, i, &sub, &trunc);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

size_t append_lossy_prefix(std::string& out, std::string_view bytes) {
  size_t i = 0, run = 0, sub;
  bool trunc;
  while (i < bytes.size()) {
    if (static_cast<uint8_t>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = next_valid(bytes, i, &sub, &trunc);
    if (n > 0) {
      i += n;
      continue;
    }
    out.append(bytes.substr(run, i - run));
    if (trunc) return i;  // leave the incomplete tail for later
    out.append(kReplacement);
    i += sub;
    run = i;
  }
  out.append(bytes.substr(run, i - run));
  return i;
}

std::string to_valid_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t used = append_lossy_prefix(out, bytes);
  if (used < bytes.size()) out.append(kReplacement);  // a truncated tail is one subpart
  return out;
}

static ByteLevelMap build_byte_level_map() {
  // Printable Latin-1 bytes keep their own code point; the other 68 bytes (controls, space,
  // 0x7F-0xA0, 0xAD) are moved to 256, 257, ... in byte order, as GPT-2's bytes_to_unicode does.
  ByteLevelMap m;
  m.cp_to_byte.fill(-1);
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    uint32_t cp = printable ? static_cast<uint32_t>(b) : next++;
    m.byte_to_cp[b] = cp;
    m.cp_to_byte[cp] = static_cast<int16_t>(b);
  }
  return m;
}

const ByteLevelMap& byte_level_map() {
  static const ByteLevelMap map = build_byte_level_map();
  return map;
}

bool byte_level_decode_append(std::string_view text, std::string& out) {
  // Every byte-level character is below U+0800: one byte, or a valid two-byte sequence (lead
  // C2..DF, then a continuation byte); anything else (longer or invalid UTF-8) is not one.
  const ByteLevelMap& m = byte_level_map();
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    uint32_t cp = p[i];
    if (cp < 0x80) {
      ++i;
    } else if (cp >= 0xC2 && cp <= 0xDF && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
      cp = ((cp & 0x1F) << 6) | (p[i + 1] & 0x3F);
      i += 2;
    } else {
      return false;
    }
    if (cp >= m.cp_to_byte.size() || m.cp_to_byte[cp] < 0) return false;
    out.push_back(static_cast<char>(m.cp_to_byte[cp]));
  }
  return true;
}

bool byte_level_decode(std::string_view text, std::string& out) {
  out.clear();
  return byte_level_decode_append(text, out);
}

std::string byte_level_encode(std::string_view bytes) {
  const ByteLevelMap& m = byte_level_map();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append(out, m.byte_to_cp[static_cast<uint8_t>(c)]);
  return out;
}

}  // namespace tt::utf8
