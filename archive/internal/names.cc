#include "archive/internal/names.h"

#include "archive/errors.h"
#include "core/printable.h"

namespace sealpkg::archive::internal {
namespace {

Status NameError(std::string_view reason, std::string_view what, std::string_view name) {
  return Malformed(std::string(reason), "entry name " + std::string(what))
      .WithEntry(std::string(name));
}

}  // namespace

bool IsAscii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Status ValidateEntryName(std::string_view name, bool utf8_flag, const ArchiveLimits& limits) {
  if (name.size() > limits.max_name_bytes) {
    return LimitExceeded(std::string(reason::kNameTooLong),
                         "entry name is " + std::to_string(name.size()) + " bytes; the limit is " +
                             std::to_string(limits.max_name_bytes))
        .WithEntry(std::string(name.substr(0, 256)));
  }
  if (!IsValidUtf8(name)) return NameError(reason::kNameNotUtf8, "is not valid UTF-8", name);
  // security: without the UTF-8 flag, Python's zipfile decodes names as cp437, so the same
  // bytes would name a different file there than in miniz or here.
  if (!utf8_flag && !IsAscii(name)) {
    return NameError(reason::kNameUtf8FlagMissing,
                     "is not ASCII but the UTF-8 flag (bit 11) is not set", name);
  }
  for (char c : name) {
    const auto b = static_cast<unsigned char>(c);
    // security: zipfile cuts names at NUL; control characters forge terminal output.
    if (b < 0x20 || b == 0x7F) {
      return NameError(reason::kNameControlChar, "contains a control character", name);
    }
    if (c == '\\') {
      return NameError(reason::kNameBackslash, "contains a backslash (a Windows separator)", name);
    }
    if (c == ':') {
      return NameError(reason::kNameForbiddenChar, "contains ':' (a drive or stream marker)", name);
    }
  }
  if (name.empty()) return NameError(reason::kNameEmptySegment, "is empty", name);
  if (name.front() == '/') return NameError(reason::kNameAbsolute, "is an absolute path", name);
  size_t start = 0;
  while (true) {
    const size_t slash = name.find('/', start);
    const std::string_view segment = name.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) {
      return NameError(reason::kNameEmptySegment,
                       "has an empty path segment ('//' or a trailing '/')", name);
    }
    if (segment == "." || segment == "..") {
      return NameError(reason::kNameDotSegment, "has a '.' or '..' segment", name);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return OkStatus();
}

}  // namespace sealpkg::archive::internal
