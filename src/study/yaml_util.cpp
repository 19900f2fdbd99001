#include "study/yaml_util.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "io/file.h"

namespace tt::study {

void set_dotted(YAML::Node config, const std::string& key, const YAML::Node& value, const std::string& where) {
  YAML::Node node = config;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) fail("{}: '{}': empty key component", where, key);
    if (dot == std::string::npos) {
      node[part] = YAML::Clone(value);
      return;
    }
    YAML::Node child = node[part];
    if (!child || child.IsNull()) {
      node[part] = YAML::Node(YAML::NodeType::Map);
      child = node[part];
    } else if (!child.IsMap()) {
      fail("{}: '{}': '{}' is not a mapping", where, key, key.substr(0, dot));
    }
    node.reset(child);
    start = dot + 1;
  }
}

YAML::Node get_dotted(const YAML::Node& config, const std::string& key) {
  YAML::Node node = YAML::Clone(config);
  size_t start = 0;
  while (true) {
    if (!node.IsMap()) return YAML::Node();
    size_t dot = key.find('.', start);
    std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    YAML::Node child = node[part];
    if (!child) return YAML::Node();
    if (dot == std::string::npos) return child;
    node.reset(child);
    start = dot + 1;
  }
}

std::string canonical_text(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      std::string s = node.Scalar();
      return "\"" + std::to_string(s.size()) + ":" + s + "\"";
    }
    case YAML::NodeType::Sequence: {
      std::string out = "[";
      for (const auto& item : node) out += canonical_text(item) + ",";
      return out + "]";
    }
    case YAML::NodeType::Map: {
      std::vector<std::pair<std::string, std::string>> items;
      for (const auto& e : node) items.emplace_back(e.first.as<std::string>(), canonical_text(e.second));
      std::sort(items.begin(), items.end());
      std::string out = "{";
      for (const auto& [k, v] : items) out += "\"" + std::to_string(k.size()) + ":" + k + "\":" + v + ",";
      return out + "}";
    }
    default:
      return "~";
  }
}

void rewrite_scalars(YAML::Node node, const std::function<std::string(const std::string&, const std::string&)>& f,
                     const std::string& prefix) {
  if (node.IsMap()) {
    for (auto e : node) {
      std::string key = e.first.as<std::string>();
      YAML::Node child = e.second;
      if (child.IsScalar()) {
        std::string replaced = f(prefix + key, child.Scalar());
        if (replaced != child.Scalar()) node[key] = replaced;
      } else {
        rewrite_scalars(child, f, prefix + key + ".");
      }
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      YAML::Node child = node[i];
      if (child.IsScalar()) {
        std::string replaced = f(prefix + "[]", child.Scalar());
        if (replaced != child.Scalar()) node[i] = replaced;
      } else {
        rewrite_scalars(child, f, prefix + "[].");
      }
    }
  }
}

std::string to_yaml_text(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return std::string(out.c_str()) + "\n";
}

std::string scalar_or_joined(const YAML::Node& node) {
  if (node && node.IsScalar()) return node.Scalar();
  std::string joined;
  if (node && node.IsSequence())
    for (const auto& item : node)
      if (item.IsScalar()) joined += (joined.empty() ? "" : "+") + item.Scalar();
  return joined;
}

}  // namespace tt::study
