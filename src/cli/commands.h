// Each verb lives in its own cmd_<verb>.cpp and exposes one register function, listed in
// commands.cpp; main.cpp calls them all. A verb's callback runs inside app.parse(), so tt::Error
// thrown there reaches main's handler (one-line message, exit code 1).
#pragma once
#include <vector>

namespace CLI {
class App;
}

namespace tt::cli {

using RegisterCommand = void (*)(CLI::App& app);
std::vector<RegisterCommand> all_commands();

}  // namespace tt::cli
