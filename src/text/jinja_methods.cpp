// Attribute and item access with jinja2's fallbacks, Python's str/dict methods, and the globals
// transformers puts in a chat template's environment.
#include <algorithm>
#include <ctime>

#include "core/error.h"
#include "text/jinja_builtins.h"
#include "text/jinja_limits.h"

namespace tt::jinja {

namespace {

// Simple case mapping: ASCII, Latin-1, Greek and Cyrillic, which covers the chats we render.
char32_t upper_cp(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if ((c >= 0xe0 && c <= 0xfe && c != 0xf7)) return c - 0x20;
  if (c == 0xff) return 0x178;
  if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) return c - 0x20;
  if (c >= 0x430 && c <= 0x44f) return c - 0x20;
  if (c >= 0x450 && c <= 0x45f) return c - 0x50;
  return c;
}
char32_t lower_cp(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if ((c >= 0xc0 && c <= 0xde && c != 0xd7)) return c + 0x20;
  if (c == 0x178) return 0xff;
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 0x20;
  if (c >= 0x410 && c <= 0x42f) return c + 0x20;
  if (c >= 0x400 && c <= 0x40f) return c + 0x50;
  return c;
}
bool is_cased(char32_t c) { return upper_cp(c) != c || lower_cp(c) != c; }

std::u32string map_cp(const std::string& s, char32_t (*f)(char32_t)) {
  std::u32string t = utf8_decode(s);
  for (auto& c : t) {
    if (c == 0xdf && f == upper_cp) fail("upper-casing 'ß' is not supported by tinythink");
    c = f(c);
  }
  return t;
}

Value method(const Value& self, std::string name, std::function<Value(const Value&, CallArgs&)> fn) {
  return Value::callable(name, [self, fn = std::move(fn)](CallArgs& args) { return fn(self, args); });
}

std::string need_str(const Value& v, const char* what) {
  if (!v.is_string()) fail("{}: expected a str, got {}", what, v.type_name());
  return v.string;
}

// str.split(sep=None, maxsplit=-1)
Value str_split(const std::string& s, const Value* sep_value, int64_t maxsplit) {
  List parts;
  if (!sep_value || sep_value->is_none()) {
    std::u32string t = utf8_decode(s);
    size_t i = 0;
    while (true) {
      while (i < t.size() && is_py_space(t[i])) ++i;
      if (i >= t.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        size_t end = t.size();
        while (end > i && is_py_space(t[end - 1])) --end;
        parts.push_back(Value::from_string(utf8_encode(t.substr(i, end - i))));
        break;
      }
      size_t j = i;
      while (j < t.size() && !is_py_space(t[j])) ++j;
      parts.push_back(Value::from_string(utf8_encode(t.substr(i, j - i))));
      i = j;
    }
    return Value::from_list(std::move(parts));
  }
  std::string sep = need_str(*sep_value, "split");
  if (sep.empty()) fail("split(): empty separator");
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    if (at == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit)) {
      parts.push_back(Value::from_string(s.substr(start)));
      break;
    }
    parts.push_back(Value::from_string(s.substr(start, at - start)));
    start = at + sep.size();
  }
  return Value::from_list(std::move(parts));
}

bool affix_match(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const std::string& a) {
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (affix.kind == Value::Kind::Tuple) {
    for (const Value& a : *affix.list)
      if (one(need_str(a, prefix ? "startswith" : "endswith"))) return true;
    return false;
  }
  return one(need_str(affix, prefix ? "startswith" : "endswith"));
}

Value string_method(const Value& self, const std::string& name) {
  using A = CallArgs;
  if (name == "strip" || name == "lstrip" || name == "rstrip")
    return method(self, name, [name](const Value& s, A& a) {
      ArgReader r(name.c_str(), a, {"chars"});
      const Value* chars = r.get(0);
      std::string set = chars && !chars->is_none() ? need_str(*chars, name.c_str()) : "";
      return Value::from_string(py_strip(s.string, name != "rstrip", name != "lstrip", chars && !chars->is_none() ? &set : nullptr));
    });
  if (name == "split")
    return method(self, name, [](const Value& s, A& a) {
      ArgReader r("split", a, {"sep", "maxsplit"});
      return str_split(s.string, r.get(0), r.int_or(1, -1));
    });
  if (name == "startswith" || name == "endswith")
    return method(self, name, [name](const Value& s, A& a) {
      ArgReader r(name.c_str(), a, {"prefix"});
      if (!r.get(0)) fail("{}() takes at least 1 argument", name);
      return Value::from_bool(affix_match(s.string, *r.get(0), name == "startswith"));
    });
  if (name == "upper" || name == "lower")
    return method(self, name, [name](const Value& s, A& a) {
      ArgReader(name.c_str(), a, {});
      return Value::from_string(name == "upper" ? py_upper(s.string) : py_lower(s.string));
    });
  if (name == "title" || name == "capitalize")
    return method(self, name, [name](const Value& s, A& a) {
      ArgReader(name.c_str(), a, {});
      std::u32string t = utf8_decode(s.string);
      bool previous_cased = false;
      for (size_t i = 0; i < t.size(); ++i) {
        bool make_upper = name == "title" ? !previous_cased : i == 0;
        char32_t c = t[i];
        t[i] = make_upper ? upper_cp(c) : lower_cp(c);
        previous_cased = is_cased(c);
      }
      return Value::from_string(utf8_encode(t));
    });
  if (name == "replace")
    return method(self, name, [](const Value& s, A& a) {
      ArgReader r("replace", a, {"old", "new", "count"});
      if (!r.get(0) || !r.get(1)) fail("replace() takes at least 2 arguments");
      return Value::from_string(py_replace(s.string, need_str(*r.get(0), "replace"), need_str(*r.get(1), "replace"), r.int_or(2, -1)));
    });
  if (name == "find" || name == "count")
    return method(self, name, [name](const Value& s, A& a) {
      ArgReader r(name.c_str(), a, {"sub"});
      if (!r.get(0)) fail("{}() takes at least 1 argument", name);
      std::string sub = need_str(*r.get(0), name.c_str());
      if (name == "find") {
        size_t at = s.string.find(sub);
        return Value::from_int(at == std::string::npos ? -1 : static_cast<int64_t>(utf8_decode(s.string.substr(0, at)).size()));
      }
      if (sub.empty()) return Value::from_int(static_cast<int64_t>(utf8_decode(s.string).size() + 1));
      int64_t n = 0;
      for (size_t at = s.string.find(sub); at != std::string::npos; at = s.string.find(sub, at + sub.size())) ++n;
      return Value::from_int(n);
    });
  if (name == "join")
    return method(self, name, [](const Value& s, A& a) {
      ArgReader r("join", a, {"iterable"});
      if (!r.get(0)) fail("join() takes exactly one argument");
      std::string out;
      bool first = true;
      for (const Value& item : iterate(*r.get(0))) {
        if (!first) out += s.string;
        first = false;
        out += need_str(item, "join");
        check_string_size(out.size(), "join()'s result size in bytes");
      }
      return Value::from_string(out);
    });
  if (name == "splitlines" || name == "isdigit" || name == "isspace" || name == "isalpha" || name == "format" ||
      name == "rsplit" || name == "index" || name == "rfind" || name == "zfill" || name == "center" ||
      name == "ljust" || name == "rjust" || name == "encode" || name == "removeprefix" || name == "removesuffix")
    return method(self, name, [name](const Value&, A&) -> Value {
      fail("str.{}() is not supported by tinythink", name);
    });
  return Value::undefined(name);
}

Value dict_method(const Value& self, const std::string& name) {
  using A = CallArgs;
  if (name == "items" || name == "keys" || name == "values")
    return method(self, name, [name](const Value& d, A& a) {
      ArgReader(name.c_str(), a, {});
      List out;
      for (const auto& [k, v] : d.dict->entries) {
        if (name == "items") out.push_back(Value::from_tuple({Value::from_string(k), v}));
        else if (name == "keys") out.push_back(Value::from_string(k));
        else out.push_back(v);
      }
      return Value::from_list(std::move(out));
    });
  if (name == "get")
    return method(self, name, [](const Value& d, A& a) {
      ArgReader r("get", a, {"key", "default"});
      if (!r.get(0)) fail("get() takes at least 1 argument");
      const Value* found = r.get(0)->is_string() ? d.dict->find(r.get(0)->string) : nullptr;
      return found ? *found : r.get_or(1, Value::none());
    });
  return Value::undefined(name);
}

bool is_mutator(const std::string& name) {
  static const char* const names[] = {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
                                      "update", "setdefault", "popitem", "add", "discard"};
  return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return name == n; });
}

}  // namespace

std::string py_upper(const std::string& s) { return utf8_encode(map_cp(s, upper_cp)); }
std::string py_lower(const std::string& s) { return utf8_encode(map_cp(s, lower_cp)); }

std::string py_replace(const std::string& s, const std::string& old, const std::string& replacement, int64_t count) {
  std::string out;
  if (old.empty()) {  // Python inserts the replacement around every code point
    std::u32string t = utf8_decode(s);
    int64_t done = 0;
    for (size_t i = 0; i <= t.size(); ++i) {
      if (count < 0 || done < count) {
        out += replacement;
        check_string_size(out.size(), "replace()'s result size in bytes");
        ++done;
      }
      if (i < t.size()) utf8_append(out, t[i]);
    }
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t at = s.find(old, start);
    if (at == std::string::npos) break;
    out += s.substr(start, at - start) + replacement;
    check_string_size(out.size(), "replace()'s result size in bytes");
    start = at + old.size();
    ++done;
  }
  return out + s.substr(start);
}

size_t py_len(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return utf8_decode(v.string).size();
    case Value::Kind::List:
    case Value::Kind::Tuple: return v.list->size();
    case Value::Kind::Dict: return v.dict->entries.size();
    default: fail("object of type '{}' has no len()", v.type_name());
  }
}

List iterate(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::List:
    case Value::Kind::Tuple: return *v.list;
    case Value::Kind::Dict: {
      List keys;
      for (const auto& [k, _] : v.dict->entries) keys.push_back(Value::from_string(k));
      return keys;
    }
    case Value::Kind::String: {
      List chars;
      for (char32_t c : utf8_decode(v.string)) {
        std::string one;
        utf8_append(one, c);
        chars.push_back(Value::from_string(one));
      }
      return chars;
    }
    default: fail("'{}' object is not iterable", v.type_name());
  }
}

Value get_method(const Value& obj, const std::string& name) {
  // ImmutableSandboxedEnvironment refuses list/dict mutators when they are called.
  if ((obj.is_sequence() || obj.is_mapping()) && is_mutator(name))
    return method(obj, name, [name](const Value& o, CallArgs&) -> Value {
      fail("access to attribute '{}' of '{}' object is unsafe (templates are immutable)", name, o.type_name());
    });
  if (obj.is_string()) return string_method(obj, name);
  if (obj.is_mapping()) return dict_method(obj, name);
  return Value::undefined(name);
}

// obj.name: Python attribute first (methods), then the item, as jinja2's getattr does.
Value get_attribute(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail("'{}' is undefined", obj.string.empty() ? name : obj.string);
  if (obj.kind == Value::Kind::Namespace) {
    const Value* v = obj.dict->find(name);
    return v ? *v : Value::undefined(name);
  }
  Value m = get_method(obj, name);
  if (!m.is_undefined()) return m;
  if (obj.is_mapping()) {
    const Value* v = obj.dict->find(name);
    return v ? *v : Value::undefined(name);
  }
  return Value::undefined(name);
}

// obj[key]: the item first, then (for str keys) the attribute, as jinja2's getitem does.
Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail("'{}' is undefined", obj.string.empty() ? "value" : obj.string);
  if ((obj.is_sequence() || obj.is_string()) && (key.kind == Value::Kind::Int || key.kind == Value::Kind::Bool)) {
    int64_t i = key.kind == Value::Kind::Bool ? key.boolean : key.integer;
    if (obj.is_string()) {
      std::u32string s = utf8_decode(obj.string);
      int64_t n = static_cast<int64_t>(s.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined("index");
      std::string one;
      utf8_append(one, s[static_cast<size_t>(i)]);
      return Value::from_string(one);
    }
    int64_t n = static_cast<int64_t>(obj.list->size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined("index");
    return (*obj.list)[static_cast<size_t>(i)];
  }
  if (obj.is_mapping() && key.is_string()) {
    if (const Value* v = obj.dict->find(key.string)) return *v;
  }
  if (key.is_string()) return get_attribute(obj, key.string);
  return Value::undefined();
}

Value lookup_global(const std::string& name) {
  if (name == "range")
    return Value::callable(name, [](CallArgs& a) {
      if (!a.keyword.empty() || a.positional.empty() || a.positional.size() > 3) fail("range() takes 1 to 3 integer arguments");
      std::vector<int64_t> n;
      for (const Value& v : a.positional) {
        if (v.kind != Value::Kind::Int) fail("range(): '{}' object cannot be interpreted as an integer", v.type_name());
        n.push_back(v.integer);
      }
      int64_t start = n.size() == 1 ? 0 : n[0], stop = n.size() == 1 ? n[0] : n[1], step = n.size() == 3 ? n[2] : 1;
      if (step == 0) fail("range() arg 3 must not be zero");
      __int128 span = step > 0 ? static_cast<__int128>(stop) - start : static_cast<__int128>(start) - stop;
      __int128 stride = step > 0 ? step : -static_cast<__int128>(step);
      __int128 count = span <= 0 ? 0 : (span + stride - 1) / stride;
      if (count > kMaxRange)
        fail("range() of {} items is too big: the sandbox blocks ranges larger than MAX_RANGE ({})",
             static_cast<long long>(count > INT64_MAX ? INT64_MAX : count), kMaxRange);
      List out;
      for (__int128 k = 0; k < count; ++k) out.push_back(Value::from_int(static_cast<int64_t>(start + k * step)));
      return Value::from_list(std::move(out));
    });
  if (name == "namespace" || name == "dict")
    return Value::callable(name, [name](CallArgs& a) {
      Value result = name == "namespace" ? Value::new_namespace() : Value::from_dict({});
      if (a.positional.size() > 1) fail("{}() takes at most one positional argument", name);
      if (!a.positional.empty()) {
        if (!a.positional[0].is_mapping()) fail("{}(): expected a mapping", name);
        for (const auto& [k, v] : a.positional[0].dict->entries) result.dict->set(k, v);
      }
      for (const auto& [k, v] : a.keyword) result.dict->set(k, v);
      return result;
    });
  if (name == "raise_exception")
    return Value::callable(name, [](CallArgs& a) -> Value {
      if (a.positional.size() != 1) fail("raise_exception() takes one argument");
      fail("template raised an exception: {}", to_str(a.positional[0]));
    });
  if (name == "strftime_now")
    return Value::callable(name, [](CallArgs& a) {
      if (a.positional.size() != 1 || !a.positional[0].is_string()) fail("strftime_now() takes one format string");
      std::time_t now = std::time(nullptr);
      std::tm local{};
      localtime_r(&now, &local);
      char buf[512];
      size_t n = std::strftime(buf, sizeof buf, a.positional[0].string.c_str(), &local);
      return Value::from_string(std::string(buf, n));
    });
  if (name == "cycler" || name == "joiner" || name == "lipsum")
    return Value::callable(name, [name](CallArgs&) -> Value { fail("the global '{}' is not supported by tinythink", name); });
  return Value::undefined(name);
}

}  // namespace tt::jinja
