// Jinja2's built-in filters and tests, Python's str/dict methods, and the globals transformers
// exposes (range, namespace, dict, raise_exception, strftime_now). Errors here carry no template
// position; the evaluator prefixes the position of the expression that failed.
#pragma once
#include <string>

#include "text/jinja_value.h"

namespace tt::jinja {

// Reads a builtin's arguments the way Python binds them: by position, else by keyword, else default.
class ArgReader {
 public:
  ArgReader(const char* function, CallArgs& args, std::vector<const char*> names);
  const Value* get(size_t index) const;  // null when not passed
  Value get_or(size_t index, Value fallback) const;
  std::string string_or(size_t index, std::string fallback) const;
  int64_t int_or(size_t index, int64_t fallback) const;
  bool bool_or(size_t index, bool fallback) const;

 private:
  const char* function_;
  std::vector<const Value*> bound_;
};

bool has_filter(const std::string& name);
bool has_test(const std::string& name);
Value apply_filter(const std::string& name, const Value& input, CallArgs& args);
bool apply_test(const std::string& name, const Value& input, CallArgs& args);

// Python iteration: list/tuple items, dict keys, str code points; Undefined iterates as empty.
List iterate(const Value& v);
// jinja2's environment.getattr (obj.name) and getitem (obj[key]); missing -> Undefined.
Value get_attribute(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
// Bound str/dict/list method, or Undefined when the object has no such method.
Value get_method(const Value& obj, const std::string& name);
// Globals a chat template can call.
Value lookup_global(const std::string& name);

// Python str methods shared by filters and methods.
std::string py_upper(const std::string& s);
std::string py_lower(const std::string& s);
std::string py_replace(const std::string& s, const std::string& old, const std::string& replacement, int64_t count);
size_t py_len(const Value& v);  // len(); fails for unsized values

}  // namespace tt::jinja
