#include "cli/commands.h"

namespace tt::cli {

// One declaration and one list entry per verb (defined in cmd_<verb>.cpp).
void register_tokenize(CLI::App& app);  // tokenize and detokenize

std::vector<RegisterCommand> all_commands() {
  return {register_tokenize};
}

}  // namespace tt::cli
