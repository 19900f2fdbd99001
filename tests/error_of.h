// The message of the tt::Error an action throws, or "(no error)".
#pragma once
#include <functional>
#include <string>

#include "core/error.h"

namespace tt::testing {

inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace tt::testing
