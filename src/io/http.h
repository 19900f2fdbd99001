// HTTP over libcurl for the Hub client: a metadata request (HEAD without following redirects) and a
// resumable download to a file (following redirects, with retries and backoff on transient errors).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tt {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, of the last response
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpOptions {
  std::vector<std::string> headers;  // "Name: value"
  int max_tries = 5;                 // transient failures (connection errors, 429, 5xx) are retried
  double first_backoff_s = 0.5;      // doubled after each failed try ($TINYTHINK_HTTP_BACKOFF overrides)
};

// HEAD `url`, redirects not followed (their Location is in headers). Throws tt::Error naming the
// url on a connection failure that outlasts the retries; HTTP error statuses are returned.
HttpResponse http_head(const std::string& url, const HttpOptions& options);
// GET `url` into memory (following redirects).
HttpResponse http_get(const std::string& url, const HttpOptions& options);

// GET `url` (following redirects) appended to `path`, resuming from its current size with a Range
// request, retrying dropped connections from where they stopped. progress(done, total) is called as
// bytes arrive. Returns the final status (200/206, or the HTTP error that stopped it). Disk errors
// (e.g. disk full) throw "<path>: cannot write (No space left on device)".
long http_download(const std::string& url, const std::string& path, const HttpOptions& options,
                   const std::function<void(int64_t done, int64_t total)>& progress);

}  // namespace tt
