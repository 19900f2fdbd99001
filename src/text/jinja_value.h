// The value model of the Jinja interpreter: the Python objects a chat template can see (None,
// bool, int, float, str, list, tuple, dict, jinja2's Undefined, namespace(), callables), with
// Python's truthiness, equality, str() and repr(), so that rendered text matches CPython byte for
// byte. Lists, dicts and namespaces are shared by reference, as in Python (a namespace mutated in a
// loop body must be seen after the loop).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt::jinja {

struct Value;
using List = std::vector<Value>;

// An insertion-ordered str-keyed dict (JSON objects and template dict literals only need str keys).
struct Dict {
  std::vector<std::pair<std::string, Value>> entries;
  const Value* find(const std::string& key) const;
  Value* find(const std::string& key);
  void set(const std::string& key, Value value);
};

// Arguments of a call: positional then keyword, as Python passes them.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  const Value* kwarg(const std::string& name) const;
};
using Function = std::function<Value(CallArgs&)>;

struct Value {
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Tuple, Dict, Namespace, Callable };
  Kind kind = Kind::Undefined;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string string;                  // String; for Undefined, the name that was missing
  std::shared_ptr<List> list;          // List, Tuple
  std::shared_ptr<Dict> dict;          // Dict, Namespace
  std::shared_ptr<Function> function;  // Callable
  std::string callable_name;           // for error messages

  static Value undefined(std::string name = {});
  static Value none();
  static Value from_bool(bool b);
  static Value from_int(int64_t i);
  static Value from_float(double d);
  static Value from_string(std::string s);
  static Value from_list(List items);
  static Value from_tuple(List items);
  static Value from_dict(Dict d);
  static Value new_namespace();
  static Value callable(std::string name, Function fn);
  // ordered_json: Python dicts keep insertion order, and templates show it (tojson, dict loops).
  static Value from_json(const nlohmann::ordered_json& j);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
  bool is_sequence() const { return kind == Kind::List || kind == Kind::Tuple; }
  bool is_mapping() const { return kind == Kind::Dict; }

  bool truthy() const;
  double as_double() const;
  // Python type name, for error messages ("str", "list", "NoneType", ...).
  std::string type_name() const;
};

// Python semantics, as Jinja2 uses them.
bool equals(const Value& a, const Value& b);
// -1, 0, 1; fails (tt::Error) for types Python cannot order.
int compare(const Value& a, const Value& b);
std::string to_str(const Value& v);   // str(v); Undefined prints as ""
std::string to_repr(const Value& v);  // repr(v)
std::string float_repr(double d);     // Python's repr(float)
// json.dumps(v, ensure_ascii=False, indent=indent, separators=..., sort_keys=sort_keys);
// indent < 0 means None.
std::string to_json(const Value& v, int indent, bool sort_keys, const std::string& item_separator,
                    const std::string& key_separator);

// Python str helpers over UTF-8 text (indices count code points, as Python's str does).
std::u32string utf8_decode(const std::string& s);
std::string utf8_encode(const std::u32string& s);
void utf8_append(std::string& out, char32_t c);
bool is_py_space(char32_t c);  // str.isspace()
std::string py_strip(const std::string& s, bool left, bool right, const std::string* chars = nullptr);

}  // namespace tt::jinja
