// Entry-name grammar shared by the strict reader and the canonical writer.
#pragma once

#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/status.h"

namespace sealpkg::archive::internal {

// Checks one full entry name ("<prefix>/<record>") against the strict grammar: bounded length,
// valid UTF-8 (and flagged as UTF-8 when not pure ASCII, since readers fall back to cp437),
// no control characters, '\\' or ':', not absolute, no empty, '.' or '..' segments.
Status ValidateEntryName(std::string_view name, bool utf8_flag, const ArchiveLimits& limits);

// ASCII-only lower-casing, as miniz's case-insensitive lookup does it.
std::string AsciiLower(std::string_view text);

bool IsAscii(std::string_view text);

}  // namespace sealpkg::archive::internal
