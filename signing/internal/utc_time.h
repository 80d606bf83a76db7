// UTC timestamps for trust roots and signed policies: exactly "YYYY-MM-DDTHH:MM:SSZ".
//
// One spelling per instant (no offsets, no fractions, no lower-case 'z', no leap seconds), so a
// signed `expires` cannot be re-spelled, and no dependence on the process's time zone (the
// conversion is arithmetic, not timegm/localtime). Years 1970-9999.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sealpkg::signing::internal {

// Seconds since the Unix epoch. kMalformed "time.format" for anything but the form above or an
// impossible date (2026-02-30).
Result<int64_t> ParseUtcTime(std::string_view text);
// The canonical text of `seconds` (clamped to the supported range).
std::string FormatUtcTime(int64_t seconds);
// Current wall-clock time, seconds since the epoch.
int64_t SystemUtcNow();

}  // namespace sealpkg::signing::internal
