// Reading task data (task.h) with errors that name the file, line or row, and the field.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "eval/task.h"

namespace tt::eval {

// options.data_root, else $TINYTHINK_SHARED/data, else ../shared/data (relative to the working
// directory). Not checked for existence here; readers name the missing file.
std::string resolve_data_root(const TaskOptions& options);

// The file a single-file task reads its documents from: `relative` (e.g. "math500/test.jsonl") under
// the data root, or its .parquet twin when only that exists; when --data names a file (JSONL or
// parquet) or a Hub dataset id ("ORG/NAME") instead of a folder, that file or id itself.
std::string task_data_path(const TaskOptions& options, const std::string& relative);

// Every line of a JSON Lines file as a Doc (id = 0, 1, ... in file order). Each record must hold
// every field of `required` ("a.b" names a nested field): otherwise "<path>:<line>: missing field 'x'".
// A .parquet path reads its rows (keys in column order; "<path>: row <n>: missing field 'x'"), a Hub
// dataset id its test split's files (the train split's when it has no test split).
std::vector<Doc> read_jsonl_docs(const std::string& path, const std::vector<std::string>& required);
// read_jsonl_docs whose top-level `fields` must also be strings: otherwise
// "<path>: record <n>: field 'x' is not a string" (n counts records from 1).
std::vector<Doc> read_jsonl_text_docs(const std::string& path, const std::vector<std::string>& fields);

// A string field of a doc; "" when it is absent or not a string (docs read as above were checked).
std::string text_field(const Doc& doc, const char* key);

// A CSV file with a header row (RFC 4180 quoting: "..." with "" inside, newlines allowed in quotes)
// as Docs whose fields are the header's names with string values. A row with a different number of
// fields is "<path>:<line>: ...".
std::vector<Doc> read_csv_docs(const std::string& path);

// lm-eval's sample standard error of a mean of per-document values: sqrt(var / n) with var using
// n - 1 (0 when n < 2).
double mean_stderr(const std::vector<double>& values);

}  // namespace tt::eval
