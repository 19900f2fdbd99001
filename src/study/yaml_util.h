// Small YAML helpers for the study runner (loading is io/yaml.h): dotted-key assignment,
// a canonical text form (for fingerprints) and a walk over every scalar.
#pragma once
#include <functional>
#include <string>

#include <yaml-cpp/yaml.h>

#include "io/yaml.h"  // load_yaml_file, parse_yaml_text

namespace tt::study {

// config[a][b][c] = value for key "a.b.c", creating mappings on the way; an intermediate that is not
// a mapping is an error naming `where`. The value is cloned.
void set_dotted(YAML::Node config, const std::string& key, const YAML::Node& value, const std::string& where);

// The node looked up by a dotted key, or an undefined/null node.
YAML::Node get_dotted(const YAML::Node& config, const std::string& key);

// Mappings with sorted keys, scalars as written: equal for configs that differ only in key order,
// comments or layout.
std::string canonical_text(const YAML::Node& node);

// Calls f(dotted_key, scalar) for every scalar; f returns the replacement text (or the same text).
void rewrite_scalars(YAML::Node node, const std::function<std::string(const std::string& key, const std::string& value)>& f,
                     const std::string& prefix = "");

// A scalar's text, or a list's scalars joined by '+' (DPO's list of loss types: "sigmoid+bco_pair+sft");
// "" for anything else.
std::string scalar_or_joined(const YAML::Node& node);

// Block-style YAML text of a node.
std::string to_yaml_text(const YAML::Node& node);

}  // namespace tt::study
