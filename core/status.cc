#include "core/status.h"

#include "core/printable.h"

namespace sealpkg {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kMalformed:
      return "malformed";
    case ErrorCode::kLimitExceeded:
      return "limit-exceeded";
    case ErrorCode::kPolicyDenied:
      return "policy-denied";
    case ErrorCode::kSignatureInvalid:
      return "signature-invalid";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

Status::Status(ErrorCode code, std::string reason, std::string message) {
  if (code == ErrorCode::kOk) return;  // an OK status carries nothing
  rep_ = std::make_shared<Rep>(Rep{code, std::move(reason), std::move(message), {}, {}});
}

std::string_view Status::reason() const {
  return rep_ ? std::string_view(rep_->reason) : "";
}
std::string_view Status::message() const {
  return rep_ ? std::string_view(rep_->message) : "";
}
std::string_view Status::entry() const {
  return rep_ ? std::string_view(rep_->entry) : "";
}
std::optional<uint64_t> Status::offset() const {
  return rep_ ? rep_->offset : std::optional<uint64_t>();
}

Status&& Status::WithEntry(std::string entry) && {
  if (rep_) {
    // Copy-on-write: another Status may share this Rep.
    if (rep_.use_count() > 1) rep_ = std::make_shared<Rep>(*rep_);
    rep_->entry = std::move(entry);
  }
  return std::move(*this);
}

Status&& Status::WithOffset(uint64_t offset) && {
  if (rep_) {
    if (rep_.use_count() > 1) rep_ = std::make_shared<Rep>(*rep_);
    rep_->offset = offset;
  }
  return std::move(*this);
}

std::string Status::ToString() const {
  if (!rep_) return "ok";
  std::string out(ErrorCodeName(rep_->code));
  out += " [";
  out += rep_->reason;
  out += "]";
  if (!rep_->entry.empty()) {
    out += " entry '";
    out += Printable(rep_->entry);
    out += "'";
  }
  if (rep_->offset) {
    out += " at offset ";
    out += std::to_string(*rep_->offset);
  }
  out += ": ";
  out += Printable(rep_->message);  // messages may quote hostile names
  return out;
}

}  // namespace sealpkg
