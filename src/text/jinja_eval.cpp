// Evaluator: walks the statement tree, writing output and recording {% generation %} spans.
// Scoping follows jinja2: a for-loop iteration, a macro call, {% with %} and block captures get
// their own scope (a {% set %} inside them is gone afterwards -- hence namespace()), while {% if %}
// does not.
#include <cmath>
#include <unordered_map>

#include "core/error.h"
#include "text/jinja.h"
#include "text/jinja_builtins.h"
#include "text/jinja_limits.h"
#include "text/jinja_parser.h"

namespace tt::jinja {
namespace {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent.get()) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};
using ScopePtr = std::shared_ptr<Scope>;

ScopePtr child_of(const ScopePtr& parent) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  return s;
}

// An error that already names its template position; outer nodes pass it through unchanged.
class LocatedError : public Error {
 public:
  using Error::Error;
};

[[noreturn]] void undefined_error(const Value& v) { fail("'{}' is undefined", v.string.empty() ? "value" : v.string); }

bool int_like(const Value& v) { return v.kind == Value::Kind::Int || v.kind == Value::Kind::Bool; }
int64_t as_int(const Value& v) { return v.kind == Value::Kind::Bool ? v.boolean : v.integer; }

[[noreturn]] void int_overflow(const std::string& op, int64_t a, int64_t b) {
  fail("integer overflow: {} {} {} does not fit in 64 bits (Python would compute a big int; tinythink's templates "
       "use 64-bit integers)", a, op, b);
}

int64_t checked_int(const std::string& op, int64_t a, int64_t b) {
  int64_t r = 0;
  bool overflow = op == "+" ? __builtin_add_overflow(a, b, &r) : op == "-" ? __builtin_sub_overflow(a, b, &r)
                                                                           : __builtin_mul_overflow(a, b, &r);
  if (overflow) int_overflow(op, a, b);
  return r;
}

// Python's int ** int for a non-negative exponent, by squaring; overflow is an error.
int64_t int_power(int64_t base, int64_t exponent) {
  if (base == 0 || base == 1) return exponent == 0 ? 1 : base;
  if (base == -1) return exponent % 2 == 0 ? 1 : -1;
  int64_t result = 1, b = base;
  for (int64_t e = exponent; e > 0; e >>= 1) {
    if ((e & 1) && __builtin_mul_overflow(result, b, &result)) int_overflow("**", base, exponent);
    if (e > 1 && __builtin_mul_overflow(b, b, &b)) int_overflow("**", base, exponent);
  }
  return result;
}

Value repeat(const Value& seq, int64_t n) {
  n = std::max<int64_t>(n, 0);
  size_t unit = seq.is_string() ? seq.string.size() : seq.list->size();
  unsigned __int128 total = static_cast<unsigned __int128>(unit) * static_cast<uint64_t>(n);
  if (seq.is_string()) {
    check_size(total > kMaxStringBytes ? kMaxStringBytes + 1 : static_cast<size_t>(total), kMaxStringBytes,
               "a repeated string's size in bytes");
    std::string out;
    out.reserve(static_cast<size_t>(total));
    for (int64_t i = 0; i < n; ++i) out += seq.string;
    return Value::from_string(out);
  }
  check_size(total > kMaxListItems ? kMaxListItems + 1 : static_cast<size_t>(total), kMaxListItems,
             "a repeated list's length");
  List out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.list->begin(), seq.list->end());
  return seq.kind == Value::Kind::Tuple ? Value::from_tuple(out) : Value::from_list(out);
}

// Float results Python would raise OverflowError for (finite operands, infinite result).
Value checked_float(const std::string& op, double a, double b, double r) {
  if (std::isinf(r) && std::isfinite(a) && std::isfinite(b)) fail("float overflow: {} {} {} is out of range", a, op, b);
  return Value::from_float(r);
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {
    std::string left = to_str(a), right = to_str(b);
    check_size(left.size() + right.size(), kMaxStringBytes, "a concatenated string's size in bytes");
    return Value::from_string(left + right);
  }
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  auto unsupported = [&]() -> Value {
    fail("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
  };
  bool numbers = a.is_number() && b.is_number(), ints = int_like(a) && int_like(b);
  if (op == "+") {
    if (ints) return Value::from_int(checked_int(op, as_int(a), as_int(b)));
    if (numbers) return checked_float(op, a.as_double(), b.as_double(), a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) {
      check_size(a.string.size() + b.string.size(), kMaxStringBytes, "a concatenated string's size in bytes");
      return Value::from_string(a.string + b.string);
    }
    if (a.is_sequence() && a.kind == b.kind) {
      check_size(a.list->size() + b.list->size(), kMaxListItems, "a concatenated list's length");
      List items = *a.list;
      items.insert(items.end(), b.list->begin(), b.list->end());
      return a.kind == Value::Kind::Tuple ? Value::from_tuple(items) : Value::from_list(items);
    }
    return unsupported();
  }
  if (op == "-") {
    if (ints) return Value::from_int(checked_int(op, as_int(a), as_int(b)));
    if (numbers) return checked_float(op, a.as_double(), b.as_double(), a.as_double() - b.as_double());
    return unsupported();
  }
  if (op == "*") {
    if (ints) return Value::from_int(checked_int(op, as_int(a), as_int(b)));
    if (numbers) return checked_float(op, a.as_double(), b.as_double(), a.as_double() * b.as_double());
    if ((a.is_string() || a.is_sequence()) && int_like(b)) return repeat(a, as_int(b));
    if ((b.is_string() || b.is_sequence()) && int_like(a)) return repeat(b, as_int(a));
    return unsupported();
  }
  if (!numbers) {
    if (op == "%" && a.is_string()) fail("printf-style '%' string formatting is not supported by tinythink");
    return unsupported();
  }
  if (op == "/") {
    if (b.as_double() == 0) fail("division by zero");
    return checked_float(op, a.as_double(), b.as_double(), a.as_double() / b.as_double());
  }
  if (op == "//" || op == "%") {
    if (ints) {
      int64_t x = as_int(a), y = as_int(b);
      if (y == 0) fail("integer division or modulo by zero");
      if (y == -1) {  // x / -1 and x % -1 trap (SIGFPE) for INT64_MIN in C++; Python gives -x and 0
        if (op == "%") return Value::from_int(0);
        return Value::from_int(checked_int("*", x, -1));
      }
      int64_t q = x / y, r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) {  // Python floors toward negative infinity
        --q;
        r += y;
      }
      return Value::from_int(op == "//" ? q : r);
    }
    double x = a.as_double(), y = b.as_double();
    if (y == 0) fail("float division by zero");
    double q = std::floor(x / y), r = x - q * y;
    return Value::from_float(op == "//" ? q : r);
  }
  if (op == "**") {
    if (ints && as_int(b) >= 0) return Value::from_int(int_power(as_int(a), as_int(b)));
    if (a.as_double() == 0 && b.as_double() < 0) fail("0.0 cannot be raised to a negative power");
    return checked_float(op, a.as_double(), b.as_double(), std::pow(a.as_double(), b.as_double()));
  }
  return unsupported();
}

// Python slicing (start:stop:step) of a str or list/tuple.
Value slice(const Value& obj, const Value* start_v, const Value* stop_v, const Value* step_v) {
  if (obj.is_undefined()) undefined_error(obj);
  auto get = [](const Value* v, const char* what) -> std::optional<int64_t> {
    if (!v || v->is_none()) return std::nullopt;
    if (!int_like(*v)) fail("slice {} must be an integer or None, not {}", what, v->type_name());
    return as_int(*v);
  };
  auto start_o = get(start_v, "start"), stop_o = get(stop_v, "stop"), step_o = get(step_v, "step");
  int64_t step = step_o.value_or(1);
  if (step == 0) fail("slice step cannot be zero");
  std::u32string text;
  int64_t n;
  if (obj.is_string()) {
    text = utf8_decode(obj.string);
    n = static_cast<int64_t>(text.size());
  } else if (obj.is_sequence()) {
    n = static_cast<int64_t>(obj.list->size());
  } else {
    fail("'{}' object is not subscriptable", obj.type_name());
  }
  auto clamp = [&](std::optional<int64_t> v, int64_t fallback) {
    if (!v) return fallback;
    int64_t i = *v < 0 ? *v + n : *v;
    if (step > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  int64_t start = clamp(start_o, step > 0 ? 0 : n - 1), stop = clamp(stop_o, step > 0 ? n : -1);
  std::vector<int64_t> picks;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) picks.push_back(i);
  if (obj.is_string()) {
    std::u32string out;
    for (int64_t i : picks) out += text[static_cast<size_t>(i)];
    return Value::from_string(utf8_encode(out));
  }
  List out;
  for (int64_t i : picks) out.push_back((*obj.list)[static_cast<size_t>(i)]);
  return obj.kind == Value::Kind::Tuple ? Value::from_tuple(out) : Value::from_list(out);
}

class Renderer {
 public:
  explicit Renderer(const SourceInfo& info) : info_(info) {}
  enum class Flow { Normal, Break, Continue };

  RenderResult result;

  Flow exec_body(const Body& body, const ScopePtr& scope) {
    DepthGuard guard = deeper();
    for (const auto& stmt : body) {
      Flow flow = located(stmt->offset, [&] { return exec(*stmt, scope); });
      if (flow != Flow::Normal) return flow;
    }
    return Flow::Normal;
  }

 private:
  const SourceInfo& info_;
  std::string* out_ = &result.text;
  int capture_depth_ = 0;
  int eval_depth_ = 0;
  int macro_depth_ = 0;
  int64_t loop_iterations_ = 0;

  // Bounds the evaluator's recursion (expressions, statements, macro calls).
  DepthGuard deeper() {
    return DepthGuard(eval_depth_, kMaxEvalDepth, [] {
      fail("evaluation nested deeper than {} levels (tinythink's limit for untrusted templates)", kMaxEvalDepth);
    });
  }

  void count_iteration() {
    if (++loop_iterations_ > kMaxLoopIterations)
      fail("more than {} loop iterations in one render (tinythink's limit for untrusted templates)", kMaxLoopIterations);
  }

  void emit(const std::string& text) {
    check_size(out_->size() + text.size(), kMaxStringBytes, "the rendered output's size in bytes");
    *out_ += text;
  }

  template <typename F>
  auto located(size_t offset, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const LocatedError&) {
      throw;
    } catch (const Error& e) {
      throw LocatedError(info_.where(offset) + ": " + e.what());
    }
  }

  std::string capture(const Body& body, const ScopePtr& scope) {
    std::string buffer;
    std::string* saved = out_;
    out_ = &buffer;
    ++capture_depth_;
    try {
      exec_body(body, scope);
    } catch (...) {
      out_ = saved;
      --capture_depth_;
      throw;
    }
    out_ = saved;
    --capture_depth_;
    return buffer;
  }

  void assign(const Expr& target, const Value& value, const ScopePtr& scope) {
    if (target.kind == Expr::Kind::Name) {
      scope->vars[target.name] = value;
    } else if (target.kind == Expr::Kind::TupleLit) {
      if (!value.is_sequence()) fail("cannot unpack non-sequence {}", value.type_name());
      if (value.list->size() != target.children.size())
        fail("cannot unpack {} values into {} names", value.list->size(), target.children.size());
      for (size_t i = 0; i < target.children.size(); ++i) assign(*target.children[i], (*value.list)[i], scope);
    } else if (target.kind == Expr::Kind::Getattr) {
      const Value* ns = scope->find(target.children[0]->name);
      if (!ns || ns->kind != Value::Kind::Namespace) fail("cannot assign attribute on non-namespace object");
      ns->dict->set(target.name, value);
    } else {
      fail("can't assign to this expression");
    }
  }

  Value apply_filter_chain(const Expr& filter, Value input, const ScopePtr& scope) {
    if (filter.children[0]) input = apply_filter_chain(*filter.children[0], std::move(input), scope);
    CallArgs args = eval_args(filter, 1, scope);
    return located(filter.offset, [&] { return apply_filter(filter.name, input, args); });
  }

  CallArgs eval_args(const Expr& e, size_t first, const ScopePtr& scope) {
    CallArgs args;
    for (size_t i = first; i < e.children.size(); ++i) args.positional.push_back(eval(*e.children[i], scope));
    for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, eval(*v, scope));
    return args;
  }

  Flow exec(const Stmt& s, const ScopePtr& scope) {
    switch (s.kind) {
      case Stmt::Kind::Text: emit(s.text); return Flow::Normal;
      case Stmt::Kind::Print: emit(to_str(eval(*s.expr, scope))); return Flow::Normal;
      case Stmt::Kind::If:
        for (const auto& [cond, body] : s.branches)
          if (eval(*cond, scope).truthy()) return exec_body(body, scope);
        return exec_body(s.else_body, scope);
      case Stmt::Kind::For: return exec_for(s, scope);
      case Stmt::Kind::Set: assign(*s.target, eval(*s.expr, scope), scope); return Flow::Normal;
      case Stmt::Kind::SetBlock: {
        Value text = Value::from_string(capture(s.body, child_of(scope)));
        assign(*s.target, s.filter ? apply_filter_chain(*s.filter, text, scope) : text, scope);
        return Flow::Normal;
      }
      case Stmt::Kind::FilterBlock: {
        Value text = Value::from_string(capture(s.body, child_of(scope)));
        emit(to_str(apply_filter_chain(*s.filter, text, scope)));
        return Flow::Normal;
      }
      case Stmt::Kind::Macro: {
        std::weak_ptr<Scope> defining = scope;
        const Stmt* macro = &s;
        scope->vars[s.name] = Value::callable(s.name, [this, macro, defining](CallArgs& args) {
          ScopePtr parent = defining.lock();
          if (!parent) fail("macro '{}' called after its scope ended", macro->name);
          return call_macro(*macro, parent, args);
        });
        return Flow::Normal;
      }
      case Stmt::Kind::Break: return Flow::Break;
      case Stmt::Kind::Continue: return Flow::Continue;
      case Stmt::Kind::Generation: {
        // transformers measures the span as len(all output so far) .. + len(body); inside a
        // macro or block capture that is not a position in the final text, so refuse it.
        if (capture_depth_ > 0) fail("{{% generation %}} inside a macro, block set or filter block is not supported");
        size_t begin = out_->size();
        Flow flow = exec_body(s.body, child_of(scope));
        result.generation_spans.emplace_back(begin, out_->size());
        return flow;
      }
      case Stmt::Kind::With: {
        ScopePtr inner = child_of(scope);
        for (const auto& [target, value] : s.assignments) assign(*target, eval(*value, scope), inner);
        return exec_body(s.body, inner);
      }
    }
    return Flow::Normal;
  }

  Flow exec_for(const Stmt& s, const ScopePtr& scope) {
    List items = iterate(eval(*s.expr, scope));
    if (s.condition) {  // "for x in xs if cond": filter first, so loop.length counts kept items
      List kept;
      for (const Value& item : items) {
        count_iteration();
        ScopePtr probe = child_of(scope);
        assign(*s.target, item, probe);
        if (eval(*s.condition, probe).truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) return exec_body(s.else_body, scope);
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      count_iteration();
      ScopePtr iteration = child_of(scope);
      Dict loop;
      loop.set("index", Value::from_int(i + 1));
      loop.set("index0", Value::from_int(i));
      loop.set("revindex", Value::from_int(n - i));
      loop.set("revindex0", Value::from_int(n - i - 1));
      loop.set("first", Value::from_bool(i == 0));
      loop.set("last", Value::from_bool(i == n - 1));
      loop.set("length", Value::from_int(n));
      loop.set("depth", Value::from_int(1));
      loop.set("depth0", Value::from_int(0));
      if (i > 0) loop.set("previtem", items[static_cast<size_t>(i - 1)]);
      if (i + 1 < n) loop.set("nextitem", items[static_cast<size_t>(i + 1)]);
      loop.set("cycle", Value::callable("loop.cycle", [i](CallArgs& args) {
        if (args.positional.empty()) fail("no items for cycling given");
        return args.positional[static_cast<size_t>(i) % args.positional.size()];
      }));
      iteration->vars["loop"] = Value::from_dict(std::move(loop));
      assign(*s.target, items[static_cast<size_t>(i)], iteration);
      Flow flow = exec_body(s.body, iteration);
      if (flow == Flow::Break) break;
    }
    return Flow::Normal;
  }

  Value call_macro(const Stmt& m, const ScopePtr& defining, CallArgs& args) {
    DepthGuard guard(macro_depth_, kMaxMacroDepth, [&] {
      fail("macro '{}': calls nested deeper than {} (a macro calling itself or two macros calling each other; "
           "tinythink's limit for untrusted templates)", m.name, kMaxMacroDepth);
    });
    ScopePtr scope = child_of(defining);
    if (args.positional.size() > m.params.size())
      fail("macro '{}' takes not more than {} argument(s)", m.name, m.params.size());
    for (const auto& [key, _] : args.keyword)
      if (std::find(m.params.begin(), m.params.end(), key) == m.params.end())
        fail("macro '{}' takes no keyword argument '{}'", m.name, key);
    for (size_t i = 0; i < m.params.size(); ++i) {
      const Value* kw = args.kwarg(m.params[i]);
      if (i < args.positional.size()) {
        if (kw) fail("macro '{}' got multiple values for argument '{}'", m.name, m.params[i]);
        scope->vars[m.params[i]] = args.positional[i];
      } else if (kw) {
        scope->vars[m.params[i]] = *kw;
      } else if (m.defaults[i]) {
        scope->vars[m.params[i]] = eval(*m.defaults[i], scope);
      } else {
        scope->vars[m.params[i]] = Value::undefined(m.params[i]);  // jinja2: missing -> undefined
      }
    }
    return Value::from_string(capture(m.body, scope));
  }

 public:
  Value eval(const Expr& e, const ScopePtr& scope) {
    DepthGuard guard = deeper();
    return located(e.offset, [&] { return eval_node(e, scope); });
  }

 private:
  Value eval_node(const Expr& e, const ScopePtr& scope) {
    using K = Expr::Kind;
    switch (e.kind) {
      case K::Constant: return e.value;
      case K::Name: {
        if (const Value* v = scope->find(e.name)) return *v;
        return lookup_global(e.name);
      }
      case K::ListLit:
      case K::TupleLit: {
        List items;
        for (const auto& c : e.children) items.push_back(eval(*c, scope));
        return e.kind == K::ListLit ? Value::from_list(std::move(items)) : Value::from_tuple(std::move(items));
      }
      case K::DictLit: {
        Dict d;
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          Value key = eval(*e.children[i], scope);
          if (!key.is_string()) fail("dict keys other than strings are not supported by tinythink");
          d.set(key.string, eval(*e.children[i + 1], scope));
        }
        return Value::from_dict(std::move(d));
      }
      case K::Getattr: return get_attribute(eval(*e.children[0], scope), e.name);
      case K::Getitem: {
        Value obj = eval(*e.children[0], scope);
        return get_item(obj, eval(*e.children[1], scope));
      }
      case K::Slice: {
        Value obj = eval(*e.children[0], scope);
        Value parts[3];
        const Value* ptrs[3] = {nullptr, nullptr, nullptr};
        for (int i = 0; i < 3; ++i)
          if (e.children[static_cast<size_t>(i) + 1]) {
            parts[i] = eval(*e.children[static_cast<size_t>(i) + 1], scope);
            ptrs[i] = &parts[i];
          }
        return slice(obj, ptrs[0], ptrs[1], ptrs[2]);
      }
      case K::Call: {
        Value callee = eval(*e.children[0], scope);
        if (callee.is_undefined()) undefined_error(callee);
        if (callee.kind != Value::Kind::Callable) fail("'{}' object is not callable", callee.type_name());
        CallArgs args = eval_args(e, 1, scope);
        return (*callee.function)(args);
      }
      case K::Filter: {
        Value input = eval(*e.children[0], scope);
        CallArgs args = eval_args(e, 1, scope);
        return apply_filter(e.name, input, args);
      }
      case K::Test: {
        Value input = eval(*e.children[0], scope);
        CallArgs args = eval_args(e, 1, scope);
        return Value::from_bool(apply_test(e.name, input, args) != e.negated);
      }
      case K::Not: return Value::from_bool(!eval(*e.children[0], scope).truthy());
      case K::Negate:
      case K::Plus: {
        Value v = eval(*e.children[0], scope);
        if (v.is_undefined()) undefined_error(v);
        if (!v.is_number()) fail("bad operand type for unary {}: '{}'", e.kind == K::Negate ? "-" : "+", v.type_name());
        if (e.kind == K::Plus) return int_like(v) ? Value::from_int(as_int(v)) : v;
        return int_like(v) ? Value::from_int(checked_int("*", as_int(v), -1)) : Value::from_float(-v.number);
      }
      case K::Binary: {
        Value a = eval(*e.children[0], scope);
        Value b = eval(*e.children[1], scope);
        return arithmetic(e.name, a, b);
      }
      case K::Compare: {
        Value left = eval(*e.children[0], scope);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.children[i + 1], scope);
          const std::string& op = e.ops[i];
          bool ok;
          if (op == "==") ok = equals(left, right);
          else if (op == "!=") ok = !equals(left, right);
          else if (op == "in" || op == "not in") {
            CallArgs args;
            args.positional.push_back(right);
            ok = apply_test("in", left, args) == (op == "in");
          } else {
            if (left.is_undefined()) undefined_error(left);
            if (right.is_undefined()) undefined_error(right);
            int c = compare(left, right);
            ok = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
          }
          if (!ok) return Value::from_bool(false);
          left = std::move(right);
        }
        return Value::from_bool(true);
      }
      case K::And: {
        Value a = eval(*e.children[0], scope);
        return a.truthy() ? eval(*e.children[1], scope) : a;
      }
      case K::Or: {
        Value a = eval(*e.children[0], scope);
        return a.truthy() ? a : eval(*e.children[1], scope);
      }
      case K::Conditional:
        if (eval(*e.children[0], scope).truthy()) return eval(*e.children[1], scope);
        return e.children[2] ? eval(*e.children[2], scope) : Value::undefined();
    }
    return Value::undefined();
  }
};

// jinja2 rejects unknown filters and tests when compiling; so do we, naming the position even when
// the branch that uses them would not run.
void check_names(const Expr* e, const SourceInfo& info) {
  if (!e) return;
  if (e->kind == Expr::Kind::Filter && !has_filter(e->name))
    fail("{}: filter '{}' is not supported by tinythink", info.where(e->offset), e->name);
  if (e->kind == Expr::Kind::Test && !has_test(e->name))
    fail("{}: test '{}' is not supported by tinythink", info.where(e->offset), e->name);
  for (const auto& c : e->children) check_names(c.get(), info);
  for (const auto& [_, v] : e->kwargs) check_names(v.get(), info);
}
void check_names(const Body& body, const SourceInfo& info) {
  for (const auto& s : body) {
    for (const Expr* e : {s->expr.get(), s->target.get(), s->condition.get(), s->filter.get()}) check_names(e, info);
    for (const auto& [cond, branch] : s->branches) {
      check_names(cond.get(), info);
      check_names(branch, info);
    }
    for (const auto& [t, v] : s->assignments) check_names(v.get(), info);
    for (const auto& d : s->defaults) check_names(d.get(), info);
    check_names(s->body, info);
    check_names(s->else_body, info);
  }
}

}  // namespace

Template::Template(const std::string& source, std::string name) {
  std::string normalized = normalize_source(source);
  auto info = std::make_shared<SourceInfo>(std::move(name), normalized);
  auto body = std::make_shared<Body>(parse_template(tokenize(normalized, *info), *info));
  check_names(*body, *info);
  info_ = std::move(info);
  body_ = std::move(body);
}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

RenderResult Template::render(const nlohmann::ordered_json& variables) const {
  if (!variables.is_object()) fail("{}: template variables must be a JSON object", info_->name);
  Renderer renderer(*info_);
  auto root = std::make_shared<Scope>();
  for (auto it = variables.begin(); it != variables.end(); ++it) root->vars[it.key()] = Value::from_json(it.value());
  renderer.exec_body(*body_, root);
  return std::move(renderer.result);
}

}  // namespace tt::jinja
