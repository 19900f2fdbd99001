// A generation request given as a JSON object (generate's --input lines): its sampling fields over
// defaults, and its prompt as text, token ids or chat messages, encoded with a session's tokenizer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infer/sampler.h"
#include "infer/session.h"

namespace tt::infer {

// max_new_tokens, min_tokens, temperature, top_p, top_k, min_p, repetition_penalty, presence_penalty,
// frequency_penalty, seed, n, stop, stop_token_ids, ignore_eos, logprobs, skip_special_tokens
const std::vector<std::string>& sampling_keys();

// `defaults` with the row's sampling fields; a key that looks like a misspelt sampling key ("top-p",
// "maxNewTokens") is an error, other keys are the caller's data. `where` ("FILE:LINE") starts every error.
SamplingParams sampling_params_from_row(const std::string& where, const nlohmann::json& row, SamplingParams defaults);

// The prompt ids of {"ids": [...]}, {"prompt": text} or, with `chat`, {"messages": [...]} / {"prompt": text}
// as one user turn rendered with the session's chat template (with the generation prompt).
std::vector<int32_t> prompt_ids_from_row(const std::string& where, const nlohmann::json& row, bool chat,
                                         const Session& session);

}  // namespace tt::infer
