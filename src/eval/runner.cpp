#include "eval/runner.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/communicator.h"
#include "core/error.h"
#include "core/log.h"
#include "core/system.h"
#include "eval/aggregate.h"
#include "eval/gen_kwargs.h"
#include "eval/generate_task.h"
#include "eval/loglikelihood_task.h"
#include "eval/rescore.h"
#include "eval/results_writer.h"
#include "eval/task.h"
#include "eval/task_data.h"
#include "infer/response_cache.h"
#include "infer/session.h"
#include "io/file.h"
#include "io/output_path.h"

namespace tt::eval {

namespace {

TaskOptions task_options_of(const EvalOptions& options) {
  TaskOptions task_options;
  task_options.data_root = options.data_root;
  task_options.num_fewshot = options.num_fewshot;
  task_options.seed = options.seed;
  return task_options;
}

std::unique_ptr<infer::Session> load_session(const EvalOptions& options) {
  return infer::open_session(
      options.model_dir,
      {.precision = options.precision,
       .max_batch = options.max_batch,
       .cuda_device = options.cuda_device,
       .chat_template = options.apply_chat_template ? infer::Need::Required : infer::Need::IfPresent,
       .tokenizer_missing_hint = "evaluation needs one",
       .tokenizer_fits_vocab = true,
       .chat_template_missing = "--apply-chat-template, but the model has no chat template (tokenizer_config.json)"});
}

// Where the responses come from: a model (and the cache of its answers), or a file of saved responses.
struct ResponseSource {
  std::unique_ptr<infer::Session> session;
  std::unique_ptr<infer::ResponseCache> cache;
  std::vector<SavedResponse> saved;
};

ResponseSource open_source(const EvalOptions& options, const std::vector<std::unique_ptr<Task>>& tasks) {
  ResponseSource source;
  if (options.responses_path.empty()) {
    source.session = load_session(options);
    source.cache = infer::open_response_cache(options.cache_dir, *source.session, options.precision,
                                              options.cuda_device, options.cache_holds_one_model, "eval --use-cache");
    return source;
  }
  source.saved = read_responses(options.responses_path);
  for (const auto& t : tasks)
    if (t->output_type() == OutputType::MultipleChoice)
      fail("eval: {} is scored by log-likelihoods and needs --model, not saved responses", t->name());
  return source;
}

// The model's responses or choice log-likelihoods for run.docs.
void respond(const EvalOptions& options, ResponseSource& source, const Task& task, const GenKwargs& kwargs,
             TaskRun& run) {
  const int64_t hits = source.cache ? source.cache->hits() : 0;
  if (task.output_type() == OutputType::GenerateUntil) generate_task(options, *source.session, task, kwargs, run, source.cache.get());
  else loglikelihood_task(options, *source.session, task, run, source.cache.get());
  if (source.cache) run.cached_requests = source.cache->hits() - hits;
}

// Under mpirun: rank r answers docs r, r + N, ... and every rank gathers every answer in doc order.
// Per-document seeds and batch invariance make them those of one process, so scores, samples and
// results are too. Answers travel as MessagePack: responses are bytes (not always valid UTF-8), and
// log-likelihoods keep every bit.
void respond_sharded(const EvalOptions& options, ResponseSource& source, const Task& task, const GenKwargs& kwargs,
                     TaskRun& run) {
  Communicator& world = Communicator::world();
  const bool generates = task.output_type() == OutputType::GenerateUntil;
  TaskRun mine;
  for (size_t i : rank_share(run.docs.size(), world.size(), world.rank())) mine.docs.push_back(run.docs[i]);
  EvalOptions rank_options = options;
  rank_options.progress = options.progress && world.is_root();
  respond(rank_options, source, task, kwargs, mine);
  std::vector<std::string> answers;
  for (size_t j = 0; j < mine.docs.size(); ++j) {
    nlohmann::json answer = {{"prompt", mine.prompts[j]}};
    if (generates) answer["response"] = mine.responses[j];
    else {
      answer["choice_ll"] = mine.choice_ll[j];
      answer["continuations"] = mine.continuations[j];
    }
    const std::vector<uint8_t> packed = nlohmann::json::to_msgpack(answer);
    answers.emplace_back(packed.begin(), packed.end());
  }
  int64_t tokens[3] = {mine.prompt_tokens, mine.generated_tokens, mine.cached_requests};
  world.all_reduce_sum(tokens, 3);
  run.prompt_tokens = tokens[0];
  run.generated_tokens = tokens[1];
  run.cached_requests = tokens[2];
  for (const std::string& bytes : gather_shares(world, answers, run.docs.size())) {
    const nlohmann::json answer = nlohmann::json::from_msgpack(bytes);
    run.prompts.push_back(answer["prompt"].get<std::string>());
    if (generates) run.responses.push_back(answer["response"].get<std::string>());
    else {
      run.choice_ll.push_back(answer["choice_ll"].get<std::vector<double>>());
      run.continuations.push_back(answer["continuations"].get<std::vector<std::string>>());
    }
  }
}

// lm-eval's get_sample_size: a fraction of the documents rounded up, else int(limit).
int64_t doc_limit(double limit, size_t docs) {
  const auto n = static_cast<int64_t>(docs);
  if (limit < 0) return n;
  return std::min<int64_t>(n, limit < 1.0 ? static_cast<int64_t>(std::ceil(static_cast<double>(n) * limit))
                                          : static_cast<int64_t>(std::min(limit, 9.0e18)));
}

// Which of the task's documents are evaluated (selected[doc id]): those --samples lists for it, else
// the first --limit ones.
std::vector<bool> selected_docs(const EvalOptions& options, const Task& task) {
  const auto n = static_cast<int64_t>(task.docs().size());
  std::vector<bool> selected(n, false);
  if (options.samples) {
    if (const auto it = options.samples->find(task.name()); it != options.samples->end()) {
      for (const int64_t id : it->second) {
        if (id >= n)
          fail("eval --samples: {}: document {} does not exist (the task has {} documents: 0 to {})", task.name(), id,
               n, n - 1);
        selected[id] = true;
      }
      return selected;
    }
  }
  std::fill(selected.begin(), selected.begin() + doc_limit(options.limit, n), true);
  return selected;
}

// run.docs and what was said about them: the model's responses or choice log-likelihoods, or the
// saved responses.
void collect(const EvalOptions& options, ResponseSource& source, const Task& task, const GenKwargs& kwargs,
             size_t task_count, TaskRun& run) {
  const auto& docs = task.docs();
  const std::vector<bool> selected = selected_docs(options, task);
  if (!source.session) {
    collect_saved_docs(task, source.saved, options.responses_path, selected, task_count == 1, run);
    return;
  }
  for (size_t i = 0; i < docs.size(); ++i)
    if (selected[i]) run.docs.push_back(&docs[i]);
  if (Communicator::world().distributed()) respond_sharded(options, source, task, kwargs, run);
  else respond(options, source, task, kwargs, run);
}

// The responses as scored. With --strip-thinking, as lm-eval's postprocess_generated_text with a
// think_end_token: the answer part, then cut at the task's first stop string (generation ran without
// them, since "\n\n" and "Question:" occur inside a <think> block).
std::vector<std::string> scored_responses(const EvalOptions& options, const TaskRun& run,
                                          const std::vector<std::string>& until) {
  std::vector<std::string> scored(run.responses.size());
  for (size_t i = 0; i < run.responses.size(); ++i) {
    if (!options.strip_thinking) {
      scored[i] = run.responses[i];
      continue;
    }
    std::string answer = strip_thinking(run.responses[i]);
    for (const auto& stop : until)
      if (!stop.empty()) answer = answer.substr(0, answer.find(stop));
    scored[i] = std::move(answer);
  }
  return scored;
}

void score(const Task& task, const std::vector<std::string>& scored, TaskRun& run) {
  for (size_t i = 0; i < run.docs.size(); ++i)
    run.scores.push_back(task.output_type() == OutputType::GenerateUntil
                             ? task.score_response(*run.docs[i], scored[i])
                             : task.score_choices(*run.docs[i], run.choice_ll[i]));
}

void log_task_summary(const Task& task, const TaskRun& run, const MetricTable& metrics) {
  std::string headline;
  for (const auto& key : task.metric_keys())
    headline += fmt::format("{}{} {:.4f} ± {:.4f}", headline.empty() ? "" : ", ", key, metrics.at(key).value,
                            metrics.at(key).stderr_);
  const std::string cached = run.cached_requests > 0 ? fmt::format(" ({} requests from the cache)", run.cached_requests) : "";
  log_info("{}: {} docs in {:.1f}s{}: {}", task.name(), run.docs.size(), run.seconds, cached, headline);
}

// Re-scoring a previous run's samples file into the folder that holds it would replace the file being read.
void check_outputs_spare_the_responses(const EvalOptions& options, const std::vector<std::string>& task_names) {
  for (const auto& name : task_names)
    check_output_is_not_input(options.output_dir + "/samples_" + name + ".jsonl", "eval --output",
                              options.responses_path, "--responses");
  check_output_is_not_input(options.output_dir + "/results.json", "eval --output", options.responses_path, "--responses");
}

// As lm-eval's EvaluateConfig refuses them; and what would not apply to saved responses.
void check_options(const EvalOptions& options) {
  if (options.limit != -1 && !limit_in_range(options.limit)) fail("eval: limit {}: {}", options.limit, kLimitHint);
  if (options.samples && options.limit != -1)
    fail("eval: --samples and --limit both given: --samples chooses the documents (as lm-eval: one or the other)");
  if (options.fewshot_as_multiturn.value_or(false) && !options.apply_chat_template)
    fail("eval: --fewshot-as-multiturn true needs --apply-chat-template (as lm-eval: few-shot turns exist only in a "
         "chat)");
  if (!options.responses_path.empty() && !options.cache_dir.empty())
    fail("eval --responses: --use-cache would not apply: saved responses are re-scored, not generated; leave it out");
  if (!options.responses_path.empty() && !options.system_instruction.empty())
    fail("eval --responses: a system instruction would not apply: saved responses are re-scored, not generated; leave "
         "it out");
}

}  // namespace

std::map<std::string, std::vector<int64_t>> parse_samples_option(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  std::string where = "eval --samples";
  if (j.is_discarded()) {
    // As lm-eval's try_parse_json: text with a brace was meant as JSON; other text names a file.
    if (text.find('{') != std::string::npos)
      fail("eval --samples: invalid JSON (write it as {{\"task\": [0, 1, 2]}}, with double quotes)");
    // A regular file only, as lm-eval's Path.is_file(): /dev/zero would be read forever.
    std::error_code ec;
    if (!std::filesystem::is_regular_file(text, ec)) fail("eval --samples {}: neither a JSON object nor a file", text);
    j = read_json_file(text);
    where += " " + text;
  }
  if (!j.is_object()) fail("{}: expected a JSON object {{\"task\": [document ids]}}", where);
  std::map<std::string, std::vector<int64_t>> samples;
  for (const auto& [task, ids] : j.items()) {
    if (!ids.is_array()) fail("{}: {}: expected a list of document ids", where, task);
    // lm-eval reads an empty list as no selection and evaluates every document: refused, not guessed.
    if (ids.empty()) fail("{}: {}: an empty list (leave the task out to evaluate all of its documents)", where, task);
    std::vector<int64_t>& list = samples[task];
    for (const auto& id : ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0)
        fail("{}: {}: {} is not a document id (an integer >= 0)", where, task, id.dump());
      list.push_back(id.get<int64_t>());
    }
  }
  return samples;
}

nlohmann::ordered_json run_eval(const EvalOptions& options) {
  const std::vector<std::string> names = expand_task_names(options.tasks);
  check_outputs_spare_the_responses(options, names);  // before the tasks' data is read
  (void)parse_gen_kwargs(options.gen_kwargs);          // a bad --gen-kwargs before any data is read too
  check_options(options);
  // Load every task's data first: a bad file fails before any model time is spent.
  std::vector<std::unique_ptr<Task>> tasks;
  for (const auto& name : names) tasks.push_back(make_task(name, task_options_of(options)));
  return run_tasks(options, tasks);
}

nlohmann::ordered_json run_tasks(const EvalOptions& options, const std::vector<std::unique_ptr<Task>>& tasks) {
  if (options.output_dir.empty()) fail("eval: --output DIR is required");
  if (options.responses_path.empty() == options.model_dir.empty())
    fail("eval: give exactly one of --model DIR or --responses FILE.jsonl");
  const GenKwargs kwargs = parse_gen_kwargs(options.gen_kwargs);
  if (!options.responses_path.empty()) {
    // Saved responses are re-scored, not generated: generation settings would be recorded in the
    // results and samples as if they had been applied. Only until acts, on the answer part.
    std::vector<std::string> unapplied;
    for (const std::string& key : given_keys(kwargs))
      if (key != "until" || !options.strip_thinking) unapplied.push_back(key);
    if (!unapplied.empty())
      fail("eval --responses: --gen-kwargs {} would not apply: saved responses are re-scored, not generated (only "
           "until acts, with --strip-thinking, on the answer part); leave {} out",
           fmt::join(unapplied, ", "), unapplied.size() == 1 ? "it" : "them");
  }
  check_options(options);
  std::vector<std::string> names;
  for (const auto& task : tasks) {
    names.push_back(task->name());
    // An empty data file gave a score over no documents (exact_match 0.0 +- 0.0, exit 0).
    if (task->docs().empty()) fail("{}: no documents to evaluate: the task's data is empty", task->name());
    (void)selected_docs(options, *task);  // a --samples id past the end fails before any task runs
  }
  check_outputs_spare_the_responses(options, names);
  if (options.samples)
    for (const auto& [task, ids] : *options.samples)
      if (std::find(names.begin(), names.end(), task) == names.end())
        log_warn("eval --samples: '{}' is not a task of this run ({}): its documents are not evaluated", task,
                 fmt::join(names, ", "));
  ResponseSource source = open_source(options, tasks);
  const bool writes = Communicator::world().is_root();  // rank 0 writes what every rank computed
  if (writes) create_directories_or_fail(options.output_dir, "eval --output");

  ResultsTables tables;
  GroupTable groups;
  const double t_all = now_seconds();
  for (const auto& task_ptr : tasks) {
    const Task& task = *task_ptr;
    TaskRun run;
    run.name = task.name();
    const double t0 = now_seconds();
    if (task.output_type() == OutputType::GenerateUntil && writes)
      if (const std::string w = greedy_override_warning(task.generation_defaults(), kwargs); !w.empty())
        log_warn("{}: {}", task.name(), w);
    collect(options, source, task, kwargs, tasks.size(), run);
    const std::vector<std::string> scored =
        scored_responses(options, run, effective_generation(task.generation_defaults(), kwargs).until);
    score(task, scored, run);
    run.seconds = now_seconds() - t0;

    const auto gen_args = generation_json(effective_generation(task.generation_defaults(), kwargs), kwargs);
    if (writes)
      write_file_atomic(options.output_dir + "/samples_" + task.name() + ".jsonl",
                        samples_jsonl(task, run, scored, gen_args, options.strip_thinking));
    const MetricTable metrics = aggregate(task, run.scores);
    tables.add(task, run, metrics);
    log_task_summary(task, run, metrics);
    if (const std::string g = task.group(); !g.empty()) groups.add(g, task.name(), metrics, task.group_filter());
  }
  const std::string chat_template = options.apply_chat_template && source.session && source.session->chat_template
                                        ? source.session->chat_template->source()
                                        : std::string();
  const auto out = results_json(options, tables, groups, resolve_data_root(task_options_of(options)), chat_template,
                                now_seconds() - t_all);
  if (writes) write_file_atomic(options.output_dir + "/results.json", dump_json(out, 2) + "\n");
  return out;
}

}  // namespace tt::eval
