// IFEval (Zhou et al. 2023): the official checker's 25 instruction types with their kwargs, strict
// and loose. Loose also accepts the response without its first line, without its last line, without
// both, and each of those with '*' removed (the official eight variants).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt::eval {

struct IfevalVerdict {
  std::vector<bool> strict;  // one per instruction of instruction_id_list
  std::vector<bool> loose;
};

// `kwargs`: the doc's list of kwargs objects (one per instruction; null-valued keys ignored as the
// official checker does). An empty or non-UTF-8 response fails every instruction. An unknown
// instruction id is an error naming it.
IfevalVerdict check_ifeval(const std::vector<std::string>& instruction_ids, const nlohmann::json& kwargs,
                           const std::string& prompt, std::string_view response);

// The 25 instruction ids the checker knows ("punctuation:no_comma", ...).
std::vector<std::string> ifeval_instruction_ids();

}  // namespace tt::eval
