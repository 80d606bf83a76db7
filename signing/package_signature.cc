#include "signing/package_signature.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "archive/zip_reader.h"
#include "core/byte_reader.h"
#include "core/file_bytes.h"
#include "core/printable.h"
#include "signing/bundle.h"
#include "signing/internal/zip_tail.h"
#include "signing/statement.h"

namespace sealpkg::signing {
namespace {

using archive::ZipEntry;
using archive::ZipIndex;

constexpr std::string_view kLayoutTag("sealpkg-layout-v1\0", 18);
constexpr std::string_view kAnnFormat = "sealpkg.format";
constexpr std::string_view kAnnPackage = "sealpkg.package";
constexpr std::string_view kAnnVersion = "sealpkg.version";
constexpr std::string_view kAnnLayout = "sealpkg.layout_sha256";
constexpr std::string_view kAnnCd = "sealpkg.cd_sha256";
constexpr std::string_view kAnnCount = "sealpkg.entry_count";
constexpr std::string_view kAnnSignedAt = "sealpkg.signed_at";

Status Invalid(std::string_view reason, std::string message) {
  return SignatureInvalid(std::string(reason), std::move(message));
}

// Wraps a parser error of signed material: the inner reason stays visible in the message.
Status Wrap(std::string_view reason, const Status& inner) {
  return Invalid(reason, "[" + std::string(inner.reason()) + "] " + std::string(inner.message()));
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string ErrnoText(int err) {
  return std::strerror(err);
}

std::string NowUtc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The archive as the signer/verifier sees it: the strict index, the byte range of each
// central-directory record, and how many entries precede the signature entry.
struct PackageView {
  ZipIndex index;
  std::vector<std::pair<uint64_t, uint64_t>> cd_records;  // (offset, size) per entry
  size_t base_count = 0;                                  // entries covered by the statement
  bool signed_ = false;                                   // last entry is the signature
  std::string signature_name;                             // "<prefix>/<kSignatureRecord>"

  std::span<const ZipEntry> base() const { return index.entries().first(base_count); }
  // Where the signature entry starts (or would start).
  uint64_t base_end() const {
    return base_count == 0 ? 0 : index.entries()[base_count - 1].end_offset;
  }
  uint64_t base_cd_size() const {
    uint64_t n = 0;
    for (size_t i = 0; i < base_count; ++i) n += cd_records[i].second;
    return n;
  }
};

Result<PackageView> Examine(std::span<const uint8_t> bytes, const Limits& limits) {
  PackageView v;
  SEALPKG_ASSIGN_OR_RETURN(v.index, archive::ParseZip(bytes, limits.archive));
  const ZipIndex& index = v.index;
  v.signature_name = index.prefix() + "/" + std::string(kSignatureRecord);
  const auto entries = index.entries();
  // The reader validated every record: only their extents are needed here.
  ByteReader r(bytes);
  r.Seek(index.central_directory_offset());
  for (size_t i = 0; i < entries.size(); ++i) {
    const uint64_t at = r.position();
    r.Skip(28);
    const uint64_t name = r.U16();
    const uint64_t extra = r.U16();
    const uint64_t comment = r.U16();
    const uint64_t size = 46 + name + extra + comment;
    r.Seek(at + size);
    if (!r.ok()) return InternalError("internal.cd-walk", "central directory re-walk failed");
    v.cd_records.emplace_back(at, size);
  }
  v.base_count = entries.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].name != v.signature_name) continue;
    if (i + 1 != entries.size()) {
      return Invalid(kReasonNotLast, "the signature entry must be the last entry of the archive")
          .WithEntry(entries[i].name);
    }
    v.signed_ = true;
    v.base_count = i;
  }
  for (const ZipEntry& e : v.base()) {
    if (!e.stored()) {
      return Invalid(kReasonEntryMethod,
                     "compressed entries are not supported in signed packages (torch.package "
                     "stores every record)")
          .WithEntry(e.name);
    }
  }
  return v;
}

Result<std::vector<Sha256Digest>> EntryDigests(std::span<const uint8_t> bytes, const PackageView& v,
                                               const HashOptions& hashing) {
  std::vector<std::span<const uint8_t>> data;
  data.reserve(v.base_count);
  for (const ZipEntry& e : v.base())
    data.push_back(bytes.subspan(e.data_offset, e.compressed_size));
  return Sha256Many(data, hashing);
}

// signing.md §6.3: every local header (with its 'FB' padding), the content digest and the data
// descriptor of each covered entry, in file order.
Sha256Digest LayoutDigest(std::span<const uint8_t> bytes, const PackageView& v,
                          std::span<const Sha256Digest> digests) {
  Sha256Hasher h;
  h.Update(AsBytes(kLayoutTag));
  for (size_t i = 0; i < v.base_count; ++i) {
    const ZipEntry& e = v.base()[i];
    const auto header = bytes.subspan(e.header_offset, e.data_offset - e.header_offset);
    const uint64_t data_end = e.data_offset + e.compressed_size;
    const auto descriptor = bytes.subspan(data_end, e.end_offset - data_end);
    h.UpdateU64(header.size());
    h.Update(header);
    h.Update(digests[i]);
    h.UpdateU64(descriptor.size());
    h.Update(descriptor);
  }
  return h.Final();
}

std::span<const uint8_t> BaseCentralDirectory(std::span<const uint8_t> bytes,
                                              const PackageView& v) {
  return bytes.subspan(v.index.central_directory_offset(), v.base_cd_size());
}

struct SignedPayload {
  std::string statement;
  Bundle bundle;
};

Result<std::string> BuildBundle(const std::string& statement,
                                std::span<const PrivateKey* const> keys) {
  if (keys.empty()) return InternalError("internal.no-keys", "signing needs at least one key");
  Bundle bundle;
  bundle.key_hint = keys.front()->public_key().oms_hint();
  bundle.envelope.payload.assign(statement.begin(), statement.end());
  bundle.envelope.payload_type = std::string(kInTotoPayloadType);
  for (const PrivateKey* key : keys) {
    SEALPKG_ASSIGN_OR_RETURN(DsseSignature s,
                             SignDsse(*key, kInTotoPayloadType, bundle.envelope.payload));
    bundle.envelope.signatures.push_back(std::move(s));
  }
  return SerializeBundle(bundle);
}

// Signature checks shared by both modes: payloadType, every signature verified, keyids and the
// hint naming the keys that verified. Returns the distinct verified key ids.
Result<std::vector<std::string>> CheckBundleSignatures(const Bundle& bundle,
                                                       const KeyResolver& resolver,
                                                       bool require_keyid) {
  SEALPKG_RETURN_IF_ERROR(CheckPayloadType(bundle.envelope, kInTotoPayloadType));
  if (require_keyid) {
    for (const DsseSignature& s : bundle.envelope.signatures) {
      if (s.keyid.empty()) return Invalid(kReasonKeyid, "a signature carries no key id");
    }
  }
  const DsseVerification v = CheckDsseSignatures(bundle.envelope, resolver, bundle.key_hint);
  SEALPKG_RETURN_IF_ERROR(RequireAllVerified(v));
  // security: the hint is unauthenticated; it must name the key that made the first signature,
  // so it cannot be edited (and a model_signing verifier is pointed at the right key).
  const std::optional<TrustedKey> first = resolver.FindByKeyId(v.checks.front().key_id);
  if (!first || (!bundle.key_hint.empty() && first->key.oms_hint() != bundle.key_hint) ||
      (require_keyid && bundle.key_hint.empty())) {
    return Invalid(kReasonHint,
                   "verificationMaterial.publicKey.hint does not match the key that signed");
  }
  return v.verified_key_ids;
}

std::string AnnotationValue(const Subject& s, std::string_view key) {
  const std::string* v = s.FindAnnotation(key);
  return v ? *v : std::string();
}

}  // namespace

namespace {

// A signed archive is the original's first `keep` bytes (every entry before any old signature
// entry, byte for byte) followed by `tail` (signature entry, central directory, end records).
struct EmbeddedTail {
  uint64_t keep = 0;
  std::vector<uint8_t> tail;
};

Result<EmbeddedTail> BuildEmbeddedTail(std::span<const uint8_t> archive,
                                       std::span<const PrivateKey* const> keys,
                                       const SignOptions& options) {
  if (keys.empty()) return InternalError("internal.no-keys", "signing needs at least one key");
  SEALPKG_ASSIGN_OR_RETURN(PackageView v, Examine(archive, options.limits));
  SEALPKG_ASSIGN_OR_RETURN(std::vector<Sha256Digest> digests,
                           EntryDigests(archive, v, options.hashing));
  const auto base_cd = BaseCentralDirectory(archive, v);

  OmsStatement st;
  st.subject.name = v.index.prefix();
  auto& ann = st.subject.annotations;
  ann.push_back({std::string(kAnnFormat), std::string(kSignatureFormat)});
  if (!options.package_name.empty())
    ann.push_back({std::string(kAnnPackage), options.package_name});
  if (!options.package_version.empty()) {
    ann.push_back({std::string(kAnnVersion), options.package_version});
  }
  ann.push_back({std::string(kAnnLayout), HexEncode(LayoutDigest(archive, v, digests))});
  ann.push_back({std::string(kAnnCd), Sha256Hex(base_cd)});
  ann.push_back({std::string(kAnnCount), std::to_string(v.base_count)});
  ann.push_back(
      {std::string(kAnnSignedAt), options.signed_at.empty() ? NowUtc() : options.signed_at});
  for (size_t i = 0; i < v.base_count; ++i) {
    const ZipEntry& e = v.base()[i];
    st.resources.push_back(Resource{e.name, digests[i], e.uncompressed_size});
  }
  std::sort(st.resources.begin(), st.resources.end(),
            [](const Resource& a, const Resource& b) { return a.name < b.name; });
  st.ignore_paths = {v.signature_name};
  SEALPKG_ASSIGN_OR_RETURN(std::string bundle, BuildBundle(SerializeOmsStatement(st), keys));
  if (bundle.size() > options.limits.signing.max_json_bytes) {
    return LimitExceeded("signature.bundle-too-large",
                         "the signature bundle would exceed SigningLimits::max_json_bytes");
  }

  EmbeddedTail t;
  t.keep = v.base_end();
  t.tail.reserve(
      internal::SignatureTailSize(t.keep, v.signature_name, bundle.size(), base_cd.size()));
  internal::AppendSignatureTail(t.tail, t.keep, v.signature_name, AsBytes(bundle), base_cd,
                                v.base_count);
  return t;
}

}  // namespace

Result<std::vector<uint8_t>> SignEmbedded(std::span<const uint8_t> archive,
                                          std::span<const PrivateKey* const> keys,
                                          const SignOptions& options) {
  SEALPKG_ASSIGN_OR_RETURN(EmbeddedTail t, BuildEmbeddedTail(archive, keys, options));
  std::vector<uint8_t> out;
  out.reserve(t.keep + t.tail.size());
  out.insert(out.end(), archive.begin(), archive.begin() + static_cast<std::ptrdiff_t>(t.keep));
  out.insert(out.end(), t.tail.begin(), t.tail.end());
  return out;
}

Status SignEmbeddedFile(const std::string& path, std::span<const PrivateKey* const> keys,
                        const SignOptions& options) {
  SEALPKG_ASSIGN_OR_RETURN(FileBytes original, FileBytes::Snapshot(path, options.limits.archive));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return IoError("io.stat", "cannot stat '" + path + "': " + ErrnoText(errno));
  }
  // The kept prefix is written straight from the snapshot (no second in-memory copy of the
  // weights), then the tail: the file holds exactly the bytes that were hashed.
  SEALPKG_ASSIGN_OR_RETURN(EmbeddedTail t, BuildEmbeddedTail(original.span(), keys, options));
  const size_t sep = path.find_last_of('/');
  const std::string dir = sep == std::string::npos ? "" : path.substr(0, sep + 1);
  const std::string base = sep == std::string::npos ? path : path.substr(sep + 1);
  std::string temp = dir + "." + base.substr(0, 200) + ".sealpkg-sign-XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    return IoError("io.create",
                   "cannot create a temporary file next to '" + path + "': " + ErrnoText(errno));
  }
  const auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return IoError("io.write", std::string(what) + " '" + temp + "': " + ErrnoText(err));
  };
  const auto write_all = [&](std::span<const uint8_t> part) {
    size_t done = 0;
    while (done < part.size()) {
      const ssize_t n = ::write(fd, part.data() + done, part.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return true;
  };
  if (!write_all(original.span().first(t.keep)) || !write_all(t.tail)) {
    return fail("cannot write");
  }
  if (::fchmod(fd, st.st_mode & 07777) != 0 || ::fsync(fd) != 0) return fail("cannot finish");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return IoError("io.write", "cannot close '" + temp + "': " + ErrnoText(err));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return IoError("io.rename", "cannot replace '" + path + "': " + ErrnoText(err));
  }
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    // Best effort: the file itself was fsynced; this makes the new name durable too.
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return OkStatus();
}

Result<PackageVerification> VerifyEmbedded(std::span<const uint8_t> archive,
                                           const KeyResolver& resolver,
                                           const VerifyOptions& options) {
  // §6.7 step 2: the strict reader (its own reasons for malformed archives).
  SEALPKG_ASSIGN_OR_RETURN(PackageView v, Examine(archive, options.limits));
  if (!v.signed_) {
    return Invalid(kReasonMissing, "the archive has no embedded signature (last entry is not '" +
                                       Printable(v.signature_name) + "')");
  }
  // §6.7 step 3: the reserved entry, its bundle, and the canonical tail.
  const ZipEntry& sig = v.index.entries().back();
  if (!sig.stored() || sig.uncompressed_size > options.limits.signing.max_json_bytes) {
    return Invalid(kReasonEntryForm, "the signature entry must be STORED and at most " +
                                         std::to_string(options.limits.signing.max_json_bytes) +
                                         " bytes")
        .WithEntry(sig.name);
  }
  const auto bundle_bytes = archive.subspan(sig.data_offset, sig.compressed_size);
  {
    std::vector<uint8_t> expected;
    const auto base_cd = BaseCentralDirectory(archive, v);
    expected.reserve(internal::SignatureTailSize(sig.header_offset, sig.name, bundle_bytes.size(),
                                                 base_cd.size()));
    internal::AppendSignatureTail(expected, sig.header_offset, sig.name, bundle_bytes, base_cd,
                                  v.base_count);
    const auto actual = archive.subspan(sig.header_offset);
    if (actual.size() != expected.size() ||
        !std::equal(expected.begin(), expected.end(), actual.begin())) {
      return Invalid(kReasonTail,
                     "the signature entry's header, central-directory record or the end records "
                     "are not in sealpkg's canonical form")
          .WithEntry(sig.name);
    }
  }
  auto parsed = ParseBundle(bundle_bytes, options.limits.signing);
  if (!parsed.ok()) return Wrap(kReasonBundle, parsed.status()).WithEntry(sig.name);
  const Bundle& bundle = *parsed;
  // security: the bundle is outside the signed payload; its bytes must be the one canonical
  // serialization so that no byte of it can vary.
  const std::string canonical = SerializeBundle(bundle);
  if (canonical.size() != bundle_bytes.size() ||
      !std::equal(canonical.begin(), canonical.end(), bundle_bytes.begin())) {
    return Invalid(kReasonBundleNonCanonical, "the signature bundle is not in canonical form")
        .WithEntry(sig.name);
  }
  SEALPKG_ASSIGN_OR_RETURN(std::vector<std::string> key_ids,
                           CheckBundleSignatures(bundle, resolver, /*require_keyid=*/true));

  // §6.7 step 4: the statement, the entry set, the digests.
  const std::vector<uint8_t>& payload = bundle.envelope.payload;
  auto statement = ParseOmsStatement(payload, options.limits.signing);
  if (!statement.ok()) return Wrap(kReasonStatement, statement.status());
  const OmsStatement& st = *statement;
  if (st.subject.name != v.index.prefix()) {
    return Invalid(kReasonSubject, "the statement's subject is '" + Printable(st.subject.name) +
                                       "', the archive's folder is '" +
                                       Printable(v.index.prefix()) + "'");
  }
  for (const auto& a : st.subject.annotations) {
    const bool known = a.key == kAnnFormat || a.key == kAnnPackage || a.key == kAnnVersion ||
                       a.key == kAnnLayout || a.key == kAnnCd || a.key == kAnnCount ||
                       a.key == kAnnSignedAt;
    if (!known) {
      return Invalid(kReasonAnnotations, "unknown annotation '" + Printable(a.key) + "'");
    }
  }
  for (std::string_view required : {kAnnFormat, kAnnLayout, kAnnCd, kAnnCount, kAnnSignedAt}) {
    if (st.subject.FindAnnotation(required) == nullptr) {
      return Invalid(kReasonAnnotations, "annotation '" + std::string(required) + "' is missing");
    }
  }
  if (AnnotationValue(st.subject, kAnnFormat) != kSignatureFormat) {
    return Invalid(
        kReasonAnnotations,
        "unsupported sealpkg.format '" + Printable(AnnotationValue(st.subject, kAnnFormat)) + "'");
  }
  if (st.allow_symlinks || st.ignore_paths != std::vector<std::string>{v.signature_name}) {
    return Invalid(kReasonSerialization,
                   "serialization must ignore exactly the signature entry and allow no symlinks");
  }
  if (AnnotationValue(st.subject, kAnnCount) != std::to_string(v.base_count)) {
    return Invalid(kReasonEntryCount, "the statement was made for " +
                                          Printable(AnnotationValue(st.subject, kAnnCount)) +
                                          " entries; the archive has " +
                                          std::to_string(v.base_count));
  }
  // The resource set must EQUAL the entry set (both sorted by bytes; names are unique).
  std::vector<const ZipEntry*> sorted;
  sorted.reserve(v.base_count);
  for (const ZipEntry& e : v.base()) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(),
            [](const ZipEntry* a, const ZipEntry* b) { return a->name < b->name; });
  std::vector<size_t> resource_of(v.base_count);  // entry index (file order) -> resource index
  size_t ri = 0;
  for (const ZipEntry* e : sorted) {
    if (ri < st.resources.size() && st.resources[ri].name < e->name) {
      return Invalid(kReasonEntryMissing, "a signed entry is missing from the archive")
          .WithEntry(st.resources[ri].name);
    }
    if (ri >= st.resources.size() || st.resources[ri].name != e->name) {
      return Invalid(kReasonEntryUnsigned, "the archive has an entry the signature does not list")
          .WithEntry(e->name);
    }
    const Resource& r = st.resources[ri];
    if (!r.size || *r.size != e->uncompressed_size) {
      return Invalid(kReasonEntrySize, "entry size differs from the signed size")
          .WithEntry(e->name);
    }
    resource_of[static_cast<size_t>(e - v.base().data())] = ri;
    ++ri;
  }
  if (ri < st.resources.size()) {
    return Invalid(kReasonEntryMissing, "a signed entry is missing from the archive")
        .WithEntry(st.resources[ri].name);
  }
  SEALPKG_ASSIGN_OR_RETURN(std::vector<Sha256Digest> digests,
                           EntryDigests(archive, v, options.hashing));
  for (size_t i = 0; i < v.base_count; ++i) {
    if (!DigestEqual(digests[i], st.resources[resource_of[i]].digest)) {
      return Invalid(kReasonEntryDigest, "entry content does not match its signed SHA-256")
          .WithEntry(v.base()[i].name)
          .WithOffset(v.base()[i].data_offset);
    }
  }
  Sha256Digest want{};
  if (!ParseHexDigest(AnnotationValue(st.subject, kAnnLayout), want) ||
      !DigestEqual(want, LayoutDigest(archive, v, digests))) {
    return Invalid(kReasonLayout,
                   "local headers, padding or data descriptors differ from the signed layout");
  }
  if (!ParseHexDigest(AnnotationValue(st.subject, kAnnCd), want) ||
      !DigestEqual(want, Sha256(BaseCentralDirectory(archive, v)))) {
    return Invalid(kReasonCentralDirectory,
                   "central-directory records differ from the signed ones");
  }
  // The root digest was checked against the resources by ParseOmsStatement, and every resource
  // digest against the entries above.
  PackageVerification out;
  out.key_ids = std::move(key_ids);
  out.statement_sha256 = Sha256Hex(payload);
  out.subject_name = st.subject.name;
  out.package_name = AnnotationValue(st.subject, kAnnPackage);
  out.package_version = AnnotationValue(st.subject, kAnnVersion);
  out.signed_at = AnnotationValue(st.subject, kAnnSignedAt);
  out.entry_count = v.base_count;
  return out;
}

Result<std::string> SignDetached(std::span<const uint8_t> file, std::string_view file_name,
                                 std::span<const PrivateKey* const> keys,
                                 const SignOptions& options) {
  const std::span<const uint8_t> inputs[] = {file};
  SEALPKG_ASSIGN_OR_RETURN(std::vector<Sha256Digest> d, Sha256Many(inputs, options.hashing));
  OmsStatement st;
  st.subject.name = std::string(file_name);
  st.resources.push_back(Resource{".", d[0], file.size()});
  return BuildBundle(SerializeOmsStatement(st), keys);
}

Result<PackageVerification> VerifyDetached(std::span<const uint8_t> file,
                                           std::span<const uint8_t> bundle_json,
                                           std::string_view file_name, const KeyResolver& resolver,
                                           const VerifyOptions& options) {
  auto parsed = ParseBundle(bundle_json, options.limits.signing);
  if (!parsed.ok()) return Wrap(kReasonBundle, parsed.status());
  SEALPKG_ASSIGN_OR_RETURN(std::vector<std::string> key_ids,
                           CheckBundleSignatures(*parsed, resolver, /*require_keyid=*/false));
  const std::vector<uint8_t>& payload = parsed->envelope.payload;
  auto statement = ParseOmsStatement(payload, options.limits.signing);
  if (!statement.ok()) return Wrap(kReasonStatement, statement.status());
  const OmsStatement& st = *statement;
  if (st.resources.size() != 1 ||
      (st.resources[0].name != "." && st.resources[0].name != file_name)) {
    return Invalid(kReasonResource,
                   "a detached signature lists exactly one resource, named '.' "
                   "or the file's name");
  }
  if (st.allow_symlinks) {
    return Invalid(kReasonSerialization, "signatures that allow symlinks are refused");
  }
  const Resource& r = st.resources[0];
  if (r.size && *r.size != file.size()) {
    return Invalid(kReasonEntrySize, "file size differs from the signed size");
  }
  const std::span<const uint8_t> inputs[] = {file};
  SEALPKG_ASSIGN_OR_RETURN(std::vector<Sha256Digest> d, Sha256Many(inputs, options.hashing));
  if (!DigestEqual(d[0], r.digest)) {
    return Invalid(kReasonFileDigest, "file content does not match its signed SHA-256");
  }
  PackageVerification out;
  out.key_ids = std::move(key_ids);
  out.statement_sha256 = Sha256Hex(payload);
  out.subject_name = st.subject.name;
  out.entry_count = 1;
  return out;
}

}  // namespace sealpkg::signing
