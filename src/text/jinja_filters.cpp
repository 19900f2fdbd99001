// Jinja2 built-in filters and tests (jinja2/filters.py, jinja2/tests.py), plus transformers'
// tojson override. Each follows the Python source's behaviour on the values a template can hold.
#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "text/jinja_builtins.h"
#include "text/jinja_limits.h"

namespace tt::jinja {

ArgReader::ArgReader(const char* function, CallArgs& args, std::vector<const char*> names)
    : function_(function), bound_(names.size(), nullptr) {
  if (args.positional.size() > names.size())
    fail("{}() takes at most {} arguments ({} given)", function, names.size(), args.positional.size());
  for (size_t i = 0; i < args.positional.size(); ++i) bound_[i] = &args.positional[i];
  for (const auto& [key, value] : args.keyword) {
    auto it = std::find_if(names.begin(), names.end(), [&key = key](const char* n) { return key == n; });
    if (it == names.end()) fail("{}() got an unexpected keyword argument '{}'", function, key);
    size_t index = static_cast<size_t>(it - names.begin());
    if (bound_[index]) fail("{}() got multiple values for argument '{}'", function, key);
    bound_[index] = &value;
  }
}
const Value* ArgReader::get(size_t index) const { return index < bound_.size() ? bound_[index] : nullptr; }
Value ArgReader::get_or(size_t index, Value fallback) const {
  const Value* v = get(index);
  return v ? *v : fallback;
}
std::string ArgReader::string_or(size_t index, std::string fallback) const {
  const Value* v = get(index);
  if (!v || v->is_none()) return fallback;
  if (!v->is_string()) fail("{}(): expected a string argument, got {}", function_, v->type_name());
  return v->string;
}
int64_t ArgReader::int_or(size_t index, int64_t fallback) const {
  const Value* v = get(index);
  if (!v || v->is_none()) return fallback;
  if (v->kind == Value::Kind::Bool) return v->boolean;
  if (v->kind != Value::Kind::Int) fail("{}(): expected an integer argument, got {}", function_, v->type_name());
  return v->integer;
}
bool ArgReader::bool_or(size_t index, bool fallback) const {
  const Value* v = get(index);
  return v ? v->truthy() : fallback;
}

namespace {

using Filter = Value (*)(const Value&, CallArgs&);
using Test = bool (*)(const Value&, CallArgs&);

Value must_be_defined(const Value& v) {
  if (v.is_undefined()) fail("'{}' is undefined", v.string.empty() ? "value" : v.string);
  return v;
}

// jinja2's make_attrgetter: "a.b.0" walks items (getitem, then attribute), integers as indices.
Value get_path(const Value& item, const std::string& path) {
  Value cur = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = get_item(cur, numeric ? Value::from_int(std::stoll(part)) : Value::from_string(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

std::vector<std::string> split_lines(const std::string& s) {  // str.splitlines()
  std::vector<std::string> lines;
  std::u32string text = utf8_decode(s), line;
  for (size_t i = 0; i < text.size(); ++i) {
    char32_t c = text[i];
    bool brk = c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e) || c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!brk) {
      line += c;
      continue;
    }
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    lines.push_back(utf8_encode(line));
    line.clear();
  }
  if (!line.empty()) lines.push_back(utf8_encode(line));
  return lines;
}

Value f_trim(const Value& v, CallArgs& a) {
  ArgReader r("trim", a, {"chars"});
  const Value* chars = r.get(0);
  std::string set = chars && !chars->is_none() ? chars->string : "";
  return Value::from_string(py_strip(to_str(v), true, true, chars && !chars->is_none() ? &set : nullptr));
}

// transformers replaces jinja's tojson with json.dumps(x, ensure_ascii=False, indent=indent,
// separators=separators, sort_keys=sort_keys), so the output is not HTML-escaped.
Value f_tojson(const Value& v, CallArgs& a) {
  ArgReader r("tojson", a, {"ensure_ascii", "indent", "separators", "sort_keys"});
  if (r.bool_or(0, false)) fail("tojson(ensure_ascii=True) is not supported by tinythink");
  int64_t indent_arg = r.int_or(1, -1);
  check_size(static_cast<size_t>(std::max<int64_t>(indent_arg, 0)), 1024, "tojson()'s indent");
  int indent = static_cast<int>(indent_arg);
  std::string item_sep = indent < 0 ? ", " : ",", key_sep = ": ";
  if (const Value* sep = r.get(2); sep && !sep->is_none()) {
    if (!sep->is_sequence() || sep->list->size() != 2 || !(*sep->list)[0].is_string() || !(*sep->list)[1].is_string())
      fail("tojson(): separators must be a pair of strings");
    item_sep = (*sep->list)[0].string;
    key_sep = (*sep->list)[1].string;
  }
  return Value::from_string(to_json(v, indent, r.bool_or(3, false), item_sep, key_sep));
}

Value f_length(const Value& v, CallArgs& a) {
  ArgReader("length", a, {});
  return Value::from_int(static_cast<int64_t>(py_len(v)));
}
Value f_upper(const Value& v, CallArgs& a) {
  ArgReader("upper", a, {});
  return Value::from_string(py_upper(to_str(v)));
}
Value f_lower(const Value& v, CallArgs& a) {
  ArgReader("lower", a, {});
  return Value::from_string(py_lower(to_str(v)));
}
Value f_capitalize(const Value& v, CallArgs& a) {
  ArgReader("capitalize", a, {});
  std::u32string s = utf8_decode(to_str(v));
  if (s.empty()) return Value::from_string("");
  return Value::from_string(py_upper(utf8_encode(s.substr(0, 1))) + py_lower(utf8_encode(s.substr(1))));
}
// jinja's title: split at runs of [-\s({\[<], upper-case each piece's first char, lower the rest.
Value f_title(const Value& v, CallArgs& a) {
  ArgReader("title", a, {});
  std::u32string s = utf8_decode(to_str(v));
  std::string out;
  auto is_sep = [](char32_t c) { return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || is_py_space(c); };
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    bool sep = is_sep(s[i]);
    while (j < s.size() && is_sep(s[j]) == sep) ++j;
    (void)sep;
    out += py_upper(utf8_encode(s.substr(i, 1))) + py_lower(utf8_encode(s.substr(i + 1, j - i - 1)));
    i = j;
  }
  return Value::from_string(out);
}
Value f_replace(const Value& v, CallArgs& a) {
  ArgReader r("replace", a, {"old", "new", "count"});
  if (!r.get(0) || !r.get(1)) fail("replace() needs old and new");
  return Value::from_string(py_replace(to_str(v), to_str(*r.get(0)), to_str(*r.get(1)), r.int_or(2, -1)));
}
Value f_join(const Value& v, CallArgs& a) {
  ArgReader r("join", a, {"d", "attribute"});
  std::string sep = r.get(0) ? to_str(*r.get(0)) : "";
  const Value* attribute = r.get(1);
  std::string out;
  bool first = true;
  for (const Value& item : iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += to_str(attribute && !attribute->is_none() ? get_path(item, to_str(*attribute)) : item);
    check_string_size(out.size(), "join()'s result size in bytes");
  }
  return Value::from_string(out);
}
Value f_default(const Value& v, CallArgs& a) {
  ArgReader r("default", a, {"default_value", "boolean"});
  bool use_default = v.is_undefined() || (r.bool_or(1, false) && !v.truthy());
  return use_default ? r.get_or(0, Value::from_string("")) : v;
}
Value f_first(const Value& v, CallArgs& a) {
  ArgReader("first", a, {});
  List items = iterate(must_be_defined(v));
  return items.empty() ? Value::undefined("first item") : items.front();
}
Value f_last(const Value& v, CallArgs& a) {
  ArgReader("last", a, {});
  List items = iterate(must_be_defined(v));
  return items.empty() ? Value::undefined("last item") : items.back();
}
Value f_string(const Value& v, CallArgs& a) {
  ArgReader("string", a, {});
  return Value::from_string(to_str(v));
}
Value f_int(const Value& v, CallArgs& a) {
  ArgReader r("int", a, {"default", "base"});
  Value fallback = r.get_or(0, Value::from_int(0));
  if (r.int_or(1, 10) != 10) fail("int(base=...) is not supported by tinythink");
  switch (v.kind) {
    case Value::Kind::Int: return v;
    case Value::Kind::Bool: return Value::from_int(v.boolean);
    case Value::Kind::Float: return std::isfinite(v.number) ? Value::from_int(static_cast<int64_t>(v.number)) : fallback;
    case Value::Kind::String: {
      std::string s = py_strip(v.string, true, true);
      char* end = nullptr;
      errno = 0;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && *end == 0 && errno == 0) return Value::from_int(i);
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && *end == 0 && std::isfinite(d)) return Value::from_int(static_cast<int64_t>(d));
      return fallback;
    }
    default: return fallback;
  }
}
Value f_float(const Value& v, CallArgs& a) {
  ArgReader r("float", a, {"default"});
  Value fallback = r.get_or(0, Value::from_float(0.0));
  if (v.is_number()) return Value::from_float(v.as_double());
  if (v.is_string()) {
    std::string s = py_strip(v.string, true, true);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == 0) return Value::from_float(d);
  }
  return fallback;
}
Value f_list(const Value& v, CallArgs& a) {
  ArgReader("list", a, {});
  return Value::from_list(iterate(must_be_defined(v)));
}
Value f_items(const Value& v, CallArgs& a) {
  ArgReader("items", a, {});
  if (v.is_undefined()) return Value::from_list({});
  if (!v.is_mapping()) fail("items(): can only get item pairs from a mapping, got {}", v.type_name());
  List out;
  for (const auto& [k, val] : v.dict->entries) out.push_back(Value::from_tuple({Value::from_string(k), val}));
  return Value::from_list(std::move(out));
}
Value f_dictsort(const Value& v, CallArgs& a) {
  ArgReader r("dictsort", a, {"case_sensitive", "by", "reverse"});
  if (!v.is_mapping()) fail("dictsort(): expected a mapping, got {}", v.type_name());
  bool case_sensitive = r.bool_or(0, false), by_value = r.string_or(1, "key") == "value", reverse = r.bool_or(2, false);
  List out;
  for (const auto& [k, val] : v.dict->entries) out.push_back(Value::from_tuple({Value::from_string(k), val}));
  auto key = [&](const Value& pair) {
    Value k = (*pair.list)[by_value ? 1 : 0];
    return !case_sensitive && k.is_string() ? Value::from_string(py_lower(k.string)) : k;
  };
  std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
    return reverse ? compare(key(y), key(x)) < 0 : compare(key(x), key(y)) < 0;
  });
  return Value::from_list(std::move(out));
}

// select/reject/selectattr/rejectattr share this: keep items whose (attribute's) test result == want.
Value select_impl(const char* name, const Value& v, CallArgs& a, bool by_attribute, bool want) {
  List out;
  size_t first_arg = by_attribute ? 1 : 0;
  if (by_attribute && a.positional.empty()) fail("{}() needs an attribute name", name);
  std::string attribute = by_attribute ? to_str(a.positional[0]) : "";
  std::string test = a.positional.size() > first_arg ? to_str(a.positional[first_arg]) : "";
  if (!a.keyword.empty()) fail("{}() takes no keyword arguments", name);
  CallArgs test_args;
  for (size_t i = first_arg + 1; i < a.positional.size(); ++i) test_args.positional.push_back(a.positional[i]);
  for (const Value& item : iterate(v)) {
    Value subject = by_attribute ? get_path(item, attribute) : item;
    CallArgs args_copy = test_args;
    bool result = test.empty() ? subject.truthy() : apply_test(test, subject, args_copy);
    if (result == want) out.push_back(item);
  }
  // jinja2 returns a generator; a list iterates, tests and counts (via |list) the same way.
  return Value::from_list(std::move(out));
}
Value f_select(const Value& v, CallArgs& a) { return select_impl("select", v, a, false, true); }
Value f_reject(const Value& v, CallArgs& a) { return select_impl("reject", v, a, false, false); }
Value f_selectattr(const Value& v, CallArgs& a) { return select_impl("selectattr", v, a, true, true); }
Value f_rejectattr(const Value& v, CallArgs& a) { return select_impl("rejectattr", v, a, true, false); }

Value f_map(const Value& v, CallArgs& a) {
  List out;
  if (const Value* attribute = a.kwarg("attribute")) {
    const Value* fallback = a.kwarg("default");
    for (const Value& item : iterate(v)) {
      Value x = get_path(item, to_str(*attribute));
      out.push_back(x.is_undefined() && fallback ? *fallback : x);
    }
    return Value::from_list(std::move(out));
  }
  if (a.positional.empty()) fail("map() needs a filter name or attribute=");
  std::string filter = to_str(a.positional[0]);
  CallArgs rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const Value& item : iterate(v)) {
    CallArgs copy = rest;
    out.push_back(apply_filter(filter, item, copy));
  }
  return Value::from_list(std::move(out));
}
Value f_safe(const Value& v, CallArgs& a) {
  ArgReader("safe", a, {});
  return v;  // autoescape is off: Markup and str render the same
}
Value f_escape(const Value& v, CallArgs& a) {
  ArgReader("escape", a, {});
  std::string out;
  for (char c : to_str(v)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return Value::from_string(out);
}
Value f_indent(const Value& v, CallArgs& a) {
  ArgReader r("indent", a, {"width", "first", "blank"});
  std::string indention;
  if (const Value* w = r.get(0); w && w->is_string())
    indention = w->string;
  else
  {
    int64_t width = r.int_or(0, 4);
    check_string_size(static_cast<size_t>(std::max<int64_t>(width, 0)), "indent()'s width");
    indention = std::string(static_cast<size_t>(std::max<int64_t>(width, 0)), ' ');
  }
  std::vector<std::string> lines = split_lines(to_str(v) + "\n");
  std::string out;
  if (r.bool_or(2, false)) {
    for (size_t i = 0; i < lines.size(); ++i) out += (i ? "\n" + indention : "") + lines[i];
  } else {
    out = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) out += "\n" + (lines[i].empty() ? "" : indention + lines[i]);
  }
  if (r.bool_or(1, false)) out = indention + out;
  return Value::from_string(out);
}
Value f_abs(const Value& v, CallArgs& a) {
  ArgReader("abs", a, {});
  if (v.kind == Value::Kind::Int) return Value::from_int(v.integer < 0 ? -v.integer : v.integer);
  return Value::from_float(std::fabs(v.as_double()));
}
Value f_reverse(const Value& v, CallArgs& a) {
  ArgReader("reverse", a, {});
  if (v.is_string()) {
    std::u32string s = utf8_decode(v.string);
    std::reverse(s.begin(), s.end());
    return Value::from_string(utf8_encode(s));
  }
  List items = iterate(must_be_defined(v));
  std::reverse(items.begin(), items.end());
  return Value::from_list(std::move(items));
}
Value f_sort(const Value& v, CallArgs& a) {
  ArgReader r("sort", a, {"reverse", "case_sensitive", "attribute"});
  bool reverse = r.bool_or(0, false), case_sensitive = r.bool_or(1, false);
  std::string attribute = r.string_or(2, "");
  List items = iterate(must_be_defined(v));
  auto key = [&](const Value& x) {
    Value k = attribute.empty() ? x : get_path(x, attribute);
    return !case_sensitive && k.is_string() ? Value::from_string(py_lower(k.string)) : k;
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    return reverse ? compare(key(y), key(x)) < 0 : compare(key(x), key(y)) < 0;
  });
  return Value::from_list(std::move(items));
}
Value f_attr(const Value& v, CallArgs& a) {
  ArgReader r("attr", a, {"name"});
  return get_attribute(v, r.string_or(0, ""));
}

const std::map<std::string, Filter>& filters() {
  static const std::map<std::string, Filter> table = {
      {"trim", f_trim},           {"tojson", f_tojson},       {"length", f_length},         {"count", f_length},
      {"upper", f_upper},         {"lower", f_lower},         {"title", f_title},           {"capitalize", f_capitalize},
      {"replace", f_replace},     {"join", f_join},           {"default", f_default},       {"d", f_default},
      {"first", f_first},         {"last", f_last},           {"string", f_string},         {"int", f_int},
      {"float", f_float},         {"list", f_list},           {"items", f_items},           {"dictsort", f_dictsort},
      {"select", f_select},       {"reject", f_reject},       {"selectattr", f_selectattr}, {"rejectattr", f_rejectattr},
      {"map", f_map},             {"safe", f_safe},           {"escape", f_escape},         {"e", f_escape},
      {"indent", f_indent},       {"abs", f_abs},             {"reverse", f_reverse},       {"sort", f_sort},
      {"attr", f_attr},
  };
  return table;
}

// ---- tests ----

Value one_arg(const char* name, CallArgs& a) {
  if (a.positional.size() != 1 || !a.keyword.empty()) fail("test '{}' takes exactly one argument", name);
  return a.positional[0];
}
bool t_defined(const Value& v, CallArgs&) { return !v.is_undefined(); }
bool t_undefined(const Value& v, CallArgs&) { return v.is_undefined(); }
bool t_none(const Value& v, CallArgs&) { return v.is_none(); }
bool t_boolean(const Value& v, CallArgs&) { return v.kind == Value::Kind::Bool; }
bool t_true(const Value& v, CallArgs&) { return v.kind == Value::Kind::Bool && v.boolean; }
bool t_false(const Value& v, CallArgs&) { return v.kind == Value::Kind::Bool && !v.boolean; }
bool t_integer(const Value& v, CallArgs&) { return v.kind == Value::Kind::Int; }
bool t_float(const Value& v, CallArgs&) { return v.kind == Value::Kind::Float; }
bool t_number(const Value& v, CallArgs&) { return v.is_number(); }
bool t_string(const Value& v, CallArgs&) { return v.is_string(); }
bool t_mapping(const Value& v, CallArgs&) { return v.is_mapping(); }
// Undefined is iterable (as empty) and even a "sequence" in jinja2: it defines __len__/__iter__.
bool t_iterable(const Value& v, CallArgs&) { return v.is_string() || v.is_sequence() || v.is_mapping() || v.is_undefined(); }
bool t_sequence(const Value& v, CallArgs& a) { return t_iterable(v, a); }
bool t_callable(const Value& v, CallArgs&) { return v.kind == Value::Kind::Callable || v.is_undefined(); }
bool t_even(const Value& v, CallArgs&) { return v.kind == Value::Kind::Int ? v.integer % 2 == 0 : fmod(v.as_double(), 2) == 0; }
bool t_odd(const Value& v, CallArgs& a) { return !t_even(v, a); }
bool t_divisibleby(const Value& v, CallArgs& a) {
  Value d = one_arg("divisibleby", a);
  if (v.kind == Value::Kind::Int && d.kind == Value::Kind::Int) {
    if (d.integer == 0) fail("integer division or modulo by zero");
    return v.integer % d.integer == 0;
  }
  return std::fmod(v.as_double(), d.as_double()) == 0;
}
bool t_eq(const Value& v, CallArgs& a) { return equals(v, one_arg("eq", a)); }
bool t_ne(const Value& v, CallArgs& a) { return !equals(v, one_arg("ne", a)); }
bool t_lt(const Value& v, CallArgs& a) { return compare(v, one_arg("lt", a)) < 0; }
bool t_le(const Value& v, CallArgs& a) { return compare(v, one_arg("le", a)) <= 0; }
bool t_gt(const Value& v, CallArgs& a) { return compare(v, one_arg("gt", a)) > 0; }
bool t_ge(const Value& v, CallArgs& a) { return compare(v, one_arg("ge", a)) >= 0; }
bool t_in(const Value& v, CallArgs& a) {
  Value container = one_arg("in", a);
  if (container.is_string()) {
    if (!v.is_string()) fail("'in <string>' requires string as left operand, not {}", v.type_name());
    return container.string.find(v.string) != std::string::npos;
  }
  if (container.is_mapping()) return v.is_string() && container.dict->find(v.string);
  for (const Value& item : iterate(container))
    if (equals(item, v)) return true;
  return false;
}
bool t_sameas(const Value& v, CallArgs& a) {
  Value other = one_arg("sameas", a);
  if (v.kind != other.kind) return false;
  switch (v.kind) {
    case Value::Kind::None:
    case Value::Kind::Undefined: return true;
    case Value::Kind::Bool: return v.boolean == other.boolean;
    case Value::Kind::List:
    case Value::Kind::Tuple: return v.list == other.list;
    case Value::Kind::Dict:
    case Value::Kind::Namespace: return v.dict == other.dict;
    default: fail("'sameas' on {} values is not supported by tinythink (identity of Python objects)", v.type_name());
  }
}
bool t_lower(const Value& v, CallArgs&) {
  std::string s = to_str(v);
  return py_lower(s) == s && py_upper(s) != s;
}
bool t_upper(const Value& v, CallArgs&) {
  std::string s = to_str(v);
  return py_upper(s) == s && py_lower(s) != s;
}
bool t_escaped(const Value&, CallArgs&) { return false; }

const std::map<std::string, Test>& tests() {
  static const std::map<std::string, Test> table = {
      {"defined", t_defined},   {"undefined", t_undefined}, {"none", t_none},       {"boolean", t_boolean},
      {"true", t_true},         {"false", t_false},         {"integer", t_integer}, {"float", t_float},
      {"number", t_number},     {"string", t_string},       {"mapping", t_mapping}, {"iterable", t_iterable},
      {"sequence", t_sequence}, {"callable", t_callable},   {"even", t_even},       {"odd", t_odd},
      {"divisibleby", t_divisibleby},
      {"eq", t_eq},             {"equalto", t_eq},          {"==", t_eq},           {"ne", t_ne},
      {"!=", t_ne},             {"lt", t_lt},               {"lessthan", t_lt},     {"<", t_lt},
      {"le", t_le},             {"<=", t_le},               {"gt", t_gt},           {"greaterthan", t_gt},
      {">", t_gt},              {"ge", t_ge},               {">=", t_ge},           {"in", t_in},
      {"sameas", t_sameas},     {"lower", t_lower},         {"upper", t_upper},     {"escaped", t_escaped},
  };
  return table;
}

}  // namespace

bool has_filter(const std::string& name) { return filters().count(name) > 0; }
bool has_test(const std::string& name) { return tests().count(name) > 0; }

Value apply_filter(const std::string& name, const Value& input, CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) fail("filter '{}' is not supported by tinythink", name);
  return it->second(input, args);
}

bool apply_test(const std::string& name, const Value& input, CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) fail("test '{}' is not supported by tinythink", name);
  return it->second(input, args);
}

}  // namespace tt::jinja
