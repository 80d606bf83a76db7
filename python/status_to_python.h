// The one place where a C++ Status becomes a Python exception (sealpkg.errors.*).
#pragma once

#include "core/status.h"

namespace sealpkg::python {

// Raises the sealpkg.errors exception matching status.code(); never returns.
[[noreturn]] void ThrowStatus(const Status& status);

// Returns the value or raises.
template <typename T>
T ValueOrThrow(Result<T> result) {
  if (!result.ok()) ThrowStatus(result.status());
  return std::move(result).value();
}

inline void OkOrThrow(const Status& status) {
  if (!status.ok()) ThrowStatus(status);
}

}  // namespace sealpkg::python
