// Unicode normalization for tokenizer.json "normalizer" NFC / NFKC (through ICU, the reference
// implementation, rather than hand-made tables).
#pragma once
#include <string>
#include <string_view>

namespace tt {

enum class Normalization { None, NFC, NFKC };

// The normalized form of UTF-8 text; invalid UTF-8 sequences become U+FFFD as in ICU.
std::string unicode_normalize(std::string_view text, Normalization form);
// True when the text is already in that form (then byte offsets are the identity).
bool is_unicode_normalized(std::string_view text, Normalization form);

}  // namespace tt
