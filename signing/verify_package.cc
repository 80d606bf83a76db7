#include "signing/verify_package.h"

#include <algorithm>
#include <charconv>

#include "core/printable.h"
#include "signing/internal/store_files.h"

namespace sealpkg::signing {
namespace {

// A decimal version without sign or leading zeros, as marks compare integers.
bool ParseVersion(std::string_view text, int64_t& out) {
  if (text.empty() || text.size() > 15 || (text.size() > 1 && text[0] == '0')) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size() && out >= 0;
}

}  // namespace

std::string DetachedSignaturePath(const std::string& path) {
  return path + ".sig";
}

Status WriteSignatureFile(const std::string& path, std::string_view json) {
  return internal::WriteFileAtomic(
      path, {reinterpret_cast<const uint8_t*>(json.data()), json.size()}, 0644);
}

Result<std::vector<uint8_t>> ReadSmallFile(const std::string& path, uint64_t max_bytes) {
  return internal::ReadFileBounded(path, max_bytes, "io.file-too-large");
}

Result<TrustedPackage> VerifyPackageWithTrust(std::span<const uint8_t> package,
                                              const std::vector<uint8_t>* detached_bundle,
                                              std::string_view file_name, TrustStore& store,
                                              const PackageTrustOptions& options) {
  SEALPKG_ASSIGN_OR_RETURN(RoleKeyResolver signers, store.ResolverFor(options.role));
  auto verified = detached_bundle != nullptr ? VerifyDetached(package, *detached_bundle, file_name,
                                                              signers, options.verify)
                                             : VerifyEmbedded(package, signers, options.verify);
  if (!verified.ok()) {
    const Status& s = verified.status();
    // A signature the trust store refused: say which key and why (revoked, expired, ...).
    if (s.reason() == kReasonUnknownKey || s.reason() == "signature.unknown-key") {
      if (std::optional<Status> why = signers.RefusalFor({})) return *why;
    }
    return s;
  }
  TrustedPackage out;
  out.mode = detached_bundle != nullptr ? "detached" : "embedded";
  out.role = options.role;
  out.threshold = std::max(signers.threshold(), options.min_threshold);
  // security: distinct key ids only (A's verifier dedupes): one key signing twice counts once.
  if (verified->key_ids.size() < out.threshold) {
    return SignatureInvalid(std::string(kPackageThreshold),
                            std::to_string(verified->key_ids.size()) + " of " +
                                std::to_string(out.threshold) + " required distinct " +
                                options.role + " keys signed the package");
  }
  const PackageVerification& v = *verified;
  if (!v.package_name.empty() && !v.package_version.empty()) {
    int64_t version = 0;
    if (!ParseVersion(v.package_version, version)) {
      return SignatureInvalid(std::string(kPackageVersionReason),
                              "package '" + Printable(v.package_name) + "' has version '" +
                                  Printable(v.package_version) +
                                  "': rollback protection needs a decimal integer");
    }
    SEALPKG_RETURN_IF_ERROR(store.CheckPackageVersion(v.package_name, version));
    if (options.record_version) {
      SEALPKG_RETURN_IF_ERROR(store.RecordPackageVersion(v.package_name, version));
    }
  }
  out.verification = std::move(*verified);
  return out;
}

}  // namespace sealpkg::signing
