// SHA-256 as lowercase hex (OpenSSL): the Hub's LFS checksums, and lm-eval's *_sha fields in
// results.json (hashlib.sha256(text.encode("utf-8")).hexdigest()).
#pragma once
#include <string>
#include <string_view>

namespace tt {

std::string sha256_hex(std::string_view bytes);
std::string sha256_file(const std::string& path);  // a file that cannot be opened is a tt::Error naming it

}  // namespace tt
