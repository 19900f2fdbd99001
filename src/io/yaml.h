// YAML documents for the config readers, with one-line errors: `source: invalid YAML at line N`
// for syntax, and a refusal of what no config key can be — a mapping or a sequence used as a key
// (`? [a, b]: 1`), a key given twice in one mapping (one value would be ignored), or a document whose aliases expand to more nodes than any config has.
#pragma once
#include <string>

#include <yaml-cpp/yaml.h>

namespace tt {

YAML::Node parse_yaml_text(const std::string& text, const std::string& source);
YAML::Node load_yaml_file(const std::string& path);

// The checks parse_yaml_text applies, for nodes built another way.
void check_yaml_keys(const YAML::Node& node, const std::string& source);

}  // namespace tt
