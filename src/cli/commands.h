// Each verb lives in its own cmd_<verb>.cpp and exposes one register function; main.cpp calls them all.
// A verb's callback runs inside app.parse(), so tt::Error thrown there reaches main's handler.
#pragma once
#include <vector>

namespace CLI {
class App;
}

namespace tt::cli {

using RegisterCommand = void (*)(CLI::App& app);

void register_init_model(CLI::App& app);
void register_score(CLI::App& app);
void register_bench(CLI::App& app);
void register_train_demo(CLI::App& app);

inline std::vector<RegisterCommand> all_commands() {
  return {register_init_model, register_score, register_bench, register_train_demo};
}

}  // namespace tt::cli
