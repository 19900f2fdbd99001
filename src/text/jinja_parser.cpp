#include "text/jinja_parser.h"

#include <cstdlib>

#include "core/error.h"
#include "text/jinja_limits.h"

namespace tt::jinja {
namespace {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const SourceInfo& info) : tokens_(tokens), info_(info) {}

  Body parse_all() {
    Body body = parse_body({});
    if (cur().type != TokenType::End) error(cur().offset, fmt::format("unexpected '{}'", cur().value));
    return body;
  }

 private:
  const std::vector<Token>& tokens_;
  const SourceInfo& info_;
  size_t i_ = 0;
  int loop_depth_ = 0;
  int nesting_ = 0;

  // Bounds the parser's recursion (nested parentheses, blocks, unary operators).
  DepthGuard nested() {
    return DepthGuard(nesting_, kMaxNesting, [this] { too_deep(); });
  }
  [[noreturn]] void too_deep() const {
    error(cur().offset, fmt::format("nesting deeper than {} levels (tinythink's limit for untrusted templates)", kMaxNesting));
  }
  // Bounds the tree's depth, which operator chains (1+1+1...) grow without recursion; the
  // evaluator and the destructor recurse over it.
  ExprPtr measured(ExprPtr e) const {
    for (const auto& c : e->children)
      if (c) e->depth = std::max(e->depth, c->depth + 1);
    for (const auto& [_, v] : e->kwargs) e->depth = std::max(e->depth, v->depth + 1);
    if (e->depth > kMaxNesting) too_deep();
    return e;
  }

  const Token& cur() const { return tokens_[i_]; }
  const Token& peek(size_t ahead = 1) const { return tokens_[std::min(i_ + ahead, tokens_.size() - 1)]; }
  void advance() {
    if (i_ + 1 < tokens_.size()) ++i_;
  }

  [[noreturn]] void error(size_t offset, const std::string& what) const {
    fail("{}: template syntax error: {}", info_.where(offset), what);
  }
  std::string describe(const Token& t) const {
    switch (t.type) {
      case TokenType::End: return "end of template";
      case TokenType::BlockEnd: return "end of statement block";
      case TokenType::VariableEnd: return "end of print statement";
      case TokenType::Data: return "template data";
      case TokenType::String: return "string";
      default: return "'" + t.value + "'";
    }
  }

  bool is_op(const char* op) const { return cur().type == TokenType::Operator && cur().value == op; }
  bool is_name(const char* name) const { return cur().type == TokenType::Name && cur().value == name; }
  void expect_op(const char* op) {
    if (!is_op(op)) error(cur().offset, fmt::format("expected '{}', got {}", op, describe(cur())));
    advance();
  }
  void expect_name(const char* name) {
    if (!is_name(name)) error(cur().offset, fmt::format("expected '{}', got {}", name, describe(cur())));
    advance();
  }
  std::string expect_identifier() {
    if (cur().type != TokenType::Name) error(cur().offset, fmt::format("expected a name, got {}", describe(cur())));
    std::string name = cur().value;
    advance();
    return name;
  }
  void expect_block_end() {
    if (cur().type != TokenType::BlockEnd) error(cur().offset, fmt::format("expected end of statement block, got {}", describe(cur())));
    advance();
  }

  static ExprPtr make(Expr::Kind kind, size_t offset) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->offset = offset;
    return e;
  }

  // ---- statements ----

  // Parses until a block tag whose name is in `end_names` (left as the current token, after "{%").
  Body parse_body(const std::vector<std::string>& end_names) {
    DepthGuard guard = nested();
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == TokenType::End) {
        if (!end_names.empty()) error(t.offset, fmt::format("unexpected end of template, expected '{}'", end_names.back()));
        return body;
      }
      if (t.type == TokenType::Data) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Text;
        s->offset = t.offset;
        s->text = t.value;
        body.push_back(std::move(s));
        advance();
      } else if (t.type == TokenType::VariableBegin) {
        advance();
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Print;
        s->offset = cur().offset;
        s->expr = parse_tuple(false, true, {}, false);
        if (cur().type != TokenType::VariableEnd) error(cur().offset, fmt::format("expected end of print statement, got {}", describe(cur())));
        advance();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::BlockBegin) {
        advance();
        if (cur().type == TokenType::Name)
          for (const auto& end : end_names)
            if (cur().value == end) return body;
        body.push_back(parse_statement());
      } else {
        error(t.offset, fmt::format("unexpected {}", describe(t)));
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& t = cur();
    if (t.type != TokenType::Name) error(t.offset, "tag name expected");
    auto s = std::make_unique<Stmt>();
    s->offset = t.offset;
    const std::string tag = t.value;
    advance();
    if (tag == "if") {
      s->kind = Stmt::Kind::If;
      ExprPtr cond = parse_tuple(false, false, {}, false);
      while (true) {
        expect_block_end();
        Body branch = parse_body({"elif", "else", "endif"});
        s->branches.emplace_back(std::move(cond), std::move(branch));
        if (is_name("elif")) {
          advance();
          cond = parse_tuple(false, false, {}, false);
          continue;
        }
        if (is_name("else")) {
          advance();
          expect_block_end();
          s->else_body = parse_body({"endif"});
        }
        advance();  // endif
        break;
      }
    } else if (tag == "for") {
      s->kind = Stmt::Kind::For;
      s->target = parse_assign_target({"in"}, false);
      expect_name("in");
      s->expr = parse_tuple(false, false, {"recursive"}, false);
      if (is_name("if")) {
        advance();
        s->condition = parse_expression(true);
      }
      if (is_name("recursive")) error(cur().offset, "recursive for loops are not supported by tinythink");
      expect_block_end();
      ++loop_depth_;
      s->body = parse_body({"endfor", "else"});
      --loop_depth_;
      if (is_name("else")) {
        advance();
        expect_block_end();
        s->else_body = parse_body({"endfor"});
      }
      advance();
    } else if (tag == "set") {
      s->target = parse_assign_target({}, true);
      if (is_op("=")) {
        advance();
        s->kind = Stmt::Kind::Set;
        s->expr = parse_tuple(false, true, {}, false);
      } else {
        s->kind = Stmt::Kind::SetBlock;
        if (s->target->kind != Expr::Kind::Name) error(s->offset, "a block set needs a plain name as its target");
        if (is_op("|")) s->filter = parse_filter(nullptr);
        expect_block_end();
        s->body = parse_body({"endset"});
        advance();
      }
    } else if (tag == "macro") {
      s->kind = Stmt::Kind::Macro;
      s->name = expect_identifier();
      expect_op("(");
      while (!is_op(")")) {
        if (!s->params.empty()) expect_op(",");
        s->params.push_back(expect_identifier());
        if (is_op("=")) {
          advance();
          s->defaults.push_back(parse_expression(true));
        } else {
          if (!s->defaults.empty() && s->defaults.back()) error(cur().offset, "non-default argument follows default argument");
          s->defaults.push_back(nullptr);
        }
      }
      advance();
      expect_block_end();
      int saved = loop_depth_;
      loop_depth_ = 0;
      s->body = parse_body({"endmacro"});
      loop_depth_ = saved;
      advance();
    } else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) error(s->offset, fmt::format("'{}' outside of a loop", tag));
      s->kind = tag == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
    } else if (tag == "generation") {
      s->kind = Stmt::Kind::Generation;
      expect_block_end();
      s->body = parse_body({"endgeneration"});
      advance();
    } else if (tag == "with") {
      s->kind = Stmt::Kind::With;
      while (cur().type != TokenType::BlockEnd) {
        if (!s->assignments.empty()) expect_op(",");
        ExprPtr target = parse_assign_target({}, false);
        expect_op("=");
        s->assignments.emplace_back(std::move(target), parse_expression(true));
      }
      expect_block_end();
      s->body = parse_body({"endwith"});
      advance();
    } else if (tag == "filter") {
      s->kind = Stmt::Kind::FilterBlock;
      s->filter = parse_filter(nullptr, true);
      expect_block_end();
      s->body = parse_body({"endfilter"});
      advance();
    } else if (tag == "include" || tag == "extends" || tag == "import" || tag == "from" || tag == "block" ||
               tag == "call" || tag == "autoescape" || tag == "trans" || tag == "do") {
      error(s->offset, fmt::format("the '{}' tag is not supported by tinythink's chat-template renderer", tag));
    } else {
      error(s->offset, fmt::format("encountered unknown tag '{}'", tag));
    }
    expect_block_end();
    return s;
  }

  // A name, a tuple of names (for loops), or namespace.attribute (set).
  ExprPtr parse_assign_target(const std::vector<std::string>& extra_end, bool with_namespace) {
    if (with_namespace && cur().type == TokenType::Name && peek().type == TokenType::Operator && peek().value == ".") {
      auto base = make(Expr::Kind::Name, cur().offset);
      base->name = cur().value;
      advance();
      advance();
      auto attr = make(Expr::Kind::Getattr, base->offset);
      attr->name = expect_identifier();
      attr->children.push_back(std::move(base));
      return attr;
    }
    ExprPtr target = parse_tuple(true, true, extra_end, false);
    auto check = [&](const Expr& e) {
      if (e.kind != Expr::Kind::Name) error(e.offset, "can't assign to this expression");
      if (e.name == "true" || e.name == "false" || e.name == "none" || e.name == "True" || e.name == "False" || e.name == "None")
        error(e.offset, fmt::format("can't assign to '{}'", e.name));
    };
    if (target->kind == Expr::Kind::TupleLit)
      for (auto& c : target->children) check(*c);
    else
      check(*target);
    return target;
  }

  // ---- expressions ----

  bool is_tuple_end(const std::vector<std::string>& extra_end) const {
    if (cur().type == TokenType::VariableEnd || cur().type == TokenType::BlockEnd || cur().type == TokenType::End) return true;
    if (is_op(")")) return true;
    for (const auto& n : extra_end)
      if (cur().type == TokenType::Name && cur().value == n) return true;
    return false;
  }

  ExprPtr parse_tuple(bool simplified, bool with_condexpr, const std::vector<std::string>& extra_end, bool explicit_parens) {
    DepthGuard guard = nested();
    size_t offset = cur().offset;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      items.push_back(simplified ? parse_primary() : parse_expression(with_condexpr));
      if (is_op(","))
        is_tuple = true;
      else
        break;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) error(cur().offset, fmt::format("expected an expression, got {}", describe(cur())));
    }
    auto t = make(Expr::Kind::TupleLit, offset);
    t->children = std::move(items);
    return measured(std::move(t));
  }

  ExprPtr parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }

  ExprPtr parse_condexpr() {
    ExprPtr expr1 = parse_or();
    while (is_name("if")) {
      size_t offset = cur().offset;
      advance();
      ExprPtr cond = parse_or();
      ExprPtr otherwise;
      if (is_name("else")) {
        advance();
        otherwise = parse_condexpr();
      }
      auto e = make(Expr::Kind::Conditional, offset);
      e->children.push_back(std::move(cond));
      e->children.push_back(std::move(expr1));
      e->children.push_back(std::move(otherwise));
      expr1 = measured(std::move(e));
    }
    return expr1;
  }

  ExprPtr binary(Expr::Kind kind, ExprPtr left, ExprPtr right, size_t offset, std::string op = {}) {
    auto e = make(kind, offset);
    e->name = std::move(op);
    e->children.push_back(std::move(left));
    e->children.push_back(std::move(right));
    return measured(std::move(e));
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      size_t offset = cur().offset;
      advance();
      left = binary(Expr::Kind::Or, std::move(left), parse_and(), offset);
    }
    return left;
  }
  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      size_t offset = cur().offset;
      advance();
      left = binary(Expr::Kind::And, std::move(left), parse_not(), offset);
    }
    return left;
  }
  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard = nested();
      auto e = make(Expr::Kind::Not, cur().offset);
      advance();
      e->children.push_back(parse_not());
      return measured(std::move(e));
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    size_t offset = cur().offset;
    ExprPtr first = parse_math1();
    std::vector<std::string> ops;
    std::vector<ExprPtr> operands;
    while (true) {
      std::string op;
      if (cur().type == TokenType::Operator &&
          (cur().value == "==" || cur().value == "!=" || cur().value == "<" || cur().value == ">" || cur().value == "<=" || cur().value == ">=")) {
        op = cur().value;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && peek().type == TokenType::Name && peek().value == "in") {
        op = "not in";
        advance();
        advance();
      } else {
        break;
      }
      ops.push_back(op);
      operands.push_back(parse_math1());
    }
    if (ops.empty()) return first;
    auto e = make(Expr::Kind::Compare, offset);
    e->children.push_back(std::move(first));
    for (auto& o : operands) e->children.push_back(std::move(o));
    e->ops = std::move(ops);
    return measured(std::move(e));
  }
  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      std::string op = cur().value;
      size_t offset = cur().offset;
      advance();
      left = binary(Expr::Kind::Binary, std::move(left), parse_concat(), offset, op);
    }
    return left;
  }
  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      size_t offset = cur().offset;
      advance();
      left = binary(Expr::Kind::Binary, std::move(left), parse_math2(), offset, "~");
    }
    return left;
  }
  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = cur().value;
      size_t offset = cur().offset;
      advance();
      left = binary(Expr::Kind::Binary, std::move(left), parse_pow(), offset, op);
    }
    return left;
  }
  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      size_t offset = cur().offset;
      advance();
      left = binary(Expr::Kind::Binary, std::move(left), parse_unary(true), offset, "**");
    }
    return left;
  }
  ExprPtr parse_unary(bool with_filter) {
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      DepthGuard guard = nested();
      auto e = make(is_op("-") ? Expr::Kind::Negate : Expr::Kind::Plus, cur().offset);
      advance();
      e->children.push_back(parse_unary(false));
      node = measured(std::move(e));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    size_t offset = t.offset;
    if (t.type == TokenType::Name) {
      const std::string& n = t.value;
      ExprPtr e;
      if (n == "true" || n == "True" || n == "false" || n == "False") {
        e = make(Expr::Kind::Constant, offset);
        e->value = Value::from_bool(n == "true" || n == "True");
      } else if (n == "none" || n == "None") {
        e = make(Expr::Kind::Constant, offset);
        e->value = Value::none();
      } else {
        e = make(Expr::Kind::Name, offset);
        e->name = n;
      }
      advance();
      return e;
    }
    if (t.type == TokenType::String) {
      std::string s;
      while (cur().type == TokenType::String) {  // adjacent literals concatenate, as in Python
        s += cur().value;
        advance();
      }
      auto e = make(Expr::Kind::Constant, offset);
      e->value = Value::from_string(std::move(s));
      return e;
    }
    if (t.type == TokenType::Integer || t.type == TokenType::Float) {
      auto e = make(Expr::Kind::Constant, offset);
      if (t.type == TokenType::Integer) {
        errno = 0;
        long long v = std::strtoll(t.value.c_str(), nullptr, 10);
        if (errno == ERANGE) error(offset, "integer literal too large");
        e->value = Value::from_int(v);
      } else {
        e->value = Value::from_float(std::strtod(t.value.c_str(), nullptr));
      }
      advance();
      return e;
    }
    if (is_op("(")) {
      advance();
      ExprPtr e = parse_tuple(false, true, {}, true);
      expect_op(")");
      return e;
    }
    if (is_op("[")) {
      DepthGuard guard = nested();  // [[[[...: bounded while parsing, before the recursion runs deep
      advance();
      auto e = make(Expr::Kind::ListLit, offset);
      while (!is_op("]")) {
        if (!e->children.empty()) expect_op(",");
        if (is_op("]")) break;
        e->children.push_back(parse_expression(true));
      }
      advance();
      return measured(std::move(e));
    }
    if (is_op("{")) {
      DepthGuard guard = nested();
      advance();
      auto e = make(Expr::Kind::DictLit, offset);
      while (!is_op("}")) {
        if (!e->children.empty()) expect_op(",");
        if (is_op("}")) break;
        e->children.push_back(parse_expression(true));
        expect_op(":");
        e->children.push_back(parse_expression(true));
      }
      advance();
      return measured(std::move(e));
    }
    error(offset, fmt::format("unexpected {}", describe(t)));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".")) {
        advance();
        if (cur().type == TokenType::Name) {
          auto e = make(Expr::Kind::Getattr, node->offset);
          e->name = cur().value;
          advance();
          e->children.push_back(std::move(node));
          node = measured(std::move(e));
        } else if (cur().type == TokenType::Integer) {
          auto e = make(Expr::Kind::Getitem, node->offset);
          auto index = make(Expr::Kind::Constant, cur().offset);
          index->value = Value::from_int(std::strtoll(cur().value.c_str(), nullptr, 10));
          advance();
          e->children.push_back(std::move(node));
          e->children.push_back(std::move(index));
          node = measured(std::move(e));
        } else {
          error(cur().offset, "expected a name after '.'");
        }
      } else if (is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    size_t offset = cur().offset;
    advance();  // [
    std::vector<ExprPtr> parts;
    while (!is_op("]")) {
      if (!parts.empty()) expect_op(",");
      parts.push_back(parse_subscribed());
    }
    advance();
    if (parts.size() != 1) error(offset, "tuple subscripts are not supported");
    ExprPtr sub = std::move(parts[0]);
    offset = node->offset;
    if (sub->kind == Expr::Kind::Slice) {  // parse_subscribed returned a slice shell; attach object
      sub->offset = offset;
      sub->children.insert(sub->children.begin(), std::move(node));
      return measured(std::move(sub));
    }
    auto e = make(Expr::Kind::Getitem, offset);
    e->children.push_back(std::move(node));
    e->children.push_back(std::move(sub));
    return measured(std::move(e));
  }

  // One subscript: an expression or a slice start:stop:step (returned as a Slice without object).
  ExprPtr parse_subscribed() {
    size_t offset = cur().offset;
    std::vector<ExprPtr> args;
    if (is_op(":")) {
      advance();
      args.push_back(nullptr);
    } else {
      ExprPtr node = parse_expression(true);
      if (!is_op(":")) return node;
      advance();
      args.push_back(std::move(node));
    }
    if (is_op(":"))
      args.push_back(nullptr);
    else if (!is_op("]") && !is_op(","))
      args.push_back(parse_expression(true));
    else
      args.push_back(nullptr);
    if (is_op(":")) {
      advance();
      if (!is_op("]") && !is_op(","))
        args.push_back(parse_expression(true));
      else
        args.push_back(nullptr);
    } else {
      args.push_back(nullptr);
    }
    auto e = make(Expr::Kind::Slice, offset);
    e->children = std::move(args);
    return e;
  }

  // "(args, name=value)" appended to `call`.
  void parse_call_args(Expr& call) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) error(cur().offset, "*args / **kwargs in calls are not supported by tinythink");
      if (cur().type == TokenType::Name && peek().type == TokenType::Operator && peek().value == "=") {
        std::string key = cur().value;
        advance();
        advance();
        call.kwargs.emplace_back(key, parse_expression(true));
      } else {
        if (!call.kwargs.empty()) error(cur().offset, "positional argument follows keyword argument");
        call.children.push_back(parse_expression(true));
      }
    }
    advance();
  }

  // Postfix nodes report errors at the start of the whole expression ("foo" of "foo.bar(1)").
  ExprPtr parse_call(ExprPtr node) {
    auto e = make(Expr::Kind::Call, node->offset);
    e->children.push_back(std::move(node));
    parse_call_args(*e);
    return measured(std::move(e));
  }

  std::string dotted_name() {
    std::string name = expect_identifier();
    while (is_op(".")) {
      advance();
      name += "." + expect_identifier();
    }
    return name;
  }

  // "| name(args) | name ..." applied to node (node may be null for filter blocks, whose first
  // filter has no leading "|": {% filter upper %}).
  ExprPtr parse_filter(ExprPtr node, bool start_inline = false) {
    while (start_inline || is_op("|")) {
      if (!start_inline) advance();
      start_inline = false;
      auto e = make(Expr::Kind::Filter, cur().offset);
      e->name = dotted_name();
      e->children.push_back(std::move(node));
      if (is_op("(")) parse_call_args(*e);
      node = measured(std::move(e));
    }
    return node;
  }

  ExprPtr parse_test(ExprPtr node) {
    size_t offset = cur().offset;
    advance();  // is
    auto e = make(Expr::Kind::Test, offset);
    if (is_name("not")) {
      e->negated = true;
      advance();
    }
    e->name = dotted_name();
    e->children.push_back(std::move(node));
    const Token& t = cur();
    bool arg_start = t.type == TokenType::Name || t.type == TokenType::String || t.type == TokenType::Integer ||
                     t.type == TokenType::Float || is_op("[") || is_op("{");
    if (is_op("(")) {
      parse_call_args(*e);
    } else if (arg_start && !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) error(t.offset, "you cannot chain multiple tests with is");
      e->children.push_back(parse_postfix(parse_primary()));
    }
    return measured(std::move(e));
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|"))
        node = parse_filter(std::move(node));
      else if (is_name("is"))
        node = parse_test(std::move(node));
      else if (is_op("("))
        node = parse_call(std::move(node));
      else
        return node;
    }
  }
};

}  // namespace

Body parse_template(const std::vector<Token>& tokens, const SourceInfo& info) { return Parser(tokens, info).parse_all(); }

}  // namespace tt::jinja
