#include "core/error.h"

// tt::Error is header-only; this file anchors the core library's object file.
namespace tt {}
