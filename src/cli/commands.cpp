#include "cli/commands.h"

namespace tt::cli {

// One declaration and one list entry per verb (defined in cmd_<verb>.cpp).
void register_chat_template(CLI::App& app);

std::vector<RegisterCommand> all_commands() {
  return {register_chat_template};
}

}  // namespace tt::cli
