// Runs a test body on every instruction-set path this CPU can run (core/cpu_features.h), the active
// path restored afterwards; failures name the path.
#pragma once
#include <gtest/gtest.h>

#include "core/cpu_features.h"

namespace tt::testing {

// Puts the active path back as it was when the scope began.
struct RestoreIsa {
  Isa isa = active_isa();
  ~RestoreIsa() { select_isa(isa); }
};

template <class Body>
void on_every_isa(Body body) {
  RestoreIsa restore;
  for (Isa isa : runnable_isas(cpu_features())) {
    select_isa(isa);
    SCOPED_TRACE(std::string("isa ") + isa_name(isa));
    body(isa);
  }
}

}  // namespace tt::testing
