// Re-scoring saved responses (--responses FILE.jsonl): the lines read ({"response": text} or
// samples' "resps"), matched to a task's docs by doc_id or by the doc's own text.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/task_run.h"

namespace tt::eval {

struct SavedResponse {
  int64_t line = 0;
  nlohmann::ordered_json record;
  std::string response;
};

// Every non-blank line; a line that is not valid UTF-8 loads with an empty response (it scores as
// wrong) and a warning. Fails naming the file and line on anything else.
std::vector<SavedResponse> read_responses(const std::string& path);

// Which responses belong to which of the task's docs: by doc_id, or by the doc's own text (a later
// line for the same doc wins). `unmatched` counts the responses of this task that match no doc.
std::map<int64_t, const SavedResponse*> match_responses(const Task& task, const std::vector<SavedResponse>& saved,
                                                        const std::string& path, int64_t* unmatched);

// run.docs, run.prompts and run.responses of the `selected` docs (selected[doc id]) that have a saved
// response; fails when none has one. `warn_unmatched`: say how many responses match no doc.
void collect_saved_docs(const Task& task, const std::vector<SavedResponse>& saved, const std::string& path,
                        const std::vector<bool>& selected, bool warn_unmatched, TaskRun& run);

// The answer part of a reasoning model's response: after the last "</think>"; empty when a
// <think> block never closes; the whole response when it has no think block.
std::string strip_thinking(const std::string& response);

}  // namespace tt::eval
