#include "eval/response_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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

namespace tt::eval {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kFormat = "tinythink-eval-response-cache-v1";

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

std::string ResponseCache::model_key(const infer::Session& session, Precision precision, const std::string& device) {
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

std::string ResponseCache::generation_key(const std::vector<int32_t>& prompt_ids, const infer::SamplingParams& p) {
  // Every field of SamplingParams that changes a response. A field added there must be added here
  // (and the size below updated), or requests that differ in it would share an answer.
  static_assert(sizeof(infer::SamplingParams) == 152, "SamplingParams changed: add the new field to the cache key");
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

std::string ResponseCache::loglikelihood_key(const TokenPair& pair) {
  ContentKey key(0xbe5466cf34e90c6cull, 0xc0ac29b7c97c50ddull);
  key.add(std::string_view("loglikelihood"));
  key.add(pair.first);
  key.add(pair.second);
  return key.hex();
}

ResponseCache::ResponseCache(const std::string& dir, const infer::Session& session, Precision precision,
                             int cuda_device, int rank, int ranks, bool only_this_model) {
  create_directories_or_fail(dir, "eval --use-cache");
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
  size_t line_no = 0;
  for (size_t start = 0; start < content.size();) {
    const size_t end = content.find('\n', start);
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
      loglikelihoods_.emplace(key, v.get<double>());
      continue;
    }
    Generation g;
    if (j.contains("text") && j["text"].is_string()) {
      g.text = j["text"];
    } else if (j.contains("text_hex") && j["text_hex"].is_string()) {
      const std::optional<std::string> bytes = bytes_of_hex(j["text_hex"]);
      if (!bytes) bad("text_hex is not hexadecimal");
      g.text = *bytes;
    } else {
      bad("neither text, text_hex nor loglikelihood");
    }
    if (!j.contains("tokens") || !j["tokens"].is_number_integer() || j["tokens"].get<int64_t>() < 0)
      bad("tokens is not a count");
    g.tokens = j["tokens"];
    generations_.emplace(key, std::move(g));
  }
}

void ResponseCache::append(const std::string& line) {
  const std::string whole = line + "\n";
  // O_APPEND and one write per line: ranks and concurrent runs never interleave within a line.
  const ssize_t n = ::write(fd_, whole.data(), whole.size());
  if (n != static_cast<ssize_t>(whole.size()))
    fail("{}: cannot append to the response cache ({})", path_, n < 0 ? std::strerror(errno) : "short write");
}

const ResponseCache::Generation* ResponseCache::find_generation(const std::string& key) {
  const auto it = generations_.find(key);
  ++(it == generations_.end() ? misses_ : hits_);
  return it == generations_.end() ? nullptr : &it->second;
}

std::optional<double> ResponseCache::find_loglikelihood(const std::string& key) {
  const auto it = loglikelihoods_.find(key);
  ++(it == loglikelihoods_.end() ? misses_ : hits_);
  if (it == loglikelihoods_.end()) return std::nullopt;
  return it->second;
}

void ResponseCache::put_generation(const std::string& key, const Generation& g) {
  if (!generations_.emplace(key, g).second) return;
  nlohmann::ordered_json line = {{"request", key}};
  if (utf8::is_valid(g.text)) line["text"] = g.text;
  else line["text_hex"] = hex_of(g.text);
  line["tokens"] = g.tokens;
  append(line.dump());
}

void ResponseCache::put_loglikelihood(const std::string& key, double loglikelihood) {
  if (!std::isfinite(loglikelihood)) return;  // JSON has no -inf: such a pair is computed again
  if (!loglikelihoods_.emplace(key, loglikelihood).second) return;
  append(nlohmann::ordered_json({{"request", key}, {"loglikelihood", loglikelihood}}).dump());
}

std::unique_ptr<ResponseCache> open_response_cache(const EvalOptions& options, const infer::Session& session) {
  if (options.cache_dir.empty()) return nullptr;
  Communicator& world = Communicator::world();
  return std::make_unique<ResponseCache>(options.cache_dir, session, options.precision, options.cuda_device,
                                         world.rank(), world.size(), options.cache_holds_one_model);
}

}  // namespace tt::eval
