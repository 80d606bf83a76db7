// Package signature verification against the trust store (signing.md §6.7 steps 3-4).
//
// VerifyPackageWithTrust takes the package bytes (read once by the caller, who then hands the
// same bytes to the static verifier and the loader) and, when the caller found one, the detached
// bundle `PKG.sig`: detached mode when it is given, else the embedded signature. Keys come from
// the trust store's `role` (default package-signer): listed in the role, not revoked, inside
// their validity at the store's clock. Every signature in the bundle must verify (package
// verification's rule), and the DISTINCT verified key ids must reach max(role threshold,
// options.min_threshold). An embedded statement naming the package (`sealpkg.package`) with an
// integer `sealpkg.version` is checked against, and raises, the package's high-water mark.
//
// Failures keep package verification's reasons ("signature.entry-digest" with the entry, ...);
// a signature refused because of its key gets the trust reason instead ("trust.revoked-key",
// "trust.key-expired", "trust.wrong-role", "trust.unknown-key") naming the key id.
//
//   SEALPKG_ASSIGN_OR_RETURN(TrustStore store, TrustStore::Open(dir));
//   SEALPKG_ASSIGN_OR_RETURN(TrustedPackage t, VerifyPackageWithTrust(bytes, nullptr, "m.pt",
//                                                                     store));
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "signing/package_signature.h"
#include "signing/trust_store.h"

namespace sealpkg::signing {

inline constexpr std::string_view kPackageThreshold = "trust.package-threshold";
inline constexpr std::string_view kPackageVersionReason = "trust.package-version";

struct PackageTrustOptions {
  std::string role = std::string(kRolePackageSigner);
  uint32_t min_threshold = 0;  // a policy may demand more signers than the role's threshold
  bool record_version = true;  // raise the package's high-water mark on success
  VerifyOptions verify;
};

struct TrustedPackage {
  PackageVerification verification;
  std::string mode;  // "embedded" or "detached"
  std::string role;
  uint32_t threshold = 1;
};

Result<TrustedPackage> VerifyPackageWithTrust(std::span<const uint8_t> package,
                                              const std::vector<uint8_t>* detached_bundle,
                                              std::string_view file_name, TrustStore& store,
                                              const PackageTrustOptions& options = {});

// The path of the detached signature for `path` ("<path>.sig"; policies use the same rule).
std::string DetachedSignaturePath(const std::string& path);

// Writes a signature (or trust) file atomically: a temporary file in the same folder, fsynced,
// renamed over `path`, mode 0644. Never leaves a partial file at `path`.
Status WriteSignatureFile(const std::string& path, std::string_view json);

// Reads a small signature/trust/policy file (regular file, not through a symlink) of at most
// `max_bytes`; kIo "io.missing" when absent.
Result<std::vector<uint8_t>> ReadSmallFile(const std::string& path, uint64_t max_bytes);

}  // namespace sealpkg::signing
