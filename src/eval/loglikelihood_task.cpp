#include "eval/loglikelihood_task.h"

#include <algorithm>

#include "core/error.h"
#include "eval/progress.h"
#include "eval/python_compat.h"
#include "infer/response_cache.h"

namespace tt::eval {

namespace {

// Every (context, choice) pair of the docs in order, with the (doc index, choice) each belongs to.
struct ChoicePairs {
  std::vector<TokenPair> pairs;
  std::vector<std::pair<int64_t, int64_t>> owner;
};

ChoicePairs encode_choices(const EvalOptions& options, const infer::Session& session, const Task& task, TaskRun& run) {
  ChoicePairs out;
  for (int64_t i = 0; i < static_cast<int64_t>(run.docs.size()); ++i) {
    const Prompt p = task.prompt(*run.docs[i]);
    bool chat_used = false;
    run.prompts.push_back(context_text(&session, p, prompt_style(options), &chat_used));
    const auto choices = task.choices(*run.docs[i]);
    if (choices.empty()) fail("{}: doc {} has no choices", task.name(), run.docs[i]->id);
    // lm-eval's construct_requests (0.4.7 on): under a chat template the continuation is the choice
    // alone, without the target delimiter (the rendered context ends the assistant header instead).
    const std::string delimiter = task.target_delimiter();
    run.continuations.emplace_back();
    for (size_t c = 0; c < choices.size(); ++c) {
      std::string_view continuation = choices[c];
      if (chat_used && continuation.starts_with(delimiter)) continuation.remove_prefix(delimiter.size());
      run.continuations.back().emplace_back(continuation);
      out.pairs.push_back(
          encode_pair(session, run.prompts.back(), std::string(continuation), options.add_bos && !chat_used));
      run.prompt_tokens += static_cast<int64_t>(out.pairs.back().first.size() + out.pairs.back().second.size());
      out.owner.push_back({i, static_cast<int64_t>(c)});
    }
  }
  return out;
}

// The end of the slice that starts at `start`: about `slice_pairs` pairs, whole documents.
size_t slice_end(const ChoicePairs& c, size_t start, size_t slice_pairs) {
  size_t end = std::min(c.pairs.size(), start + slice_pairs);
  while (end < c.pairs.size() && c.owner[end].first == c.owner[end - 1].first) ++end;
  return end;
}

}  // namespace

TokenPair encode_pair(const infer::Session& session, std::string context, std::string continuation, bool add_bos) {
  const size_t spaces = context.size() - py::rstrip(context).size();
  if (spaces) {
    continuation = context.substr(context.size() - spaces) + continuation;
    context.resize(context.size() - spaces);
  }
  std::vector<int32_t> whole = session.tokenizer->encode(context + continuation, add_bos);
  std::vector<int32_t> context_ids = session.tokenizer->encode(context, add_bos);
  if (context_ids.size() > whole.size()) context_ids.resize(whole.size());
  std::vector<int32_t> cont(whole.begin() + static_cast<int64_t>(context_ids.size()), whole.end());
  if (context_ids.empty()) {
    // lm-eval: an empty context is the end-of-text token.
    const int32_t prefix = session.tokenizer->eos_id() >= 0 ? session.tokenizer->eos_id() : session.tokenizer->bos_id();
    if (prefix < 0) fail("an empty context needs an EOS or BOS token as prefix; the tokenizer has neither");
    context_ids.push_back(prefix);
  }
  // Keep the end of a context too long for the model (lm-eval truncates from the left).
  const int64_t limit = session.model.config.max_position_embeddings;
  const int64_t room = limit - static_cast<int64_t>(cont.size());
  if (room < 1) fail("a choice of {} tokens does not fit the model's context of {}", cont.size(), limit);
  if (static_cast<int64_t>(context_ids.size()) > room) context_ids.erase(context_ids.begin(), context_ids.end() - room);
  return {std::move(context_ids), std::move(cont)};
}

void loglikelihood_task(const EvalOptions& options, infer::Session& session, const Task& task, TaskRun& run,
                        infer::ResponseCache* cache) {
  const int64_t n = static_cast<int64_t>(run.docs.size());
  const ChoicePairs c = encode_choices(options, session, task, run);
  run.choice_ll.assign(n, {});
  for (int64_t i = 0; i < n; ++i) run.choice_ll[i].resize(task.choices(*run.docs[i]).size());
  const auto answer = [&](size_t pair, double ll) { run.choice_ll[c.owner[pair].first][c.owner[pair].second] = ll; };
  Progress progress(options.progress, task.name(), n);
  // In slices, so the progress bar moves and the cache grows as the run goes.
  for (size_t start = 0; start < c.pairs.size();) {
    const size_t end = slice_end(c, start, 256);
    std::vector<size_t> todo;  // pairs of the slice the cache does not hold
    std::vector<std::string> keys;
    for (size_t k = start; k < end; ++k) {
      if (!cache) {
        todo.push_back(k);
        continue;
      }
      keys.push_back(infer::ResponseCache::loglikelihood_key(c.pairs[k].first, c.pairs[k].second));
      if (const std::optional<double> ll = cache->find_loglikelihood(keys.back())) answer(k, *ll);
      else todo.push_back(k);
    }
    std::vector<TokenPair> slice;
    for (size_t k : todo) slice.push_back(c.pairs[k]);
    const auto logps = slice.empty() ? std::vector<std::vector<float>>() : session.engine->loglikelihood(slice);
    for (size_t t = 0; t < todo.size(); ++t) {
      double sum = 0;
      for (float v : logps[t]) sum += v;
      answer(todo[t], sum);
      if (cache) cache->put_loglikelihood(keys[todo[t] - start], sum);
    }
    progress.show(c.owner[end - 1].first + 1);
    start = end;
  }
}

}  // namespace tt::eval
