// The special token ids a tokenizer folder defines, as a model's config.json and
// generation_config.json should carry them: BOS, the end-of-sequence ids (tokenizer_config.json's
// eos_token, then the tokenizer's own EOS tokens) and the pad token. init-model and the study's init
// stage give a random model a tokenizer's ids from here, so that generation stops where the
// tokenizer's text ends (a preset's bos 1 / eos 2 are byte tokens of another vocabulary).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace tt {

struct TokenizerSpecialIds {
  int32_t bos = -1;          // -1: none
  std::vector<int64_t> eos;  // empty: none
  // tokenizer_config.json's pad_token: its id (-1 when the tokenizer lacks it); none without one.
  std::optional<int32_t> pad;
};

// `tokenizer`: loaded from `tokenizer_path` (a tokenizer file or a folder holding one, with its
// tokenizer_config.json beside it when present).
TokenizerSpecialIds tokenizer_special_ids(const Tokenizer& tokenizer, const std::string& tokenizer_path);

}  // namespace tt
