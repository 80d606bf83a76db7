// Safe display of untrusted text (entry names, module names) in messages and terminals.
//
// Hostile archives carry names with control characters, escape sequences, invalid UTF-8 or
// NUL bytes. Anything sealpkg prints that came from input goes through Printable() first so
// that a name cannot rewrite the user's terminal or forge extra output lines.
//
//   std::cerr << "bad entry " << sealpkg::Printable(name) << "\n";
#pragma once

#include <string>
#include <string_view>

namespace sealpkg {

// Returns `text` with every byte that is not printable ASCII or part of a valid UTF-8 sequence
// (excluding C1 controls) replaced by "\xNN"; a backslash becomes "\\".
std::string Printable(std::string_view text);

// True if `text` is valid UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);

}  // namespace sealpkg
