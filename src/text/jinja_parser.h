// Jinja2 parser: tokens -> statement tree, following jinja2/parser.py's grammar and precedence
// (condexpr < or < and < not < compare < +,- < ~ < *,/,//,% < ** < unary < filters/tests < postfix).
#pragma once
#include <vector>

#include "text/jinja_ast.h"
#include "text/jinja_lexer.h"

namespace tt::jinja {

Body parse_template(const std::vector<Token>& tokens, const SourceInfo& info);

}  // namespace tt::jinja
