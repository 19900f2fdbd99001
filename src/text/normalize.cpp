#include "text/normalize.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>

#include "core/error.h"

namespace tt {

namespace {

const icu::Normalizer2& normalizer(Normalization form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n =
      form == Normalization::NFKC ? icu::Normalizer2::getNFKCInstance(status) : icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status) || !n) fail("unicode normalization unavailable: {}", u_errorName(status));
  return *n;
}

}  // namespace

std::string unicode_normalize(std::string_view text, Normalization form) {
  if (form == Normalization::None) return std::string(text);
  std::string out;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(text.size()));
  UErrorCode status = U_ZERO_ERROR;
  normalizer(form).normalizeUTF8(0, icu::StringPiece(text.data(), static_cast<int32_t>(text.size())), sink, nullptr,
                                 status);
  if (U_FAILURE(status)) fail("unicode normalization failed: {}", u_errorName(status));
  return out;
}

bool is_unicode_normalized(std::string_view text, Normalization form) {
  if (form == Normalization::None) return true;
  UErrorCode status = U_ZERO_ERROR;
  bool yes = normalizer(form).isNormalizedUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())), status);
  return U_SUCCESS(status) && yes;
}

}  // namespace tt
