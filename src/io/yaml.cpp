#include "io/yaml.h"

#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include <yaml-cpp/eventhandler.h>

#include "core/error.h"
#include "io/file.h"

namespace tt {
namespace {

// Aliases share nodes, so a small file can describe a tree of 10^9 nodes ("billion laughs"); every
// walk over such a tree would then hang. No config comes near this.
constexpr int64_t kMaxYamlNodes = 1'000'000;

void check_node(const YAML::Node& node, const std::string& source, int64_t& visited) {
  if (++visited > kMaxYamlNodes)
    fail("{}: more than {} YAML nodes once aliases are expanded; not a config", source, kMaxYamlNodes);
  if (node.IsSequence()) {
    for (const auto& item : node) check_node(item, source, visited);
  } else if (node.IsMap()) {
    std::map<std::string, int> first_line;  // key -> line it first appears on (1-based)
    for (const auto& entry : node) {
      if (!entry.first.IsScalar())
        fail("{}: line {}: a key must be a plain name, not a {}", source, entry.first.Mark().line + 1,
             entry.first.IsMap() ? "mapping" : entry.first.IsSequence() ? "sequence" : "null");
      // yaml-cpp keeps both entries of a repeated key and a lookup sees only one: one of the two
      // values would be ignored without a word.
      const int line = entry.first.Mark().line + 1;
      if (auto [it, added] = first_line.emplace(entry.first.Scalar(), line); !added)
        fail("{}: line {}: duplicate key '{}' (first at line {})", source, line, entry.first.Scalar(), it->second);
      check_node(entry.second, source, visited);
    }
  }
}

// The 1-based line where a second document of the stream starts, if there is one.
std::optional<int> second_document_line(const std::string& text) {
  struct DocumentStarts final : YAML::EventHandler {
    int line = 0;
    void OnDocumentStart(const YAML::Mark& mark) override { line = mark.line + 1; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  } starts;
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    if (!parser.HandleNextDocument(starts) || !parser.HandleNextDocument(starts)) return std::nullopt;
    return starts.line;
  } catch (const YAML::Exception&) {
    return std::nullopt;  // the first document parsed (Load succeeded); what follows it is not a document
  }
}

}  // namespace

void check_yaml_keys(const YAML::Node& node, const std::string& source) {
  int64_t visited = 0;
  check_node(node, source, visited);
}

YAML::Node parse_yaml_text(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail("{}: invalid YAML at line {}: {}", source, e.mark.line + 1, e.msg);
  }
  // PyYAML's safe_load (TRL's configs) refuses a stream of several documents; yaml-cpp's Load reads
  // the first and ignores the rest. (Not YAML::LoadAll: on some malformed input yaml-cpp 0.7's parser
  // returns documents without end, which the fuzzer found; two are all this needs.)
  if (const std::optional<int> line = second_document_line(text))
    fail("{}: line {}: a second YAML document ('---'): a config is one document", source, *line);
  check_yaml_keys(root, source);
  return root;
}

YAML::Node load_yaml_file(const std::string& path) { return parse_yaml_text(read_file(path), path); }

}  // namespace tt
