#include "io/http.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include <curl/curl.h>

#include "core/error.h"

namespace tt {

namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) response->headers.clear();  // a new response (after a redirect)
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
    response->headers[name] = value;
  }
  return size * count;
}

size_t to_string(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

struct FileSink {
  FILE* file = nullptr;
  int error = 0;
  int64_t done = 0, total = -1;
  const std::function<void(int64_t, int64_t)>* progress = nullptr;
  HttpResponse* response = nullptr;
};

size_t to_file(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<FileSink*>(user);
  const size_t n = size * count;
  if (sink->response->status >= 300) {  // an error body: keep it for the message, not in the file
    sink->response->body.append(data, n);
    return n;
  }
  if (std::fwrite(data, 1, n, sink->file) != n || std::fflush(sink->file) != 0) {
    sink->error = errno ? errno : EIO;
    return 0;  // aborts the transfer
  }
  sink->done += static_cast<int64_t>(n);
  if (*sink->progress) (*sink->progress)(sink->done, sink->total);
  return n;
}

double backoff_seconds(const HttpOptions& options) {
  if (const char* env = std::getenv("TINYTHINK_HTTP_BACKOFF")) return std::atof(env);
  return options.first_backoff_s;
}

bool transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT: case CURLE_OPERATION_TIMEDOUT:  // an unknown host fails at once
    case CURLE_PARTIAL_FILE: case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING:
    case CURLE_HTTP2: case CURLE_HTTP2_STREAM: case CURLE_SSL_CONNECT_ERROR:
      return true;
    default: return false;
  }
}

bool transient_status(long status) { return status == 429 || status == 500 || status == 502 || status == 503 || status == 504; }

class Easy {
 public:
  Easy(const std::string& url, const HttpOptions& options) {
    static CurlGlobal global;
    curl_ = curl_easy_init();
    if (!curl_) fail("{}: cannot start an HTTP request (curl_easy_init)", url);
    for (const auto& h : options.headers) list_ = curl_slist_append(list_, h.c_str());
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list_);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "tinythink; hf_hub/compatible");
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_LIMIT, 1L);  // a stalled transfer is a dropped one
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response_);
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_);
  }
  ~Easy() {
    curl_slist_free_all(list_);
    curl_easy_cleanup(curl_);
  }
  CURL* get() { return curl_; }
  HttpResponse& response() { return response_; }
  CURLcode perform() {
    error_[0] = 0;
    response_.headers.clear();
    CURLcode code = curl_easy_perform(curl_);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &response_.status);
    return code;
  }
  std::string error(CURLcode code) const { return error_[0] ? error_ : curl_easy_strerror(code); }

 private:
  CURL* curl_ = nullptr;
  curl_slist* list_ = nullptr;
  HttpResponse response_;
  char error_[CURL_ERROR_SIZE] = {};
};

void sleep_for(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

HttpResponse request(const std::string& url, const HttpOptions& options, bool head) {
  double wait = backoff_seconds(options);
  for (int attempt = 1;; ++attempt) {
    Easy easy(url, options);
    std::string body;
    if (head) curl_easy_setopt(easy.get(), CURLOPT_NOBODY, 1L);
    else {
      curl_easy_setopt(easy.get(), CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, to_string);
      curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &body);
    }
    CURLcode code = easy.perform();
    bool retry = code != CURLE_OK ? transient(code) : transient_status(easy.response().status);
    if (retry && attempt < options.max_tries) {
      sleep_for(wait);
      wait *= 2;
      continue;
    }
    if (code != CURLE_OK)
      fail("{}: request failed after {} tries ({}); without a network, HF_HUB_OFFLINE=1 uses the local cache only", url,
           attempt, easy.error(code));
    HttpResponse response = std::move(easy.response());
    response.body = std::move(body);
    return response;
  }
}

}  // namespace

HttpResponse http_head(const std::string& url, const HttpOptions& options) { return request(url, options, true); }
HttpResponse http_get(const std::string& url, const HttpOptions& options) { return request(url, options, false); }

long http_download(const std::string& url, const std::string& path, const HttpOptions& options,
                   const std::function<void(int64_t, int64_t)>& progress) {
  double wait = backoff_seconds(options);
  for (int attempt = 1;; ++attempt) {
    std::error_code ec;
    int64_t have = std::filesystem::exists(path, ec) ? static_cast<int64_t>(std::filesystem::file_size(path, ec)) : 0;
    FILE* file = std::fopen(path.c_str(), "ab");
    if (!file) fail("{}: cannot write ({})", path, std::strerror(errno));
    Easy easy(url, options);
    FileSink sink;
    sink.file = file;
    sink.done = have;
    sink.progress = &progress;
    sink.response = &easy.response();
    curl_easy_setopt(easy.get(), CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, to_file);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &sink);
    if (have > 0) curl_easy_setopt(easy.get(), CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(have));
    CURLcode code = easy.perform();
    std::fclose(file);
    if (sink.error) fail("{}: cannot write ({})", path, std::strerror(sink.error));
    long status = easy.response().status;
    if (code == CURLE_OK && status == 200 && have > 0) {
      // the server ignored the Range: it sent the whole file after what we had; start again
      std::filesystem::resize_file(path, 0);
      if (attempt < options.max_tries) continue;
    }
    if (code == CURLE_RANGE_ERROR || status == 416) {  // what we have is not a prefix: start over
      std::filesystem::resize_file(path, 0);
      if (attempt < options.max_tries) continue;
    }
    bool retry = code != CURLE_OK ? transient(code) : transient_status(status);
    if (retry && attempt < options.max_tries) {
      sleep_for(wait);
      wait *= 2;
      continue;
    }
    if (code != CURLE_OK) fail("{}: download failed after {} tries ({})", url, attempt, easy.error(code));
    return status;
  }
}

}  // namespace tt
