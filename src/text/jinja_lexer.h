// Jinja2 lexer, configured as transformers configures it for chat templates: default delimiters,
// trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False. Whitespace control follows
// jinja2/lexer.py rule by rule (see the .cpp), because a chat template's output must match byte for
// byte and most of its bytes are decided here.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace tt::jinja {

// Where a template came from, to turn byte offsets into "name:line:col" in error messages.
struct SourceInfo {
  std::string name;                // a file path or "<chat_template>"
  std::vector<size_t> line_starts;  // offsets of the first byte of each line
  explicit SourceInfo(std::string name_, const std::string& source);
  std::string where(size_t offset) const;  // "name:line:col", both 1-based
};

enum class TokenType { Data, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, End };

struct Token {
  TokenType type;
  std::string value;  // Data text, name, decoded string literal, number text, operator
  size_t offset = 0;  // into the normalized source
};

// Python's newline normalization (\r\n, \r -> \n) and dropping of one trailing newline, as
// jinja2's tokeniter does before lexing. Offsets in tokens refer to the returned text.
std::string normalize_source(const std::string& source);

// Tokenizes a normalized source; comments vanish, {% raw %} bodies become Data.
std::vector<Token> tokenize(const std::string& source, const SourceInfo& info);

}  // namespace tt::jinja
