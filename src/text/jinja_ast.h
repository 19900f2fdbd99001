// Syntax tree of a parsed template. One node type for expressions and one for statements keeps the
// evaluator a pair of switches; `offset` points into the normalized source for error messages.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja_value.h"

namespace tt::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Constant,   // value
    Name,       // name
    ListLit,    // children
    TupleLit,   // children
    DictLit,    // children: key, value, key, value, ...
    Getattr,    // children[0].name
    Getitem,    // children[0][children[1]]
    Slice,      // children[0][children[1]:children[2]:children[3]] (null = omitted)
    Call,       // children[0](children[1..], kwargs)
    Filter,     // children[0] | name(children[1..], kwargs)
    Test,       // children[0] is [not] name(children[1..])
    Not,        // not children[0]
    Negate,     // -children[0]
    Plus,       // +children[0]
    Binary,     // children[0] op children[1]; op in + - * / // % ** ~
    Compare,    // children[0] ops[0] children[1] ops[1] children[2] ... (chained like Python)
    And,
    Or,
    Conditional,  // children[1] if children[0] else children[2] (children[2] may be null)
  };
  Kind kind;
  size_t offset = 0;
  int depth = 1;  // 1 + the deepest child (bounded by kMaxNesting)
  Value value;
  std::string name;  // Name, Getattr attribute, Filter/Test name, Binary operator
  std::vector<ExprPtr> children;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;  // Compare
  bool negated = false;          // Test: "is not"
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  enum class Kind {
    Text,        // text
    Print,       // {{ expr }}
    If,          // branches (condition, body); else_body
    For,         // target in expr [if condition]: body; else_body
    Set,         // target = expr
    SetBlock,    // {% set target %}body{% endset %} (optionally | filters via `filter` expr)
    Macro,       // name(params = defaults): body
    Break,
    Continue,
    Generation,  // body, whose output span is recorded (transformers' AssistantTracker)
    With,        // assignments (target, expr); body
    FilterBlock, // body, piped through `filter` (a Filter expr whose children[0] is null)
  };
  Kind kind;
  size_t offset = 0;
  std::string text;
  ExprPtr expr;       // Print value, For iterable, Set value
  ExprPtr target;     // For/Set target: Name, TupleLit of Names, or Getattr on a namespace
  ExprPtr condition;  // For filter
  ExprPtr filter;     // SetBlock / FilterBlock filter chain
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<std::pair<ExprPtr, ExprPtr>> assignments;  // With
  Body body;
  Body else_body;
  std::string name;  // Macro
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // aligned with params; null = required
};

}  // namespace tt::jinja
