#include "eval/task_data.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <string_view>

#include "core/error.h"
#include "io/file.h"
#include "io/hub.h"
#include "io/jsonl.h"
#include "io/parquet.h"

namespace tt::eval {

std::string resolve_data_root(const TaskOptions& options) {
  if (!options.data_root.empty()) return options.data_root;
  if (const char* env = std::getenv("TINYTHINK_SHARED"); env && *env) return std::string(env) + "/data";
  return "../shared/data";
}

std::string task_data_path(const TaskOptions& options, const std::string& relative) {
  const std::string& data = options.data_root;
  if (!data.empty() && !is_directory(data) && (file_exists(data) || is_repo_id(data))) return data;
  const std::string path = resolve_data_root(options) + "/" + relative;
  if (path.ends_with(".jsonl") && !file_exists(path)) {
    const std::string parquet = path.substr(0, path.size() - 6) + ".parquet";
    if (file_exists(parquet)) return parquet;
  }
  return path;
}

namespace {

bool has_field(const nlohmann::ordered_json& record, const std::string& dotted) {
  const nlohmann::ordered_json* node = &record;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted.find('.', start);
    const std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object() || !node->contains(key)) return false;
    node = &(*node)[key];
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

namespace {

void add_doc(nlohmann::ordered_json record, const std::vector<std::string>& required,
             const std::function<void(const std::string&)>& fault, std::vector<Doc>* docs) {
  if (!record.is_object()) fault("expected a JSON object");
  for (const auto& field : required)
    if (!has_field(record, field)) fault("missing field '" + field + "'");
  Doc doc;
  doc.id = static_cast<int64_t>(docs->size());
  doc.fields = std::move(record);
  docs->push_back(std::move(doc));
}

void read_parquet_docs(const std::string& path, const std::vector<std::string>& required, std::vector<Doc>* docs) {
  ParquetFile file(path);
  const std::vector<std::string> columns = file.column_names();
  file.read_rows({}, [&](int64_t row, const nlohmann::json& object) {
    nlohmann::ordered_json record = nlohmann::ordered_json::object();
    for (const auto& name : columns) record[name] = nlohmann::ordered_json::parse(object[name].dump());
    add_doc(std::move(record), required, [&](const std::string& what) { fail("{}: row {}: {}", path, row, what); }, docs);
  });
}

std::vector<std::string> hub_split_files(const std::string& id) {
  try {
    return dataset_files(id, "", "test");
  } catch (const Error& e) {
    if (std::string(e.what()).find("no parquet or JSONL files") == std::string::npos) throw;
    return dataset_files(id, "", "train");
  }
}

}  // namespace

std::vector<Doc> read_jsonl_docs(const std::string& path, const std::vector<std::string>& required) {
  if (is_parquet_path(path)) {
    std::vector<Doc> docs;
    read_parquet_docs(path, required, &docs);
    return docs;
  }
  if (!file_exists(path) && is_repo_id(path)) {
    std::vector<Doc> docs;
    for (const std::string& file : hub_split_files(path)) {
      if (is_parquet_path(file)) {
        read_parquet_docs(file, required, &docs);
      } else {
        for (Doc& doc : read_jsonl_docs(file, required)) add_doc(std::move(doc.fields), {}, nullptr, &docs);
      }
    }
    return docs;
  }
  // Parsed here rather than through io/jsonl's read_jsonl so that each record keeps its keys in
  // file order ("the record as read"; nlohmann::json would sort them).
  const std::string text = read_file(path);
  std::vector<Doc> docs;
  int64_t line = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view row(text.data() + start, end - start);
    start = end + 1;
    ++line;
    if (row.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (std::string why = json_nesting_error(row); !why.empty()) fail_at_line(path, line, why);
    nlohmann::ordered_json record;
    try {
      record = nlohmann::ordered_json::parse(row);
    } catch (const nlohmann::json::exception& e) {
      fail_at_line(path, line, std::string("invalid JSON: ") + e.what());
    }
    add_doc(std::move(record), required, [&](const std::string& what) { fail_at_line(path, line, what); }, &docs);
  }
  return docs;
}

std::vector<Doc> read_jsonl_text_docs(const std::string& path, const std::vector<std::string>& fields) {
  std::vector<Doc> docs = read_jsonl_docs(path, fields);
  for (const Doc& doc : docs)
    for (const auto& field : fields)
      if (!doc.fields[field].is_string())
        fail("{}: record {}: field '{}' is not a string", path, doc.id + 1, field);
  return docs;
}

std::string text_field(const Doc& doc, const char* key) {
  auto it = doc.fields.find(key);
  return it != doc.fields.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<Doc> read_csv_docs(const std::string& path) {
  std::string text = read_file(path);
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);  // a UTF-8 byte order mark is not part of the header
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> row_lines;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false;
  int64_t line = 1, row_line = 1;
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_row = [&] {
    const bool blank = row.empty() && !field_started;  // an empty line; a lone "" is a value
    end_field();
    if (!blank) {
      rows.push_back(std::move(row));
      row_lines.push_back(row_line);
    }
    row.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      ++line;
      row_line = line;
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) fail("{}:{}: unterminated quoted field", path, row_line);
  if (field_started || !row.empty()) end_row();
  if (rows.empty()) fail("{}: empty CSV file (no header)", path);
  const auto& header = rows[0];
  for (size_t c = 0; c < header.size(); ++c)
    if (std::find(header.begin(), header.begin() + c, header[c]) != header.begin() + c)
      fail("{}:{}: column '{}' appears twice in the header", path, row_lines[0], header[c]);
  std::vector<Doc> docs;
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() != header.size())
      fail("{}:{}: {} fields, the header has {}", path, row_lines[r], rows[r].size(), header.size());
    Doc doc;
    doc.id = static_cast<int64_t>(docs.size());
    doc.fields = nlohmann::ordered_json::object();
    for (size_t c = 0; c < header.size(); ++c) doc.fields[header[c]] = rows[r][c];
    docs.push_back(std::move(doc));
  }
  return docs;
}

double mean_stderr(const std::vector<double>& values) {
  const size_t n = values.size();
  if (n < 2) return 0.0;
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(n);
  double ss = 0;
  for (double v : values) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / static_cast<double>(n - 1) / static_cast<double>(n));
}

}  // namespace tt::eval
