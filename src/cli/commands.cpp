#include "cli/commands.h"

namespace tt::cli {

// One declaration and one list entry per verb (defined in cmd_<verb>.cpp).

std::vector<RegisterCommand> all_commands() {
  return {};
}

}  // namespace tt::cli
