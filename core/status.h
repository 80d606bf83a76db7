// Errors as values for all of sealpkg's C++ core.
//
// Every fallible function returns a `Status` (or a `Result<T>` carrying a value or a Status).
// Both are [[nodiscard]]: an ignored error is a compile error under -Werror. A non-OK Status
// holds a broad `ErrorCode` (what kind of failure: malformed input, a limit, a policy decision,
// a bad signature, I/O, or a bug in sealpkg), a stable `reason` id such as
// "zip.duplicate-name" that tests, JSON and SARIF output pin, a human message, and where known
// the archive entry and byte offset the failure is about.
//
//   sealpkg::Result<Index> ParseThing(std::span<const uint8_t> bytes) {
//     if (bytes.size() < 4) return sealpkg::Malformed("thing.truncated", "need 4 bytes");
//     SEALPKG_ASSIGN_OR_RETURN(Header h, ParseHeader(bytes));
//     SEALPKG_RETURN_IF_ERROR(CheckHeader(h));
//     return Index{h};
//   }
//
// Exceptions are used only at the Python boundary, which translates a Status once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace sealpkg {

enum class ErrorCode : uint8_t {
  kOk = 0,
  kMalformed,         // input bytes do not follow the format (or follow it ambiguously)
  kLimitExceeded,     // input is well-formed but larger or deeper than a configured limit
  kPolicyDenied,      // input is understood and a policy forbids it
  kSignatureInvalid,  // a signature or digest does not verify
  kIo,                // the operating system refused or failed a file/socket operation
  kInternal,          // a bug in sealpkg; fuzz targets abort on it
};

// Stable lower-case names used in text, JSON and SARIF output ("malformed", "io", ...).
std::string_view ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string reason, std::string message);

  bool ok() const { return rep_ == nullptr; }
  ErrorCode code() const { return rep_ ? rep_->code : ErrorCode::kOk; }
  // Stable identifier of this failure, e.g. "zip.duplicate-name"; empty when OK.
  std::string_view reason() const;
  std::string_view message() const;
  // The archive entry (full name) the failure concerns; empty when not about one entry.
  std::string_view entry() const;
  // Byte offset in the input the failure concerns, when known.
  std::optional<uint64_t> offset() const;

  // Attach context. Only meaningful on an error; no-ops on OK.
  Status&& WithEntry(std::string entry) &&;
  Status&& WithOffset(uint64_t offset) &&;

  // "malformed [zip.duplicate-name] entry 'a/b' at offset 120: message"
  std::string ToString() const;

  // Explicitly discard: for the rare place where an error is deliberately ignored.
  void IgnoreError() const {}

 private:
  struct Rep {
    ErrorCode code;
    std::string reason;
    std::string message;
    std::string entry;
    std::optional<uint64_t> offset;
  };
  std::shared_ptr<Rep> rep_;  // null means OK; shared so Status copies are cheap
};

inline Status OkStatus() {
  return Status();
}
inline Status Malformed(std::string reason, std::string message) {
  return Status(ErrorCode::kMalformed, std::move(reason), std::move(message));
}
inline Status LimitExceeded(std::string reason, std::string message) {
  return Status(ErrorCode::kLimitExceeded, std::move(reason), std::move(message));
}
inline Status PolicyDenied(std::string reason, std::string message) {
  return Status(ErrorCode::kPolicyDenied, std::move(reason), std::move(message));
}
inline Status SignatureInvalid(std::string reason, std::string message) {
  return Status(ErrorCode::kSignatureInvalid, std::move(reason), std::move(message));
}
inline Status IoError(std::string reason, std::string message) {
  return Status(ErrorCode::kIo, std::move(reason), std::move(message));
}
inline Status InternalError(std::string reason, std::string message) {
  return Status(ErrorCode::kInternal, std::move(reason), std::move(message));
}

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::decay_t<T>, Status>, "Result<Status> makes no sense");

 public:
  Result(T value) : v_(std::in_place_index<1>, std::move(value)) {}        // NOLINT: implicit
  Result(Status status) : v_(std::in_place_index<0>, std::move(status)) {  // NOLINT: implicit
    if (std::get<0>(v_).ok()) {
      v_.template emplace<0>(
          InternalError("internal.ok-result", "Result constructed from an OK Status"));
    }
  }

  bool ok() const { return v_.index() == 1; }
  const Status& status() const& {
    static const Status kOk;
    return ok() ? kOk : std::get<0>(v_);
  }
  Status status() && { return ok() ? Status() : std::move(std::get<0>(v_)); }

  // Precondition: ok(). Accessing the value of an error is a bug in the caller.
  T& value() & { return std::get<1>(v_); }
  const T& value() const& { return std::get<1>(v_); }
  T&& value() && { return std::get<1>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace sealpkg

#define SEALPKG_INTERNAL_CONCAT2(a, b) a##b
#define SEALPKG_INTERNAL_CONCAT(a, b) SEALPKG_INTERNAL_CONCAT2(a, b)

// NOLINTBEGIN(bugprone-macro-parentheses): `tmp` is a declared name and `lhs` may be a
// declaration (`auto x`); neither can be parenthesized. `expr` is.

// Returns the Status from the enclosing function if `expr` (a Status) is not OK.
#define SEALPKG_RETURN_IF_ERROR(expr) \
  SEALPKG_INTERNAL_RETURN_IF_ERROR(SEALPKG_INTERNAL_CONCAT(sealpkg_status_, __COUNTER__), expr)
#define SEALPKG_INTERNAL_RETURN_IF_ERROR(tmp, expr) \
  do {                                              \
    ::sealpkg::Status tmp = (expr);                 \
    if (!tmp.ok()) {                                \
      return tmp;                                   \
    }                                               \
  } while (false)

// `lhs = value of expr` (a Result<T>), or return its Status from the enclosing function.
#define SEALPKG_ASSIGN_OR_RETURN(lhs, expr)                                                     \
  SEALPKG_INTERNAL_ASSIGN_OR_RETURN(SEALPKG_INTERNAL_CONCAT(sealpkg_result_, __COUNTER__), lhs, \
                                    expr)
#define SEALPKG_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, expr) \
  auto tmp = (expr);                                      \
  if (!tmp.ok()) {                                        \
    return std::move(tmp).status();                       \
  }                                                       \
  lhs = std::move(tmp).value()

// NOLINTEND(bugprone-macro-parentheses)
