#include "eval/runner.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "core/system.h"
#include "eval/task.h"
#include "eval/task_data.h"
#include "infer/engine.h"
#include "io/file.h"
#include "io/hub.h"
#include "io/jsonl.h"
#include "model/checkpoint.h"
#include "text/chat_encode.h"
#include "text/utf8.h"

namespace tt::eval {

namespace {

using Json = nlohmann::ordered_json;

// JSON text that never throws on invalid UTF-8 (a model can write any bytes): U+FFFD instead.
std::string dump(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// --- generation kwargs -----------------------------------------------------------------------

struct GenKwargs {
  std::optional<bool> do_sample;
  std::optional<double> temperature, top_p;
  std::optional<int64_t> top_k, max_gen_toks;
  std::optional<std::vector<std::string>> until;
};

bool parse_bool(const std::string& key, const std::string& v) {
  if (v == "true" || v == "True" || v == "1") return true;
  if (v == "false" || v == "False" || v == "0") return false;
  fail("--gen-kwargs: {}={} is not a boolean (true/false)", key, v);
}

double parse_double(const std::string& key, const std::string& v) {
  try {
    size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  fail("--gen-kwargs: {}={} is not a number", key, v);
}

// lm-eval's --gen_kwargs: "key=value,key=value"; `until` takes '|'-separated strings.
GenKwargs parse_gen_kwargs(const std::string& text) {
  GenKwargs g;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) fail("--gen-kwargs: '{}' is not key=value", item);
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "do_sample") g.do_sample = parse_bool(key, value);
    else if (key == "temperature") g.temperature = parse_double(key, value);
    else if (key == "top_p") g.top_p = parse_double(key, value);
    else if (key == "top_k") g.top_k = static_cast<int64_t>(parse_double(key, value));
    else if (key == "max_gen_toks" || key == "max_new_tokens" || key == "max_tokens")
      g.max_gen_toks = static_cast<int64_t>(parse_double(key, value));
    else if (key == "until") {
      std::vector<std::string> until;
      size_t s = 0;
      while (true) {
        const size_t bar = value.find('|', s);
        until.push_back(value.substr(s, bar == std::string::npos ? std::string::npos : bar - s));
        if (bar == std::string::npos) break;
        s = bar + 1;
      }
      g.until = until;
    } else {
      fail("--gen-kwargs: unknown key '{}' (known: do_sample, temperature, top_p, top_k, max_gen_toks, until)", key);
    }
  }
  return g;
}

// Task defaults, then --gen-kwargs (lm-eval: a temperature > 0 without do_sample turns sampling on).
GenerationDefaults effective_generation(GenerationDefaults d, const GenKwargs& g) {
  if (g.temperature) {
    d.temperature = *g.temperature;
    if (!g.do_sample) d.do_sample = *g.temperature > 0;
  }
  if (g.do_sample) d.do_sample = *g.do_sample;
  if (g.top_p) d.top_p = *g.top_p;
  if (g.max_gen_toks) d.max_gen_toks = *g.max_gen_toks;
  if (g.until) d.until = *g.until;
  return d;
}

Json generation_json(const GenerationDefaults& d, const GenKwargs& g) {
  Json j = {{"until", d.until}, {"max_gen_toks", d.max_gen_toks}, {"do_sample", d.do_sample},
            {"temperature", d.do_sample ? d.temperature : 0.0}};
  if (d.do_sample) j["top_p"] = d.top_p;
  if (g.top_k) j["top_k"] = *g.top_k;
  return j;
}

// --- progress --------------------------------------------------------------------------------

class Progress {
 public:
  Progress(bool enabled, std::string label, int64_t total)
      : enabled_(enabled && !log_quiet()), tty_(isatty(STDERR_FILENO)), label_(std::move(label)), total_(total),
        start_(now_seconds()) {
    show(0, true);
  }
  void show(int64_t done, bool force = false) {
    if (!enabled_) return;
    const double now = now_seconds();
    if (!force && done < total_ && now - last_ < (tty_ ? 0.2 : 10.0)) return;
    last_ = now;
    const double elapsed = now - start_;
    const int width = 28;
    const int filled = total_ ? static_cast<int>(width * done / total_) : width;
    const double eta = done ? elapsed / static_cast<double>(done) * static_cast<double>(total_ - done) : 0.0;
    const std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
    std::fprintf(stderr, "%s%-28s [%s] %lld/%lld  %.0fs  ETA %.0fs%s", tty_ ? "\r" : "", label_.c_str(), bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), elapsed, eta,
                 tty_ && done < total_ ? "" : "\n");
    std::fflush(stderr);
  }

 private:
  bool enabled_, tty_;
  std::string label_;
  int64_t total_;
  double start_, last_ = -1e9;
};

// --- the model side --------------------------------------------------------------------------

struct ModelContext {
  std::string dir;
  Model model;
  std::optional<Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat_template;
  std::vector<int32_t> eos_ids;
  std::unique_ptr<infer::Engine> engine;
};

std::unique_ptr<ModelContext> load_context(const EvalOptions& options) {
  auto ctx = std::make_unique<ModelContext>();
  ctx->dir = resolve_model_dir(options.model_dir);
  ctx->model = load_model(ctx->dir);
  bool has_tokenizer = false;
  for (const auto& name : tokenizer_file_names()) has_tokenizer |= file_exists(ctx->dir + "/" + name);
  if (!has_tokenizer) fail("{}: no tokenizer files (tokenizer.json or tokenizer.model); evaluation needs one", ctx->dir);
  ctx->tokenizer = Tokenizer::load(ctx->dir);
  if (static_cast<int64_t>(ctx->tokenizer->vocab_size()) > ctx->model.config.vocab_size)
    fail("{}: the tokenizer has {} tokens but the model's vocabulary is {} ({}: vocab_size)", ctx->dir,
         ctx->tokenizer->vocab_size(), ctx->model.config.vocab_size, ctx->dir + "/config.json");
  if (file_exists(ctx->dir + "/tokenizer_config.json") || file_exists(ctx->dir + "/chat_template.jinja")) {
    try {
      ctx->chat_template = ChatTemplate::from_tokenizer_config(ctx->dir);
    } catch (const Error& e) {
      if (options.apply_chat_template) throw;  // asked for: say why it cannot be had
    }
  }
  if (options.apply_chat_template && !ctx->chat_template)
    fail("{}: --apply-chat-template, but the model has no chat template (tokenizer_config.json)", ctx->dir);
  ctx->eos_ids = infer::load_eos_ids(ctx->dir, ctx->model.config);
  ctx->engine = std::make_unique<infer::Engine>(
      ctx->model, infer::EngineOptions{.precision = options.precision, .max_batch = options.max_batch},
      &*ctx->tokenizer, ctx->eos_ids);
  return ctx;
}

// The context string the model sees: the chat rendering (when asked, or the task's protocol), or
// lm-eval's plain text.
std::string context_text(const ModelContext* ctx, const Prompt& p, bool apply_chat, bool* chat_used) {
  const bool chat = (apply_chat || p.chat_native) && ctx && ctx->chat_template;
  if (chat_used) *chat_used = chat;
  if (!chat) return p.text;
  return ctx->chat_template->render(p.messages, /*add_generation_prompt=*/true).text;
}

// --- one task --------------------------------------------------------------------------------

struct TaskRun {
  std::string name;
  std::vector<const Doc*> docs;           // evaluated docs
  std::vector<std::string> prompts;       // per doc: the context text
  std::vector<std::string> responses;     // generate_until
  std::vector<std::vector<double>> choice_ll;  // multiple_choice
  std::vector<DocScore> scores;
  double seconds = 0;
  int64_t prompt_tokens = 0, generated_tokens = 0;
};

uint64_t doc_seed(uint64_t seed, const std::string& task, int64_t doc_id) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : task) h = (h ^ c) * 1099511628211ull;
  return (h ^ static_cast<uint64_t>(doc_id)) * 0x9E3779B97F4A7C15ull;
}

void generate_task(const EvalOptions& options, ModelContext& ctx, const Task& task, const GenKwargs& kwargs,
                   TaskRun& run) {
  const GenerationDefaults gen = effective_generation(task.generation_defaults(), kwargs);
  const int64_t n = static_cast<int64_t>(run.docs.size());
  std::vector<int64_t> request_ids;  // the engine numbers requests across tasks
  bool warned = false;
  for (int64_t i = 0; i < n; ++i) {
    const Prompt p = task.prompt(*run.docs[i]);
    bool chat_used = false;
    run.prompts.push_back(context_text(&ctx, p, options.apply_chat_template, &chat_used));
    if (p.chat_native && !chat_used && !warned) {
      log_warn("{}: the protocol applies a chat template but the model has none; using plain text", task.name());
      warned = true;
    }
    infer::SamplingParams params;
    params.temperature = gen.do_sample ? static_cast<float>(gen.temperature) : 0.0f;
    params.top_p = gen.do_sample ? static_cast<float>(gen.top_p) : 1.0f;
    if (kwargs.top_k) params.top_k = *kwargs.top_k;
    params.max_new_tokens = gen.max_gen_toks;
    for (const auto& s : gen.until)
      if (!s.empty()) params.stop.push_back(s);
    params.seed = doc_seed(options.seed, task.name(), run.docs[i]->id);
    std::vector<int32_t> ids = ctx.tokenizer->encode(run.prompts.back(), options.add_bos && !chat_used);
    // Left-truncate a context that leaves no room for the answer (lm-eval keeps the end).
    const int64_t limit = ctx.model.config.max_position_embeddings;
    const int64_t keep = std::max<int64_t>(1, limit - params.max_new_tokens);
    if (static_cast<int64_t>(ids.size()) > keep) ids.erase(ids.begin(), ids.end() - keep);
    if (static_cast<int64_t>(ids.size()) + params.max_new_tokens > limit)
      params.max_new_tokens = std::max<int64_t>(1, limit - static_cast<int64_t>(ids.size()));
    run.prompt_tokens += static_cast<int64_t>(ids.size());
    request_ids.push_back(ctx.engine->add({std::move(ids), params}));
  }
  Progress progress(options.progress, task.name(), n);
  int64_t finished = 0;
  ctx.engine->set_stream([&](int64_t, int64_t, const std::string&, bool done) {
    if (done) progress.show(++finished);
  });
  while (ctx.engine->step()) {
  }
  ctx.engine->set_stream(nullptr);
  for (int64_t i = 0; i < n; ++i) {
    infer::GenerationResult r = ctx.engine->take(request_ids[i]);
    run.generated_tokens += static_cast<int64_t>(r.samples[0].ids.size());
    run.responses.push_back(std::move(r.samples[0].text));
  }
}

// lm-eval's _encode_pair: trailing spaces of the context move to the continuation; the
// continuation's ids are those of the whole string after the context's.
std::pair<std::vector<int32_t>, std::vector<int32_t>> encode_pair(const ModelContext& ctx, std::string context,
                                                                  std::string continuation, bool add_bos) {
  size_t spaces = 0;
  while (spaces < context.size() && context[context.size() - 1 - spaces] == ' ') ++spaces;
  if (spaces) {
    continuation = context.substr(context.size() - spaces) + continuation;
    context.resize(context.size() - spaces);
  }
  std::vector<int32_t> whole = ctx.tokenizer->encode(context + continuation, add_bos);
  std::vector<int32_t> context_ids = ctx.tokenizer->encode(context, add_bos);
  if (context_ids.size() > whole.size()) context_ids.resize(whole.size());
  std::vector<int32_t> cont(whole.begin() + static_cast<int64_t>(context_ids.size()), whole.end());
  if (context_ids.empty()) {
    // lm-eval: an empty context is the end-of-text token.
    const int32_t prefix = ctx.tokenizer->eos_id() >= 0 ? ctx.tokenizer->eos_id() : ctx.tokenizer->bos_id();
    if (prefix < 0) fail("an empty context needs an EOS or BOS token as prefix; the tokenizer has neither");
    context_ids.push_back(prefix);
  }
  // Keep the end of a context too long for the model (lm-eval truncates from the left).
  const int64_t limit = ctx.model.config.max_position_embeddings;
  const int64_t room = limit - static_cast<int64_t>(cont.size());
  if (room < 1) fail("a choice of {} tokens does not fit the model's context of {}", cont.size(), limit);
  if (static_cast<int64_t>(context_ids.size()) > room) context_ids.erase(context_ids.begin(), context_ids.end() - room);
  return {std::move(context_ids), std::move(cont)};
}

void loglikelihood_task(const EvalOptions& options, ModelContext& ctx, const Task& task, TaskRun& run) {
  const int64_t n = static_cast<int64_t>(run.docs.size());
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> pairs;
  std::vector<std::pair<int64_t, int64_t>> owner;  // (doc index, choice)
  for (int64_t i = 0; i < n; ++i) {
    const Prompt p = task.prompt(*run.docs[i]);
    bool chat_used = false;
    run.prompts.push_back(context_text(&ctx, p, options.apply_chat_template, &chat_used));
    const auto choices = task.choices(*run.docs[i]);
    if (choices.empty()) fail("{}: doc {} has no choices", task.name(), run.docs[i]->id);
    for (size_t c = 0; c < choices.size(); ++c) {
      pairs.push_back(encode_pair(ctx, run.prompts.back(), choices[c], options.add_bos && !chat_used));
      run.prompt_tokens += static_cast<int64_t>(pairs.back().first.size() + pairs.back().second.size());
      owner.push_back({i, static_cast<int64_t>(c)});
    }
  }
  run.choice_ll.assign(n, {});
  for (int64_t i = 0; i < n; ++i) run.choice_ll[i].resize(task.choices(*run.docs[i]).size());
  Progress progress(options.progress, task.name(), n);
  // In slices, so the progress bar moves; a slice holds whole documents.
  const size_t slice_pairs = 256;
  size_t start = 0;
  int64_t docs_done = 0;
  while (start < pairs.size()) {
    size_t end = std::min(pairs.size(), start + slice_pairs);
    while (end < pairs.size() && owner[end].first == owner[end - 1].first) ++end;
    std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> slice(pairs.begin() + start, pairs.begin() + end);
    const auto logps = ctx.engine->loglikelihood(slice);
    for (size_t k = 0; k < slice.size(); ++k) {
      double sum = 0;
      for (float v : logps[k]) sum += v;
      run.choice_ll[owner[start + k].first][owner[start + k].second] = sum;
    }
    docs_done = owner[end - 1].first + 1;
    progress.show(docs_done);
    start = end;
  }
}

// --- re-scoring saved responses --------------------------------------------------------------

struct SavedResponse {
  int64_t line = 0;
  Json record;
  std::string response;
};

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

std::vector<SavedResponse> read_responses(const std::string& path) {
  std::vector<SavedResponse> out;
  std::istringstream in(read_file(path));
  std::string text;
  int64_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    SavedResponse r;
    r.line = line;
    bool damaged = false;
    try {
      r.record = Json::parse(text);
    } catch (const Json::parse_error&) {
      // Not valid UTF-8 (or a lone surrogate): the response scores as wrong, the file still loads.
      try {
        r.record = Json::parse(sanitize_json_line(text));
        damaged = true;
      } catch (const Json::parse_error& e) {
        fail_at_line(path, line, std::string("invalid JSON: ") + e.what());
      }
    }
    if (!r.record.is_object()) fail_at_line(path, line, "expected a JSON object");
    if (r.record.contains("response")) {
      if (!r.record["response"].is_string()) fail_at_line(path, line, "'response' is not a string");
      r.response = r.record["response"].get<std::string>();
    } else if (r.record.contains("resps")) {  // our samples / lm-eval's: [["text"]]
      const Json* v = &r.record["resps"];
      while (v->is_array() && !v->empty()) v = &(*v)[0];
      if (!v->is_string()) fail_at_line(path, line, "'resps' holds no string");
      r.response = v->get<std::string>();
    } else {
      fail_at_line(path, line, "missing field 'response'");
    }
    if (damaged) {
      log_warn("{}:{}: the response is not valid UTF-8; it scores as wrong", path, line);
      r.response.clear();
    }
    out.push_back(std::move(r));
  }
  if (out.empty()) fail("{}: no responses", path);
  return out;
}

// Which responses belong to which of the task's docs: by doc_id, or by the doc's own text.
std::map<int64_t, const SavedResponse*> match_responses(const Task& task, const std::vector<SavedResponse>& saved,
                                                        const std::string& path, int64_t* unmatched) {
  std::map<std::string, int64_t> by_text;
  const auto fields = task.doc_text_fields();
  for (const Doc& d : task.docs())
    for (const auto& f : fields)
      if (d.fields.contains(f) && d.fields[f].is_string()) by_text.emplace(d.fields[f].get<std::string>(), d.id);
  std::map<int64_t, const SavedResponse*> out;
  *unmatched = 0;
  const int64_t n = static_cast<int64_t>(task.docs().size());
  for (const auto& r : saved) {
    if (r.record.contains("task") && r.record["task"].is_string() && r.record["task"] != task.name()) continue;
    std::optional<int64_t> id;
    if (r.record.contains("doc_id")) {
      if (!r.record["doc_id"].is_number_integer()) fail("{}:{}: 'doc_id' is not an integer", path, r.line);
      id = r.record["doc_id"].get<int64_t>();
      if (*id < 0 || *id >= n) fail("{}:{}: doc_id {} is out of range for {} ({} documents)", path, r.line, *id, task.name(), n);
    } else {
      std::vector<std::string> keys = fields;
      keys.push_back("prompt");
      for (const auto& k : keys)
        if (r.record.contains(k) && r.record[k].is_string())
          if (auto it = by_text.find(r.record[k].get<std::string>()); it != by_text.end()) {
            id = it->second;
            break;
          }
    }
    if (!id) {
      ++*unmatched;
      continue;
    }
    out[*id] = &r;  // a later line for the same doc wins
  }
  return out;
}

// The answer part of a reasoning model's response: after the last "</think>"; empty when a
// <think> block never closes; the whole response when it has no think block.
std::string strip_thinking(const std::string& response) {
  if (const size_t close = response.rfind("</think>"); close != std::string::npos) {
    size_t start = close + 8;
    while (start < response.size() && (response[start] == '\n' || response[start] == ' ')) ++start;
    return response.substr(start);
  }
  if (response.find("<think>") != std::string::npos) return "";
  return response;
}

// --- aggregation -----------------------------------------------------------------------------

struct MetricAggregate {
  double value = 0, stderr_ = 0;
  int64_t count = 0;
};

std::map<std::string, MetricAggregate> aggregate(const Task& task, const std::vector<DocScore>& scores) {
  std::map<std::string, MetricAggregate> out;
  for (const auto& key : task.metric_keys()) {
    std::vector<double> values;
    for (const auto& s : scores)
      if (auto it = s.metrics.find(key); it != s.metrics.end()) values.insert(values.end(), it->second.begin(), it->second.end());
    MetricAggregate a;
    a.count = static_cast<int64_t>(values.size());
    for (double v : values) a.value += v;
    if (a.count) a.value /= static_cast<double>(a.count);
    a.stderr_ = mean_stderr(values);
    out[key] = a;
  }
  return out;
}

// "exact_match,strict-match" -> "exact_match_stderr,strict-match"
std::string stderr_key(const std::string& key) {
  const size_t comma = key.find(',');
  if (comma == std::string::npos) return key + "_stderr";
  return key.substr(0, comma) + "_stderr" + key.substr(comma);
}

std::string metric_name(const std::string& key) { return key.substr(0, key.find(',')); }

// lm-eval's pooled_sample_stderr for a group weighted by size.
double pooled_stderr(const std::vector<double>& stderrs, const std::vector<int64_t>& sizes) {
  double num = 0, total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const double n = static_cast<double>(sizes[i]);
    num += (n - 1) * stderrs[i] * stderrs[i] * n;
    total += n;
  }
  const double denom = total - static_cast<double>(sizes.size());
  if (denom <= 0 || total <= 0) return 0.0;
  return std::sqrt(num / denom / total);
}

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

namespace {

TaskOptions task_options_of(const EvalOptions& options) {
  TaskOptions task_options;
  task_options.data_root = options.data_root;
  task_options.num_fewshot = options.num_fewshot;
  task_options.seed = options.seed;
  return task_options;
}

}  // namespace

nlohmann::ordered_json run_eval(const EvalOptions& options) {
  const std::vector<std::string> names = expand_task_names(options.tasks);
  // Load every task's data first: a bad file fails before any model time is spent.
  std::vector<std::unique_ptr<Task>> tasks;
  for (const auto& name : names) tasks.push_back(make_task(name, task_options_of(options)));
  return run_tasks(options, tasks);
}

nlohmann::ordered_json run_tasks(const EvalOptions& options, const std::vector<std::unique_ptr<Task>>& tasks) {
  if (options.output_dir.empty()) fail("eval: --output DIR is required");
  const bool rescoring = !options.responses_path.empty();
  if (rescoring == !options.model_dir.empty())
    fail("eval: give exactly one of --model DIR or --responses FILE.jsonl");
  const GenKwargs kwargs = parse_gen_kwargs(options.gen_kwargs);
  const TaskOptions task_options = task_options_of(options);

  std::vector<SavedResponse> saved;
  std::unique_ptr<ModelContext> ctx;
  if (rescoring) {
    saved = read_responses(options.responses_path);
    for (const auto& t : tasks)
      if (t->output_type() == OutputType::MultipleChoice)
        fail("eval: {} is scored by log-likelihoods and needs --model, not saved responses", t->name());
  } else {
    ctx = load_context(options);
  }
  std::filesystem::create_directories(options.output_dir);

  Json results = Json::object(), groups_out = Json::object(), group_subtasks = Json::object(), configs = Json::object(),
       versions = Json::object(), n_shot = Json::object(), higher = Json::object(), n_samples = Json::object(),
       timing = Json::object();
  struct GroupPart {
    std::map<std::string, MetricAggregate> metrics;
  };
  std::map<std::string, std::vector<GroupPart>> group_parts;
  std::vector<std::string> group_order;
  const double t_all = now_seconds();

  for (const auto& task_ptr : tasks) {
    const Task& task = *task_ptr;
    TaskRun run;
    run.name = task.name();
    const double t0 = now_seconds();
    const auto& docs = task.docs();
    const int64_t limit = options.limit < 0 ? static_cast<int64_t>(docs.size())
                                            : std::min<int64_t>(options.limit, static_cast<int64_t>(docs.size()));
    std::map<int64_t, const SavedResponse*> matched;
    if (rescoring) {
      int64_t unmatched = 0;
      matched = match_responses(task, saved, options.responses_path, &unmatched);
      if (matched.empty())
        fail("{}: no response names a document of {} (by doc_id or by {})", options.responses_path, task.name(),
             fmt::join(task.doc_text_fields(), " / "));
      if (unmatched && tasks.size() == 1)
        log_warn("{}: {} responses match no document of {}", options.responses_path, unmatched, task.name());
      for (const auto& [id, r] : matched)
        if (id < limit) {
          run.docs.push_back(&docs[id]);
          run.prompts.push_back(task.prompt(docs[id]).text);
          run.responses.push_back(r->response);
        }
    } else {
      for (int64_t i = 0; i < limit; ++i) run.docs.push_back(&docs[i]);
      if (task.output_type() == OutputType::GenerateUntil) generate_task(options, *ctx, task, kwargs, run);
      else loglikelihood_task(options, *ctx, task, run);
    }
    // Score.
    std::vector<std::string> scored(run.responses.size());
    for (size_t i = 0; i < run.responses.size(); ++i)
      scored[i] = options.strip_thinking ? strip_thinking(run.responses[i]) : run.responses[i];
    for (size_t i = 0; i < run.docs.size(); ++i)
      run.scores.push_back(task.output_type() == OutputType::GenerateUntil
                               ? task.score_response(*run.docs[i], scored[i])
                               : task.score_choices(*run.docs[i], run.choice_ll[i]));
    run.seconds = now_seconds() - t0;

    // Samples.
    std::string samples;
    const GenerationDefaults gen = effective_generation(task.generation_defaults(), kwargs);
    for (size_t i = 0; i < run.docs.size(); ++i) {
      const Doc& doc = *run.docs[i];
      const DocScore& s = run.scores[i];
      Json line = {{"doc_id", doc.id}, {"doc", doc.fields}, {"target", task.target(doc)}, {"prompt", run.prompts[i]}};
      if (task.output_type() == OutputType::GenerateUntil) {
        line["arguments"] = {{"gen_args_0", {{"arg_0", run.prompts[i]}, {"arg_1", generation_json(gen, kwargs)}}}};
        line["response"] = run.responses[i];
        if (options.strip_thinking) line["scored_response"] = scored[i];
        line["resps"] = Json::array({Json::array({run.responses[i]})});
      } else {
        const auto choices = task.choices(doc);
        Json args = Json::object();
        for (size_t c = 0; c < choices.size(); ++c)
          args[fmt::format("gen_args_{}", c)] = {{"arg_0", run.prompts[i]}, {"arg_1", choices[c]}};
        line["arguments"] = args;
        Json resps = Json::array();
        for (double ll : run.choice_ll[i]) resps.push_back(Json::array({ll}));
        line["resps"] = resps;
      }
      line["filtered_resps"] = s.filtered;
      for (const auto& [key, values] : s.metrics)
        line[key] = values.size() == 1 ? Json(values[0]) : Json(values);
      for (const auto& [k, v] : s.extra.items()) line[k] = v;
      samples += dump(line);
      samples += '\n';
    }
    write_file_atomic(options.output_dir + "/samples_" + task.name() + ".jsonl", samples);

    // Results.
    const auto agg = aggregate(task, run.scores);
    Json r = {{"alias", task.name()}};
    Json hib = Json::object();
    for (const auto& key : task.metric_keys()) {
      const auto& a = agg.at(key);
      r[key] = a.value;
      r[stderr_key(key)] = a.stderr_;
      hib[metric_name(key)] = true;
    }
    results[task.name()] = r;
    Json config = task.config();
    config["task"] = task.name();
    configs[task.name()] = config;
    versions[task.name()] = config.contains("metadata") && config["metadata"].contains("version")
                                ? config["metadata"]["version"]
                                : Json(1.0);
    n_shot[task.name()] = config.contains("num_fewshot") ? config["num_fewshot"] : Json(0);
    higher[task.name()] = hib;
    n_samples[task.name()] = {{"original", docs.size()}, {"effective", run.docs.size()}};
    const double tokens_per_second = run.seconds > 0 ? static_cast<double>(run.generated_tokens) / run.seconds : 0.0;
    timing[task.name()] = {{"seconds", run.seconds},
                           {"docs_per_second", run.seconds > 0 ? static_cast<double>(run.docs.size()) / run.seconds : 0.0},
                           {"prompt_tokens", run.prompt_tokens},
                           {"generated_tokens", run.generated_tokens},
                           {"generated_tokens_per_second", tokens_per_second}};
    std::string headline;
    for (const auto& key : task.metric_keys())
      headline += fmt::format("{}{} {:.4f} ± {:.4f}", headline.empty() ? "" : ", ", key, agg.at(key).value, agg.at(key).stderr_);
    log_info("{}: {} docs in {:.1f}s: {}", task.name(), run.docs.size(), run.seconds, headline);

    if (const std::string g = task.group(); !g.empty()) {
      if (!group_parts.count(g)) group_order.push_back(g);
      group_parts[g].push_back({agg});
      group_subtasks[g].push_back(task.name());
    }
  }

  // Groups: size-weighted mean of each metric their subtasks share, pooled standard error.
  for (const auto& g : group_order) {
    const auto& parts = group_parts[g];
    Json r = {{"alias", g}};
    std::set<std::string> keys;
    for (const auto& [key, _] : parts[0].metrics) keys.insert(key);
    for (const auto& p : parts)
      for (auto it = keys.begin(); it != keys.end();) it = p.metrics.count(*it) ? std::next(it) : keys.erase(it);
    for (const auto& key : keys) {
      std::vector<double> stderrs;
      std::vector<int64_t> sizes;
      double sum = 0;
      int64_t total = 0;
      for (const auto& p : parts) {
        const auto& a = p.metrics.at(key);
        sum += a.value * static_cast<double>(a.count);
        total += a.count;
        stderrs.push_back(a.stderr_);
        sizes.push_back(a.count);
      }
      r[key] = total ? sum / static_cast<double>(total) : 0.0;
      r[stderr_key(key)] = pooled_stderr(stderrs, sizes);
    }
    groups_out[g] = r;
  }

  Json out = {{"results", results},
              {"groups", groups_out},
              {"group_subtasks", group_subtasks},
              {"configs", configs},
              {"versions", versions},
              {"n-shot", n_shot},
              {"higher_is_better", higher},
              {"n-samples", n_samples},
              {"config",
               {{"model", rescoring ? "responses" : "tinythink"},
                {"model_args", rescoring ? options.responses_path : options.model_dir},
                {"batch_size", options.max_batch},
                {"limit", options.limit < 0 ? Json(nullptr) : Json(options.limit)},
                {"num_fewshot", options.num_fewshot < 0 ? Json(nullptr) : Json(options.num_fewshot)},
                {"apply_chat_template", options.apply_chat_template},
                {"strip_thinking", options.strip_thinking},
                {"gen_kwargs", options.gen_kwargs},
                {"random_seed", options.seed},
                {"precision", precision_name(options.precision)},
                {"data_root", resolve_data_root(task_options)}}},
              {"date", now_iso8601()},
              {"total_evaluation_time_seconds", now_seconds() - t_all},
              {"tinythink", {{"cpu", cpu_model_name()}, {"threads", thread_count()}, {"tasks", timing}}}};
  write_file_atomic(options.output_dir + "/results.json", dump(out, 2) + "\n");
  return out;
}

}  // namespace tt::eval
