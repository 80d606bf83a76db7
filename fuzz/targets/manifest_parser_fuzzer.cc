// manifest_parser: arbitrary bytes -> the strict JSON parser, the DSSE envelope, Sigstore bundle,
// in-toto and OMS statement parsers (signing/), the trust documents (trust.json as an initial
// pin, its root predicate, state.json), and embedded-signature verification of a fixed package
// whose signature entry is replaced (in canonical form) by the input.
//
// Invariants (each violation calls abort()):
//   - no parser and no verification ever returns kInternal;
//   - parsing is deterministic: a second parse gives the same verdict and the same value;
//   - canonical forms are fixed points: for accepted JSON, SerializeJson(value) parses back to a
//     value with the same serialization; the same for bundles (SerializeBundle), envelopes and
//     OMS statements; an accepted state.json re-serializes to a fixed point;
//   - verification of the fixed package with the input as its bundle succeeds only if the input
//     is byte-identical to the package's real bundle.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "archive/zip_reader.h"
#include "archive/zip_writer.h"
#include "core/printable.h"
#include "core/status.h"
#include "signing/bundle.h"
#include "signing/dsse.h"
#include "signing/internal/zip_tail.h"
#include "signing/json.h"
#include "signing/package_signature.h"
#include "signing/statement.h"
#include "signing/trust_store.h"

namespace {

using sealpkg::ErrorCode;
using namespace sealpkg::signing;  // NOLINT: fuzz target

[[noreturn]] void Fail(const char* what, std::string_view input, std::string_view detail) {
  std::fprintf(
      stderr, "manifest_parser_fuzzer: invariant violated: %s\n  input: '%s'\n  detail: '%s'\n",
      what, sealpkg::Printable(input.substr(0, 2000)).c_str(), sealpkg::Printable(detail).c_str());
  std::abort();
}

void NoInternal(const sealpkg::Status& st, std::string_view input, const char* where) {
  if (st.code() == ErrorCode::kInternal) Fail(where, input, st.ToString());
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Fixture {
  std::optional<PrivateKey> key;
  std::vector<uint8_t> unsigned_archive;
  std::string bundle;  // the real bundle of the signed archive
  std::unique_ptr<StaticKeyResolver> trust;
};

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture;
    auto key = PrivateKey::Generate(KeyAlgorithm::kEd25519);
    if (!key.ok()) Fail("keygen", "", key.status().ToString());
    f->key = *key;
    sealpkg::archive::WriterOptions options;
    options.archive_name = "pkg";
    auto w = sealpkg::archive::ZipWriter::CreateInMemory(options);
    if (!w.ok() || !w->AddRecord(".data/version", AsBytes("6\n")).ok() ||
        !w->AddRecord("m/__init__.py", AsBytes("x = 1\n")).ok() || !w->Finish().ok()) {
      Fail("fixture archive", "", "");
    }
    f->unsigned_archive = w->TakeBuffer();
    const PrivateKey* keys[] = {&*f->key};
    SignOptions so;
    so.signed_at = "2026-01-01T00:00:00Z";
    auto signed_archive = SignEmbedded(f->unsigned_archive, keys, so);
    if (!signed_archive.ok()) Fail("fixture signing", "", signed_archive.status().ToString());
    auto index = sealpkg::archive::ParseZip(*signed_archive, sealpkg::ArchiveLimits{});
    if (!index.ok()) Fail("fixture parse", "", index.status().ToString());
    const auto& e = index->entries().back();
    f->bundle.assign(
        signed_archive->begin() + static_cast<std::ptrdiff_t>(e.data_offset),
        signed_archive->begin() + static_cast<std::ptrdiff_t>(e.data_offset + e.compressed_size));
    f->trust = std::make_unique<StaticKeyResolver>(
        std::vector<TrustedKey>{{f->key->public_key(), f->key->algorithm()}});
    return f;
  }();
  return *fixture;
}

template <typename T, typename ParseFn, typename SerializeFn>
void CheckParser(std::string_view input, const char* name, ParseFn parse, SerializeFn serialize) {
  auto first = parse(AsBytes(input));
  auto second = parse(AsBytes(input));
  NoInternal(first.status(), input, name);
  if (first.ok() != second.ok() || first.status().reason() != second.status().reason()) {
    Fail("non-deterministic verdict", input, name);
  }
  if (!first.ok()) return;
  const std::string canonical = serialize(*first);
  if (canonical != serialize(*second)) Fail("non-deterministic value", input, name);
  auto again = parse(AsBytes(canonical));
  if (!again.ok()) Fail("canonical form does not parse", input, again.status().ToString());
  if (serialize(*again) != canonical) Fail("canonical form is not a fixed point", input, name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const sealpkg::SigningLimits limits;

  CheckParser<JsonValue>(
      input, "ParseJson", [&](std::span<const uint8_t> b) { return ParseJson(b, limits); },
      [](const JsonValue& v) { return SerializeJson(v); });
  CheckParser<DsseEnvelope>(
      input, "ParseDsseEnvelope",
      [&](std::span<const uint8_t> b) { return ParseDsseEnvelope(b, limits); },
      [](const DsseEnvelope& e) { return SerializeDsseEnvelope(e); });
  CheckParser<Bundle>(
      input, "ParseBundle", [&](std::span<const uint8_t> b) { return ParseBundle(b, limits); },
      [](const Bundle& b) { return SerializeBundle(b); });
  CheckParser<OmsStatement>(
      input, "ParseOmsStatement",
      [&](std::span<const uint8_t> b) { return ParseOmsStatement(b, limits); },
      [](const OmsStatement& s) { return SerializeOmsStatement(s); });
  CheckParser<InTotoStatement>(
      input, "ParseInTotoStatement",
      [&](std::span<const uint8_t> b) { return ParseInTotoStatement(b, limits); },
      [](const InTotoStatement& s) { return SerializeJson(InTotoStatementToJson(s)); });

  // Trust documents: state.json (canonical round trip), a trust root predicate, and trust.json as
  // an initial pin at a fixed time (never kInternal; acceptance needs a valid self-signature).
  const sealpkg::TrustLimits trust_limits;
  if (auto state = sealpkg::signing::ParseTrustState(AsBytes(input), trust_limits); state.ok()) {
    const std::string canonical = sealpkg::signing::SerializeTrustState(*state);
    auto again = sealpkg::signing::ParseTrustState(AsBytes(canonical), trust_limits);
    if (!again.ok() || sealpkg::signing::SerializeTrustState(*again) != canonical) {
      Fail("trust state does not round-trip", input, canonical);
    }
  } else {
    NoInternal(state.status(), input, "ParseTrustState");
  }
  if (auto json = ParseJson(AsBytes(input), limits); json.ok()) {
    NoInternal(sealpkg::signing::TrustRootFromJson(*json, trust_limits).status(), input,
               "TrustRootFromJson");
  }
  NoInternal(sealpkg::signing::VerifyTrustDocument(AsBytes(input), nullptr, 1'800'000'000).status(),
             input, "VerifyTrustDocument");

  // The input as the bundle of a fixed package, in canonical tail form.
  const Fixture& fx = GetFixture();
  auto index = sealpkg::archive::ParseZip(fx.unsigned_archive, sealpkg::ArchiveLimits{});
  if (!index.ok()) Fail("fixture reparse", "", index.status().ToString());
  const uint64_t cd = index->central_directory_offset();
  if (size > (1u << 20)) return 0;
  std::vector<uint8_t> archive(fx.unsigned_archive.begin(),
                               fx.unsigned_archive.begin() + static_cast<std::ptrdiff_t>(cd));
  internal::AppendSignatureTail(
      archive, cd, "pkg/" + std::string(kSignatureRecord), AsBytes(input),
      std::span<const uint8_t>(fx.unsigned_archive).subspan(cd, index->central_directory_size()),
      index->entries().size());
  auto verdict = VerifyEmbedded(archive, *fx.trust);
  NoInternal(verdict.status(), input, "VerifyEmbedded");
  if (verdict.ok() != (input == fx.bundle)) {
    Fail("verification verdict differs from byte identity with the real bundle", input,
         verdict.status().ToString());
  }
  return 0;
}
