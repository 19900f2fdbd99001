#include "eval/rescore.h"

#include <optional>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "text/utf8.h"

namespace tt::eval {

namespace {

using Json = nlohmann::ordered_json;

// A JSON line that is not valid UTF-8, or escapes a lone surrogate, made parseable: invalid bytes
// and lone-surrogate escapes become U+FFFD.
std::string sanitize_json_line(const std::string& line) {
  const std::string in = utf8::to_valid_lossy(line);
  auto hex4 = [&](size_t at, uint32_t* v) {
    if (at + 4 > in.size()) return false;
    *v = 0;
    for (size_t k = at; k < at + 4; ++k) {
      const char c = in[k];
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return false;
      *v = *v * 16 + static_cast<uint32_t>(d);
    }
    return true;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    uint32_t v = 0, low = 0;
    if (in[i] != '\\' || i + 1 >= in.size()) {
      out += in[i];
    } else if (in[i + 1] != 'u' || !hex4(i + 2, &v) || v < 0xD800 || v > 0xDFFF) {
      out.append(in, i, 2);  // any other escape, kept whole (so "\\u" stays a backslash + u)
      ++i;
    } else if (v < 0xDC00 && i + 12 <= in.size() && in[i + 6] == '\\' && in[i + 7] == 'u' && hex4(i + 8, &low) &&
               low >= 0xDC00 && low <= 0xDFFF) {
      out.append(in, i, 12);  // a valid pair
      i += 11;
    } else {
      out += "\\ufffd";
      i += 5;
    }
  }
  return out;
}

// The response text of a record: "response", or the first string in samples' "resps" ([["text"]]).
std::string response_of(const Json& record, const std::string& path, int64_t line) {
  if (record.contains("response")) {
    if (!record["response"].is_string()) fail_at_line(path, line, "'response' is not a string");
    return record["response"].get<std::string>();
  }
  if (record.contains("resps")) {
    const Json* v = &record["resps"];
    while (v->is_array() && !v->empty()) v = &(*v)[0];
    if (!v->is_string()) fail_at_line(path, line, "'resps' holds no string");
    return v->get<std::string>();
  }
  fail_at_line(path, line, "missing field 'response'");
}

SavedResponse parse_saved_response(const std::string& path, int64_t line, const std::string& text) {
  SavedResponse r;
  r.line = line;
  bool damaged = false;
  try {
    r.record = Json::parse(text);
  } catch (const Json::out_of_range& e) {  // a number too large for a double
    fail_at_line(path, line, std::string("invalid JSON: ") + e.what());
  } catch (const Json::parse_error&) {
    // Not valid UTF-8 (or a lone surrogate): the response scores as wrong, the file still loads.
    try {
      r.record = Json::parse(sanitize_json_line(text));
      damaged = true;
    } catch (const Json::exception& e) {
      fail_at_line(path, line, std::string("invalid JSON: ") + e.what());
    }
  }
  if (!r.record.is_object()) fail_at_line(path, line, "expected a JSON object");
  r.response = response_of(r.record, path, line);
  if (damaged) {
    log_warn("{}:{}: the response is not valid UTF-8; it scores as wrong", path, line);
    r.response.clear();
  }
  return r;
}

// The doc a response names: its doc_id, else the first of the doc text fields (or "prompt") whose
// text is a doc's.
std::optional<int64_t> doc_of(const SavedResponse& r, const Task& task, const std::map<std::string, int64_t>& by_text,
                              const std::string& path) {
  const int64_t n = static_cast<int64_t>(task.docs().size());
  if (r.record.contains("doc_id")) {
    if (!r.record["doc_id"].is_number_integer()) fail("{}:{}: 'doc_id' is not an integer", path, r.line);
    const int64_t id = r.record["doc_id"].get<int64_t>();
    if (id < 0 || id >= n) fail("{}:{}: doc_id {} is out of range for {} ({} documents)", path, r.line, id, task.name(), n);
    return id;
  }
  std::vector<std::string> keys = task.doc_text_fields();
  keys.push_back("prompt");
  for (const auto& k : keys)
    if (r.record.contains(k) && r.record[k].is_string())
      if (auto it = by_text.find(r.record[k].get<std::string>()); it != by_text.end()) return it->second;
  return std::nullopt;
}

}  // namespace

std::vector<SavedResponse> read_responses(const std::string& path) {
  std::vector<SavedResponse> out;
  std::istringstream in(read_file(path));
  std::string text;
  int64_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    out.push_back(parse_saved_response(path, line, text));
  }
  if (out.empty()) fail("{}: no responses", path);
  return out;
}

std::map<int64_t, const SavedResponse*> match_responses(const Task& task, const std::vector<SavedResponse>& saved,
                                                        const std::string& path, int64_t* unmatched) {
  std::map<std::string, int64_t> by_text;
  const auto fields = task.doc_text_fields();
  for (const Doc& d : task.docs())
    for (const auto& f : fields)
      if (d.fields.contains(f) && d.fields[f].is_string()) by_text.emplace(d.fields[f].get<std::string>(), d.id);
  std::map<int64_t, const SavedResponse*> out;
  *unmatched = 0;
  for (const auto& r : saved) {
    if (r.record.contains("task") && r.record["task"].is_string() && r.record["task"] != task.name()) continue;
    const std::optional<int64_t> id = doc_of(r, task, by_text, path);
    if (!id) {
      ++*unmatched;
      continue;
    }
    out[*id] = &r;  // a later line for the same doc wins
  }
  return out;
}

void collect_saved_docs(const Task& task, const std::vector<SavedResponse>& saved, const std::string& path,
                        const std::vector<bool>& selected, bool warn_unmatched, TaskRun& run) {
  int64_t unmatched = 0;
  const auto matched = match_responses(task, saved, path, &unmatched);
  if (matched.empty())
    fail("{}: no response names a document of {} (by doc_id or by {})", path, task.name(),
         fmt::join(task.doc_text_fields(), " / "));
  if (unmatched && warn_unmatched) log_warn("{}: {} responses match no document of {}", path, unmatched, task.name());
  const auto& docs = task.docs();
  for (const auto& [id, r] : matched)
    if (id >= 0 && id < static_cast<int64_t>(selected.size()) && selected[id]) {
      run.docs.push_back(&docs[id]);
      run.prompts.push_back(task.prompt(docs[id]).text);
      run.responses.push_back(r->response);
    }
}

std::string strip_thinking(const std::string& response) {
  if (const size_t close = response.rfind("</think>"); close != std::string::npos) {
    size_t start = close + 8;
    while (start < response.size() && (response[start] == '\n' || response[start] == ' ')) ++start;
    return response.substr(start);
  }
  if (response.find("<think>") != std::string::npos) return "";
  return response;
}
}  // namespace tt::eval
