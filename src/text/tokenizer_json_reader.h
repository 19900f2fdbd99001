// Typed access to tokenizer.json values with errors that name the file and the key (shared by the
// tokenizer.json and tiktoken loaders; internal to src/text).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "text/tokenizer_data.h"

namespace tt {

// Typed access to tokenizer.json with errors that say which file and key.
struct JsonReader {
  const std::string& path;

  const nlohmann::json& need(const nlohmann::json& object, const char* key, const std::string& where) const {
    if (!object.is_object()) fail("{}: '{}' should be an object", path, where);
    auto it = object.find(key);
    if (it == object.end()) fail("{}: missing key '{}{}'", path, where.empty() ? "" : where + ".", key);
    return *it;
  }
  // Absent or null -> nullptr.
  const nlohmann::json* maybe(const nlohmann::json& object, const char* key) const {
    if (!object.is_object()) return nullptr;
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }
  std::string string(const nlohmann::json& value, const std::string& where) const {
    if (!value.is_string()) fail("{}: '{}' should be a string", path, where);
    return value.get<std::string>();
  }
  bool boolean(const nlohmann::json& object, const char* key, bool fallback, const std::string& where) const {
    const nlohmann::json* v = maybe(object, key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail("{}: '{}.{}' should be true or false", path, where, key);
    return v->get<bool>();
  }
  int32_t id(const nlohmann::json& value, const std::string& where) const {
    if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > INT32_MAX) {
      fail("{}: '{}' should be a token id (a non-negative integer)", path, where);
    }
    if (value.get<int64_t>() > kMaxTokenId)
      fail("{}: '{}' is token id {}, beyond tinythink's limit of {} (tables indexed by id are held in memory)", path,
           where, value.get<int64_t>(), kMaxTokenId);
    return static_cast<int32_t>(value.get<int64_t>());
  }
  std::string type(const nlohmann::json& object, const std::string& where) const {
    return string(need(object, "type", where), where + ".type");
  }
};

}  // namespace tt
