// Package signatures: embedded in the archive (the default) or detached next to it.
//
// Embedded: the Sigstore bundle (bundle.h) is the LAST entry of the archive,
// `<prefix>/.data/signatures/package.sigstore.json` (stock torch.package never turns it into a
// module: it is two levels under .data/ and not .py). Its in-toto statement (statement.h) lists
// every other entry by full name, sorted by bytes, with SHA-256 and size; subject annotations
// carry the layout lock (signing.md §6.3): `sealpkg.layout_sha256` over every local header
// (including 'FB' padding), content digest and data descriptor in file order, and
// `sealpkg.cd_sha256` over the central-directory records of those entries. The signature entry's
// own header and record and the end records must have the one canonical form
// (signing/internal/zip_tail.h) and the bundle must be sealpkg's canonical JSON, so every byte
// of a signed file is either signed or forced. Signing keeps existing entries byte for byte (a
// stock torch archive keeps its descriptors and padding) and replaces an existing signature.
//
// Detached: an OMS v1.0 whole-file bundle for `FILE.sig`, one resource named "." (what
// model_signing writes for a single file; "." and the file's base name are both accepted when
// verifying), subject name = the file's base name.
//
// Verification follows signing.md §6.7 steps 2-4: strict ZIP parse (archive/zip_reader.h; its
// kMalformed "zip.*" errors are returned as they are), the reserved last entry, the bundle
// (mediaType, payloadType, canonical bytes, hint and keyids matching the keys that verified),
// every DSSE signature verified (== 1) by a key from the caller's KeyResolver with the
// resolver's algorithm, the statement parsed strictly, the resource set EQUAL to the entry set
// minus the signature entry, sizes, all SHA-256 recomputed in parallel, layout and CD digests,
// root digest and the canonical tail. Every failure is kSignatureInvalid with a stable reason
// (see kReason* below; entry-level failures name the entry via Status::entry()).
//
//   SEALPKG_ASSIGN_OR_RETURN(auto key, ReadPrivateKeyFile("signer.pem"));
//   SignOptions opts;  opts.package_name = "org.example.model";  opts.package_version = "3";
//   SEALPKG_RETURN_IF_ERROR(SignEmbeddedFile("model.pt", {&key}, opts));   // atomic rewrite
//   StaticKeyResolver trust({{key.public_key(), key.algorithm()}});
//   SEALPKG_ASSIGN_OR_RETURN(auto archive, archive::Archive::Open("model.pt", limits));
//   SEALPKG_ASSIGN_OR_RETURN(PackageVerification v, VerifyEmbedded(archive.bytes(), trust));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/status.h"
#include "signing/dsse.h"
#include "signing/hashing.h"
#include "signing/keys.h"

namespace sealpkg::signing {

// Record name (below the archive prefix) of the embedded signature.
inline constexpr std::string_view kSignatureRecord = ".data/signatures/package.sigstore.json";
// Value of the `sealpkg.format` annotation this version writes and accepts.
inline constexpr std::string_view kSignatureFormat = "1";

// Stable reason ids (Status::reason(), all ErrorCode::kSignatureInvalid).
inline constexpr std::string_view kReasonMissing = "signature.missing";  // no signature entry
inline constexpr std::string_view kReasonNotLast = "signature.entry-not-last";
inline constexpr std::string_view kReasonEntryForm = "signature.entry-form";  // not STORED/too big
inline constexpr std::string_view kReasonBundle = "signature.bundle-malformed";
inline constexpr std::string_view kReasonBundleNonCanonical = "signature.bundle-noncanonical";
inline constexpr std::string_view kReasonTail =
    "signature.noncanonical-tail";  // sig header/CD/EOCD
inline constexpr std::string_view kReasonPayloadType = "signature.payload-type";
inline constexpr std::string_view kReasonUnknownKey = "signature.unknown-key";
inline constexpr std::string_view kReasonBadSignature = "signature.bad-signature";
inline constexpr std::string_view kReasonAlgorithm = "signature.algorithm-mismatch";
inline constexpr std::string_view kReasonKeyid = "signature.keyid-mismatch";  // missing keyid
inline constexpr std::string_view kReasonHint = "signature.hint-mismatch";
inline constexpr std::string_view kReasonStatement = "signature.statement-malformed";
inline constexpr std::string_view kReasonSubject = "signature.subject";  // name != prefix
inline constexpr std::string_view kReasonAnnotations = "signature.annotations";
inline constexpr std::string_view kReasonSerialization = "signature.serialization";
inline constexpr std::string_view kReasonEntryUnsigned = "signature.entry-unsigned";  // extra entry
inline constexpr std::string_view kReasonEntryMissing =
    "signature.entry-missing";  // listed, absent
inline constexpr std::string_view kReasonEntrySize = "signature.entry-size";
inline constexpr std::string_view kReasonEntryCount = "signature.entry-count";
inline constexpr std::string_view kReasonEntryMethod = "signature.entry-method";  // DEFLATE entry
inline constexpr std::string_view kReasonEntryDigest = "signature.entry-digest";
inline constexpr std::string_view kReasonLayout = "signature.layout";
inline constexpr std::string_view kReasonCentralDirectory = "signature.central-directory";
inline constexpr std::string_view kReasonFileDigest = "signature.file-digest";  // detached
inline constexpr std::string_view kReasonResource = "signature.resource";       // detached

struct SignOptions {
  std::string package_name;     // `sealpkg.package` annotation, omitted when empty
  std::string package_version;  // `sealpkg.version` annotation, omitted when empty
  // `sealpkg.signed_at` (RFC 3339 UTC, audit only, never used for decisions). Empty: now. Pin it
  // for reproducible output (Ed25519 and this give byte-identical files).
  std::string signed_at;
  HashOptions hashing;
  Limits limits;
};

struct VerifyOptions {
  HashOptions hashing;
  Limits limits;
};

struct PackageVerification {
  std::vector<std::string> key_ids;  // distinct key ids that verified, in signature order
  std::string statement_sha256;      // hex SHA-256 of the DSSE payload: the package identity
  std::string subject_name;          // archive prefix (embedded) or file base name (detached)
  std::string package_name;          // annotations, "" when absent
  std::string package_version;
  std::string signed_at;
  uint64_t entry_count = 0;  // signed entries (embedded) or 1 (detached)
};

// Signs `archive` (a whole ZIP that passes the strict reader) with every key, in order; the
// bundle hint is the first key's. Returns the new archive bytes. An existing signature entry is
// replaced. kSignatureInvalid "signature.entry-not-last" if the reserved name is present but not
// last, "signature.entry-method" for DEFLATE entries (torch.package writes STORED only), the
// reader's errors for a malformed archive, kInternal "internal.no-keys" without keys.
Result<std::vector<uint8_t>> SignEmbedded(std::span<const uint8_t> archive,
                                          std::span<const PrivateKey* const> keys,
                                          const SignOptions& options = {});

// Signs the file at `path` in place: reads it once, writes the signed archive to a temporary
// file in the same folder (the original's permission bits), fsyncs and renames it over `path`.
// On any error `path` is untouched and no temporary file remains.
Status SignEmbeddedFile(const std::string& path, std::span<const PrivateKey* const> keys,
                        const SignOptions& options = {});

// Verifies an embedded signature; every signature in the bundle must verify with a key the
// resolver knows.
Result<PackageVerification> VerifyEmbedded(std::span<const uint8_t> archive,
                                           const KeyResolver& resolver,
                                           const VerifyOptions& options = {});

// The canonical OMS whole-file bundle (JSON text) for `file`, for `<file>.sig`. `file_name` is
// the subject name (the file's base name).
Result<std::string> SignDetached(std::span<const uint8_t> file, std::string_view file_name,
                                 std::span<const PrivateKey* const> keys,
                                 const SignOptions& options = {});

// Verifies a detached bundle (sealpkg's or model_signing's key-mode format) against `file`.
// Keyless signatures (model_signing) are resolved by the bundle's key hint; any keyid present
// must name the key that verified. The single resource must be named "." or `file_name`.
Result<PackageVerification> VerifyDetached(std::span<const uint8_t> file,
                                           std::span<const uint8_t> bundle_json,
                                           std::string_view file_name, const KeyResolver& resolver,
                                           const VerifyOptions& options = {});

}  // namespace sealpkg::signing
