#include "infer/response_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "core/communicator.h"
#include "core/content_hash.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/log.h"
#include "io/file.h"
#include "kernels/device.h"
#include "text/utf8.h"

namespace tt::infer {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kFormat = "tinythink-response-cache-v1";

// The files beside the weights that change what the engine answers: the weights and config, the EOS
// ids (generation_config.json) and the text of a generation (the tokenizer's files).
bool answer_file(const std::string& name) {
  static const char* const kNames[] = {"config.json",           "generation_config.json", "tokenizer.json",
                                       "tokenizer_config.json", "tokenizer.model",        "special_tokens_map.json"};
  if (name.size() > 12 && name.ends_with(".safetensors")) return true;
  return std::find_if(std::begin(kNames), std::end(kNames), [&](const char* n) { return name == n; }) != std::end(kNames);
}

// The kernels' path: on the CPU its instruction set, on a GPU its name and compute capability.
std::string engine_device(int cuda_device) {
  if (cuda_device < 0) return fmt::format("cpu:{}", isa_name(active_isa()));
  ResolvedDevice d;
  if (const std::string why = probe_cuda_device(cuda_device, d); !why.empty()) return fmt::format("cuda:{}", cuda_device);
  return fmt::format("cuda:{}:sm_{}{}", d.name, d.compute_major, d.compute_minor);
}

std::string hex_of(std::string_view bytes) {
  static const char* const kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::optional<std::string> bytes_of_hex(const std::string& hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int v = 0;
    for (char c : {hex[2 * i], hex[2 * i + 1]}) {
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else return std::nullopt;
    }
    out[i] = static_cast<char>(v);
  }
  return out;
}

bool request_key_ok(const nlohmann::json& j) {
  if (!j.contains("request") || !j["request"].is_string()) return false;
  const std::string& k = j["request"].get_ref<const std::string&>();
  return k.size() == 32 && k.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

void parse_response_cache(std::string_view content, const std::string& file, ResponseCacheEntries& into) {
  size_t line_no = 0;
  for (size_t start = 0; start < content.size();) {
    const size_t end = std::min(content.find('\n', start), content.size());
    const std::string_view line(content.data() + start, end - start);
    start = end + 1;
    ++line_no;
    const auto bad = [&](const char* what) {
      fail("{}:{}: {}; the file is a cache: delete it to start again", file, line_no, what);
    };
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) bad("not a JSON object");
    if (j.contains("format")) {
      if (line_no != 1 || j["format"] != std::string(kFormat)) bad("not a header of this cache's format");
      continue;
    }
    if (!request_key_ok(j)) bad("no request key (32 hex digits)");
    const std::string key = j["request"];
    if (j.contains("loglikelihood")) {
      const nlohmann::json& v = j["loglikelihood"];
      if (!v.is_number() || !std::isfinite(v.get<double>())) bad("loglikelihood is not a finite number");
      into.loglikelihoods.emplace(key, v.get<double>());
      continue;
    }
    if (!j.contains("samples") || !j["samples"].is_array() || j["samples"].empty())
      bad("neither samples (a non-empty list) nor loglikelihood");
    GenerationResult result;
    for (const nlohmann::json& sample : j["samples"]) {
      Completion c;
      if (!sample.is_object()) bad("a sample is not an object");
      if (sample.contains("text") && sample["text"].is_string()) {
        c.text = sample["text"];
      } else if (sample.contains("text_hex") && sample["text_hex"].is_string()) {
        const std::optional<std::string> bytes = bytes_of_hex(sample["text_hex"]);
        if (!bytes) bad("text_hex is not hexadecimal");
        c.text = *bytes;
      } else {
        bad("a sample has neither text nor text_hex");
      }
      if (!sample.contains("ids") || !sample["ids"].is_array()) bad("a sample has no ids list");
      for (const nlohmann::json& id : sample["ids"]) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) bad("an id is not a token id");
        c.ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
      if (!sample.contains("finish_reason") || (sample["finish_reason"] != "stop" && sample["finish_reason"] != "length"))
        bad("a sample's finish_reason is neither stop nor length");
      c.finish_reason = sample["finish_reason"];
      result.samples.push_back(std::move(c));
    }
    into.generations.emplace(key, std::move(result));
  }
}

std::string ResponseCache::model_key(const Session& session, Precision precision, const std::string& device) {
  ContentKey key(0x13198a2e03707344ull, 0xa4093822299f31d0ull);  // this cache's seeds: part of its keys
  key.add(kFormat);
  std::vector<std::string> files;
  if (is_directory(session.dir))
    for (const auto& e : fs::directory_iterator(session.dir))
      if (answer_file(e.path().filename().string())) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    key.add(fs::path(f).filename().string());
    key.add_file(f);
  }
  key.add(std::string_view(precision_name(precision)));
  key.add(session.eos_ids);
  key.add(device);
  return key.hex();
}

bool ResponseCache::cacheable(const SamplingParams& p) { return !p.logprobs && !p.prompt_logprobs; }

std::string ResponseCache::generation_key(const std::vector<int32_t>& prompt_ids, const SamplingParams& p) {
  // Every field of SamplingParams that changes a completion. A field added there must be added here
  // (and the size below updated), or requests that differ in it would share an answer.
  static_assert(sizeof(SamplingParams) == 152, "SamplingParams changed: add the new field to the cache key");
  ContentKey key(0x082efa98ec4e6c89ull, 0x452821e638d01377ull);
  key.add(std::string_view("generate"));
  key.add(prompt_ids);
  const float floats[] = {p.temperature, p.top_p, p.min_p, p.repetition_penalty, p.presence_penalty, p.frequency_penalty};
  key.add(floats, sizeof floats);
  const int64_t ints[] = {p.top_k, p.n, p.max_new_tokens, p.min_tokens, p.ignore_eos, p.skip_special_tokens,
                          p.logprobs.value_or(-1), p.prompt_logprobs.value_or(-1)};
  key.add(ints, sizeof ints);
  key.add(&p.seed, sizeof p.seed);
  const uint64_t stops = p.stop.size();
  key.add(&stops, sizeof stops);
  for (const auto& s : p.stop) key.add(s);
  key.add(p.stop_token_ids);
  return key.hex();
}

std::string ResponseCache::loglikelihood_key(const std::vector<int32_t>& context,
                                             const std::vector<int32_t>& continuation) {
  ContentKey key(0xbe5466cf34e90c6cull, 0xc0ac29b7c97c50ddull);
  key.add(std::string_view("loglikelihood"));
  key.add(context);
  key.add(continuation);
  return key.hex();
}

ResponseCache::ResponseCache(const std::string& dir, const Session& session, Precision precision, int cuda_device,
                             int rank, int ranks, bool only_this_model, const std::string& role) {
  create_directories_or_fail(dir, role);
  const std::string device = engine_device(cuda_device);
  const std::string model = model_key(session, precision, device);
  path_ = ranks > 1 ? fmt::format("{}/{}.rank{}.jsonl", dir, model, rank) : fmt::format("{}/{}.jsonl", dir, model);
  // Every file of this model: the one-process file and each rank's, whatever the rank count was.
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(".jsonl") || !e.is_regular_file()) continue;
    if (name.starts_with(model)) {
      files.push_back(e.path().string());
    } else if (only_this_model && rank == 0) {
      std::error_code ignored;  // another model's answers: of no use here
      fs::remove(e.path(), ignored);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) read_file(f, f == path_);
  const bool fresh = !file_exists(path_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("{}: cannot open the response cache for writing ({})", path_, std::strerror(errno));
  if (fresh) {
    nlohmann::ordered_json header = {{"format", kFormat},
                                     {"model", session.dir},
                                     {"precision", precision_name(precision)},
                                     {"device", device}};
    append(header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  log_info("response cache {}: {} answer{} from earlier runs", path_, entries(), entries() == 1 ? "" : "s");
}

ResponseCache::~ResponseCache() {
  if (fd_ >= 0) ::close(fd_);
}

void ResponseCache::read_file(const std::string& file, bool own) {
  std::string content = tt::read_file(file);
  if (!content.empty() && content.back() != '\n') {
    // A kill while a line was being written: drop the piece (from the file this process appends to,
    // so the next line starts on a line of its own).
    const size_t keep = content.rfind('\n') == std::string::npos ? 0 : content.rfind('\n') + 1;
    log_warn("{}: dropping an incomplete last line (a run was stopped while writing it)", file);
    content.resize(keep);
    if (own && ::truncate(file.c_str(), static_cast<off_t>(keep)) != 0)
      fail("{}: cannot cut the incomplete last line ({})", file, std::strerror(errno));
  }
  parse_response_cache(content, file, entries_);
}

void ResponseCache::append(const std::string& line) {
  const std::string whole = line + "\n";
  // O_APPEND and one write per line: ranks and concurrent runs never interleave within a line.
  const ssize_t n = ::write(fd_, whole.data(), whole.size());
  if (n != static_cast<ssize_t>(whole.size()))
    fail("{}: cannot append to the response cache ({})", path_, n < 0 ? std::strerror(errno) : "short write");
}

const GenerationResult* ResponseCache::find_generation(const std::string& key) {
  const auto it = entries_.generations.find(key);
  ++(it == entries_.generations.end() ? misses_ : hits_);
  return it == entries_.generations.end() ? nullptr : &it->second;
}

std::optional<double> ResponseCache::find_loglikelihood(const std::string& key) {
  const auto it = entries_.loglikelihoods.find(key);
  ++(it == entries_.loglikelihoods.end() ? misses_ : hits_);
  if (it == entries_.loglikelihoods.end()) return std::nullopt;
  return it->second;
}

void ResponseCache::put_generation(const std::string& key, const GenerationResult& result) {
  GenerationResult kept;
  for (const Completion& c : result.samples)
    kept.samples.push_back({.ids = c.ids, .text = c.text, .finish_reason = c.finish_reason});
  if (!entries_.generations.emplace(key, std::move(kept)).second) return;
  nlohmann::ordered_json samples = nlohmann::ordered_json::array();
  for (const Completion& c : result.samples) {
    nlohmann::ordered_json sample = {{"ids", c.ids}};
    if (utf8::is_valid(c.text)) sample["text"] = c.text;
    else sample["text_hex"] = hex_of(c.text);
    sample["finish_reason"] = c.finish_reason;
    samples.push_back(std::move(sample));
  }
  append(nlohmann::ordered_json({{"request", key}, {"samples", std::move(samples)}}).dump());
}

void ResponseCache::put_loglikelihood(const std::string& key, double loglikelihood) {
  if (!std::isfinite(loglikelihood)) return;  // JSON has no -inf: such a pair is computed again
  if (!entries_.loglikelihoods.emplace(key, loglikelihood).second) return;
  append(nlohmann::ordered_json({{"request", key}, {"loglikelihood", loglikelihood}}).dump());
}

std::unique_ptr<ResponseCache> open_response_cache(const std::string& dir, const Session& session, Precision precision,
                                                   int cuda_device, bool only_this_model, const std::string& role) {
  if (dir.empty()) return nullptr;
  const Communicator& world = Communicator::world();
  return std::make_unique<ResponseCache>(dir, session, precision, cuda_device, world.rank(), world.size(),
                                         only_this_model, role);
}

std::vector<GenerationResult> generate_cached(Engine& engine, std::vector<GenerationRequest> requests,
                                              ResponseCache* cache, const std::function<void(int64_t)>& progress) {
  const size_t n = requests.size();
  std::vector<GenerationResult> results(n);
  std::vector<std::string> keys(n);
  std::vector<std::pair<int64_t, size_t>> running;  // (engine request, index)
  int64_t done = 0;
  for (size_t i = 0; i < n; ++i) {
    if (cache && ResponseCache::cacheable(requests[i].params)) {
      keys[i] = ResponseCache::generation_key(requests[i].prompt, requests[i].params);
      if (const GenerationResult* hit = cache->find_generation(keys[i])) {
        results[i] = *hit;
        ++done;
        continue;
      }
    }
    running.emplace_back(engine.add(std::move(requests[i])), i);
  }
  if (progress && done > 0) progress(done);
  // After each step, the requests it finished: taken, and cached before the next step starts.
  const auto harvest = [&] {
    size_t kept = 0;
    for (const auto& [request, i] : running) {
      if (!engine.finished(request)) {
        running[kept++] = {request, i};
        continue;
      }
      results[i] = engine.take(request);
      const bool whole = std::all_of(results[i].samples.begin(), results[i].samples.end(), [](const Completion& c) {
        return c.finish_reason == "stop" || c.finish_reason == "length";  // a cancelled sample is cut short
      });
      if (cache && !keys[i].empty() && whole) cache->put_generation(keys[i], results[i]);
      if (progress) progress(++done);
    }
    running.resize(kept);
  };
  while (engine.step()) harvest();
  harvest();
  if (!running.empty()) fail("the engine stopped with {} requests unfinished", running.size());
  return results;
}

}  // namespace tt::infer
