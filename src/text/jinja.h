// A Jinja2 subset interpreter for HF chat templates, configured like transformers'
// apply_chat_template: ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
// extensions=[loopcontrols, generation]), autoescape off, tojson = json.dumps(ensure_ascii=False),
// globals raise_exception and strftime_now. Anything outside the subset fails with a tt::Error
// naming the feature and "name:line:col" -- never a silently different string.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt::jinja {

struct SourceInfo;
struct Stmt;

struct RenderResult {
  std::string text;
  // Byte ranges [begin, end) of `text` produced inside {% generation %} blocks, in order.
  std::vector<std::pair<size_t, size_t>> generation_spans;
};

class Template {
 public:
  // Parses `source`; `name` (a path or "<chat_template>") prefixes error positions.
  explicit Template(const std::string& source, std::string name = "<chat_template>");
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // Renders with `variables` (a JSON object; key order is kept, as in Python dicts).
  RenderResult render(const nlohmann::ordered_json& variables) const;

 private:
  std::shared_ptr<const SourceInfo> info_;
  std::shared_ptr<const std::vector<std::unique_ptr<Stmt>>> body_;
};

}  // namespace tt::jinja
