// tools/hub/fake_hub.py started on the loopback interface for a test, with the environment pointed at
// it: HF_ENDPOINT, a fresh HF_HUB_CACHE, no token, online, short retry backoff. Stopped (and the
// environment restored to none of these) by stop() or the destructor.
#pragma once
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace tt::testing {

class FakeHubServer {
 public:
  // `arguments`: extra fake_hub.py arguments (--serve KIND:ID=DIR ...).
  void start(const std::string& arguments = "") {
    log = make_temp_dir("fakehub") + "/server.log";
    std::string command = "python3 " + source_dir() + "/tools/hub/fake_hub.py " + arguments + " 2>" + log + " & echo $!; wait";
    server_ = ::popen(("exec sh -c '" + command + "'").c_str(), "r");
    ASSERT_TRUE(server_);
    char line[64] = {};
    ASSERT_TRUE(std::fgets(line, sizeof line, server_));
    pid_ = std::atoi(line);
    ASSERT_TRUE(std::fgets(line, sizeof line, server_)) << "fake_hub.py did not start";
    port = std::atoi(line);
    ASSERT_GT(port, 0);
    cache = make_temp_dir("hfcache");
    ::setenv("HF_ENDPOINT", fmt::format("http://127.0.0.1:{}", port).c_str(), 1);
    ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
    ::setenv("TINYTHINK_HTTP_BACKOFF", "0.01", 1);
    ::setenv("HF_TOKEN_PATH", (cache + "/no-token").c_str(), 1);
    ::unsetenv("HF_HUB_OFFLINE");
    ::unsetenv("HF_TOKEN");
  }
  void stop() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
    if (server_) ::pclose(server_);
    pid_ = 0, server_ = nullptr;
    for (const char* v : {"HF_ENDPOINT", "HF_HUB_CACHE", "TINYTHINK_HTTP_BACKOFF", "HF_TOKEN_PATH", "HF_HUB_OFFLINE"}) ::unsetenv(v);
  }
  ~FakeHubServer() { stop(); }

  int port = 0;
  std::string cache, log;

 private:
  FILE* server_ = nullptr;
  int pid_ = 0;
};

}  // namespace tt::testing
