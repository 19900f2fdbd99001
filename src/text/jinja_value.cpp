#include "text/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "text/jinja_limits.h"

namespace tt::jinja {
namespace {

// One level of a walk over nested values (str, repr, tojson, ==, <): bounded in depth and in the
// items visited by the whole walk (counted from the outermost level).
class NestedWalk {
 public:
  explicit NestedWalk(const char* what) {
    if (depth_ == 0) visited_ = 0;
    if (depth_ >= kMaxValueDepth)
      fail("jinja: {}: values nested deeper than {} levels (a list inside itself?); tinythink's limit for "
           "untrusted templates", what, kMaxValueDepth);
    if (++visited_ > kMaxWalkItems)
      fail("jinja: {}: more than {} nested items in one value; tinythink's limit for untrusted templates", what,
           kMaxWalkItems);
    ++depth_;
  }
  ~NestedWalk() { --depth_; }
  NestedWalk(const NestedWalk&) = delete;
  NestedWalk& operator=(const NestedWalk&) = delete;

 private:
  static thread_local int depth_;
  static thread_local int64_t visited_;
};
thread_local int NestedWalk::depth_ = 0;
thread_local int64_t NestedWalk::visited_ = 0;

// Lists and dicts are freed from a queue, not recursively: dropping a list nested 100,000 deep
// (one level per loop iteration) would otherwise recurse once per level in shared_ptr's
// destructor and overflow the stack. CPython's "trashcan" does the same.
struct ContainerReaper {
  std::vector<List*> lists;
  std::vector<Dict*> dicts;
  bool draining = false;

  void drain() {
    if (draining) return;
    draining = true;
    while (!lists.empty() || !dicts.empty()) {
      if (!lists.empty()) {
        List* l = lists.back();
        lists.pop_back();
        delete l;  // its items' containers are queued here, not freed inside this call
      } else {
        Dict* d = dicts.back();
        dicts.pop_back();
        delete d;
      }
    }
    draining = false;
  }
};
thread_local ContainerReaper reaper;

std::shared_ptr<List> make_list(List items) {
  return std::shared_ptr<List>(new List(std::move(items)), [](List* l) {
    reaper.lists.push_back(l);
    reaper.drain();
  });
}
std::shared_ptr<Dict> make_dict(Dict d) {
  return std::shared_ptr<Dict>(new Dict(std::move(d)), [](Dict* p) {
    reaper.dicts.push_back(p);
    reaper.drain();
  });
}

}  // namespace

const Value* Dict::find(const std::string& key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}
Value* Dict::find(const std::string& key) {
  for (auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}
void Dict::set(const std::string& key, Value value) {
  if (Value* existing = find(key))
    *existing = std::move(value);
  else
    entries.emplace_back(key, std::move(value));
}

const Value* CallArgs::kwarg(const std::string& name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return nullptr;
}

Value Value::undefined(std::string name) {
  Value v;
  v.string = std::move(name);
  return v;
}
Value Value::none() {
  Value v;
  v.kind = Kind::None;
  return v;
}
Value Value::from_bool(bool b) {
  Value v;
  v.kind = Kind::Bool;
  v.boolean = b;
  return v;
}
Value Value::from_int(int64_t i) {
  Value v;
  v.kind = Kind::Int;
  v.integer = i;
  return v;
}
Value Value::from_float(double d) {
  Value v;
  v.kind = Kind::Float;
  v.number = d;
  return v;
}
Value Value::from_string(std::string s) {
  Value v;
  v.kind = Kind::String;
  v.string = std::move(s);
  return v;
}
Value Value::from_list(List items) {
  Value v;
  v.kind = Kind::List;
  v.list = make_list(std::move(items));
  return v;
}
Value Value::from_tuple(List items) {
  Value v = from_list(std::move(items));
  v.kind = Kind::Tuple;
  return v;
}
Value Value::from_dict(Dict d) {
  Value v;
  v.kind = Kind::Dict;
  v.dict = make_dict(std::move(d));
  return v;
}
Value Value::new_namespace() {
  Value v = from_dict({});
  v.kind = Kind::Namespace;
  return v;
}
Value Value::callable(std::string name, Function fn) {
  Value v;
  v.kind = Kind::Callable;
  v.callable_name = std::move(name);
  v.function = std::make_shared<Function>(std::move(fn));
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return from_bool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return from_int(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: return from_int(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return from_float(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return from_string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List items;
      for (const auto& e : j) items.push_back(from_json(e));
      return from_list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d.entries.emplace_back(it.key(), from_json(it.value()));
      return from_dict(std::move(d));
    }
    default: fail("jinja: unsupported JSON value in template data");
  }
}

bool Value::truthy() const {
  switch (kind) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return boolean;
    case Kind::Int: return integer != 0;
    case Kind::Float: return number != 0;
    case Kind::String: return !string.empty();
    case Kind::List:
    case Kind::Tuple: return !list->empty();
    case Kind::Dict: return !dict->entries.empty();
    default: return true;
  }
}

double Value::as_double() const {
  if (kind == Kind::Float) return number;
  if (kind == Kind::Int) return static_cast<double>(integer);
  if (kind == Kind::Bool) return boolean ? 1 : 0;
  fail("jinja: expected a number, got {}", type_name());
}

std::string Value::type_name() const {
  switch (kind) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return "dict";
    case Kind::Namespace: return "Namespace";
    case Kind::Callable: return "function";
  }
  return "?";
}

bool equals(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.kind != K::Float && b.kind != K::Float) {
      int64_t x = a.kind == K::Bool ? a.boolean : a.integer, y = b.kind == K::Bool ? b.boolean : b.integer;
      return x == y;
    }
    return a.as_double() == b.as_double();
  }
  if (a.kind != b.kind) return false;
  NestedWalk walk("==");
  switch (a.kind) {
    case K::Undefined:
    case K::None: return true;
    case K::String: return a.string == b.string;
    case K::List:
    case K::Tuple:
      if (a.list == b.list) return true;  // Python compares items by identity first
      if (a.list->size() != b.list->size()) return false;
      for (size_t i = 0; i < a.list->size(); ++i)
        if (!equals((*a.list)[i], (*b.list)[i])) return false;
      return true;
    case K::Dict:
      if (a.dict == b.dict) return true;
      if (a.dict->entries.size() != b.dict->entries.size()) return false;
      for (const auto& [k, v] : a.dict->entries) {
        const Value* other = b.dict->find(k);
        if (!other || !equals(v, *other)) return false;
      }
      return true;
    case K::Namespace: return a.dict == b.dict;
    case K::Callable: return a.function == b.function;
    default: return false;
  }
}

int compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind == Value::Kind::Int && b.kind == Value::Kind::Int)
      return a.integer < b.integer ? -1 : a.integer > b.integer ? 1 : 0;
    double x = a.as_double(), y = b.as_double();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    // UTF-8 byte order is code point order, which is what Python compares.
    int c = a.string.compare(b.string);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.kind == b.kind && a.is_sequence()) {
    NestedWalk walk("<");
    size_t n = std::min(a.list->size(), b.list->size());
    for (size_t i = 0; i < n; ++i) {
      if (equals((*a.list)[i], (*b.list)[i])) continue;
      return compare((*a.list)[i], (*b.list)[i]);
    }
    return a.list->size() < b.list->size() ? -1 : a.list->size() > b.list->size() ? 1 : 0;
  }
  fail("jinja: '<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name());
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then Python's layout: fixed for 1e-4 <= |d| < 1e16, else exponent.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e_pos = sci.find('e');
  std::string digits;
  for (size_t i = 0; i < e_pos; ++i)
    if (sci[i] != '.') digits += sci[i];
  int exponent = std::atoi(sci.c_str() + e_pos + 1);
  std::string out = negative ? "-" : "";
  if (exponent >= -5 + 1 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out += digits + std::string(static_cast<size_t>(exponent + 1 - static_cast<int>(digits.size())), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exponent + 1)) + "." + digits.substr(static_cast<size_t>(exponent + 1));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_buf;
}

namespace {

// str.isprintable() for the code points a chat is likely to contain: controls, the non-ASCII
// spaces and separators, and the common format characters are not printable.
bool py_printable(char32_t c) {
  if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad) return false;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f)) return false;
  if ((c >= 0x205f && c <= 0x2064) || c == 0x3000 || c == 0xfeff) return false;
  return true;
}

std::string string_repr(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos, has_double = s.find('"') != std::string::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : utf8_decode(s)) {
    char buf[16];
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (py_printable(c)) {
      utf8_append(out, c);
    } else {
      if (c <= 0xff)
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      else if (c <= 0xffff)
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      else
        std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
      out += buf;
    }
  }
  out += quote;
  return out;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

void json_into(std::string& out, const Value& v, int indent, int depth, bool sort_keys, const std::string& item_sep,
               const std::string& key_sep) {
  using K = Value::Kind;
  NestedWalk walk("tojson");
  check_string_size(out.size(), "tojson's output size in bytes");
  auto newline = [&](int level) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * level), ' ');
  };
  switch (v.kind) {
    case K::None: out += "null"; return;
    case K::Bool: out += v.boolean ? "true" : "false"; return;
    case K::Int: out += std::to_string(v.integer); return;
    case K::Float:
      if (std::isnan(v.number)) out += "NaN";
      else if (std::isinf(v.number)) out += v.number > 0 ? "Infinity" : "-Infinity";
      else out += float_repr(v.number);
      return;
    case K::String: out += json_string(v.string); return;
    case K::List:
    case K::Tuple:
      if (v.list->empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < v.list->size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        json_into(out, (*v.list)[i], indent, depth + 1, sort_keys, item_sep, key_sep);
      }
      newline(depth);
      out += ']';
      return;
    case K::Dict: {
      if (v.dict->entries.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& e : v.dict->entries) entries.push_back(&e);
      if (sort_keys)
        std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        out += json_string(entries[i]->first) + key_sep;
        json_into(out, entries[i]->second, indent, depth + 1, sort_keys, item_sep, key_sep);
      }
      newline(depth);
      out += '}';
      return;
    }
    default: fail("jinja: tojson: Object of type {} is not JSON serializable", v.type_name());
  }
}

}  // namespace

std::string to_json(const Value& v, int indent, bool sort_keys, const std::string& item_separator,
                    const std::string& key_separator) {
  std::string out;
  json_into(out, v, indent, 0, sort_keys, item_separator, key_separator);
  return out;
}

std::string to_repr(const Value& v) {
  using K = Value::Kind;
  switch (v.kind) {
    case K::String: return string_repr(v.string);
    case K::Undefined: return "Undefined";
    default: return to_str(v);
  }
}

std::string to_str(const Value& v) {
  using K = Value::Kind;
  switch (v.kind) {
    case K::Undefined: return "";
    case K::None: return "None";
    case K::Bool: return v.boolean ? "True" : "False";
    case K::Int: return std::to_string(v.integer);
    case K::Float: return float_repr(v.number);
    case K::String: return v.string;
    case K::List:
    case K::Tuple: {
      NestedWalk walk("str");
      bool tuple = v.kind == K::Tuple;
      std::string out = tuple ? "(" : "[";
      for (size_t i = 0; i < v.list->size(); ++i) {
        if (i) out += ", ";
        out += to_repr((*v.list)[i]);
        check_string_size(out.size(), "a printed list's size in bytes");
      }
      if (tuple && v.list->size() == 1) out += ",";
      return out + (tuple ? ")" : "]");
    }
    case K::Dict:
    case K::Namespace: {
      NestedWalk walk("str");
      std::string out = "{";
      for (size_t i = 0; i < v.dict->entries.size(); ++i) {
        if (i) out += ", ";
        out += string_repr(v.dict->entries[i].first) + ": " + to_repr(v.dict->entries[i].second);
        check_string_size(out.size(), "a printed dict's size in bytes");
      }
      out += "}";
      return v.kind == K::Namespace ? "<Namespace " + out + ">" : out;
    }
    case K::Callable: fail("jinja: cannot print the function '{}' (its Python repr has a memory address)", v.callable_name);
  }
  return "";
}

std::u32string utf8_decode(const std::string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + static_cast<size_t>(len) > s.size()) {
      out += U'\uFFFD';
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3f);
    out += cp;
    i += static_cast<size_t>(len);
  }
  return out;
}

void utf8_append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

std::string utf8_encode(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) utf8_append(out, c);
  return out;
}

bool is_py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

std::string py_strip(const std::string& s, bool left, bool right, const std::string* chars) {
  std::u32string text = utf8_decode(s);
  std::u32string set = chars ? utf8_decode(*chars) : std::u32string();
  auto strip_this = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : is_py_space(c); };
  size_t begin = 0, end = text.size();
  if (left)
    while (begin < end && strip_this(text[begin])) ++begin;
  if (right)
    while (end > begin && strip_this(text[end - 1])) --end;
  return utf8_encode(text.substr(begin, end - begin));
}

}  // namespace tt::jinja
