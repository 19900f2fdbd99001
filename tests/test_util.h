// Helpers shared by the tests: where the repo and ../shared are, temp dirs, running the CLI.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace tt::testing {

inline std::string source_dir() { return TT_SOURCE_DIR; }

// ../shared beside the repo, or $TINYTHINK_SHARED when it is set and not empty (an empty value, as
// `TINYTHINK_SHARED= ctest` leaves it, counts as unset, as it does for the binary's default data root).
inline std::string shared_dir() {
  if (const char* env = std::getenv("TINYTHINK_SHARED"); env && *env) return env;
  return std::string(TT_SOURCE_DIR) + "/../shared";
}

// The tasks' own default data root is $TINYTHINK_SHARED/data, else ../shared/data relative to the working
// directory (under ctest: build/, where there is none). Tests that rely on that default (BBH's
// cot-prompts beside a --data folder) point it at shared_dir() unless the caller already set it.
inline void use_shared_dir_as_default_data_root() { ::setenv("TINYTHINK_SHARED", shared_dir().c_str(), 0); }

inline std::string fixture_dir() { return std::string(TT_SOURCE_DIR) + "/tests/fixtures"; }

// The directories make_temp_dir made in this process.
inline std::vector<std::string>& temp_dirs_made() {
  static std::vector<std::string> dirs;
  return dirs;
}

// At the end of a test process whose tests all passed, its temp directories are removed; a failed
// test's are kept to look at. Repeated ctest runs used to fill /tmp (66 GB of them on one machine).
class RemoveTempDirsWhenAllPassed : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!::testing::UnitTest::GetInstance()->Passed()) return;
    std::error_code ec;
    for (const std::string& dir : temp_dirs_made()) std::filesystem::remove_all(dir, ec);
  }
};
inline const bool kTempDirsRemovedWhenAllPassed =
    (::testing::AddGlobalTestEnvironment(new RemoveTempDirsWhenAllPassed), true);

// A fresh empty directory under the system temp dir, unique per call.
inline std::string make_temp_dir(const std::string& tag) {
  static int counter = 0;
  auto dir = std::filesystem::temp_directory_path() /
             ("tinythink-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  temp_dirs_made().push_back(dir.string());
  return dir.string();
}

struct CommandResult {
  int exit_code = 0;
  std::string output;  // stdout and stderr together
};

// Runs `command` (a /bin/sh command line that sends its stderr where it wants) and captures its output.
inline CommandResult run_captured(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Runs `tinythink <args>` through the shell, capturing stdout+stderr.
inline CommandResult run_cli(const std::string& args) { return run_captured(std::string(TT_BINARY) + " " + args + " 2>&1"); }

// Runs a /bin/sh command line (several commands: `ulimit ...; tinythink ...`), capturing stdout+stderr.
inline CommandResult run_shell(const std::string& command_line) { return run_captured("{ " + command_line + "; } 2>&1"); }

// A failed command's output is one line "error: ..." containing needle, with exit code 1.
inline void expect_one_line_error(const CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

}  // namespace tt::testing
