// Bindings for signing: keys, package signatures (embedded/detached), the trust store, signed
// policies, and the "verify with trust" order of signing.md §6.7 (signature -> statement ->
// signed policy -> static verifier) over bytes read once. The CLI (cli/verify_command.cc,
// cli/trust_command.cc) runs the same steps; both stay thin over signing/ and verifier/.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/zip_reader.h"
#include "core/file_bytes.h"
#include "core/limits.h"
#include "core/printable.h"
#include "python/status_to_python.h"
#include "signing/json.h"
#include "signing/keys.h"
#include "signing/package_signature.h"
#include "signing/signed_policy.h"
#include "signing/trust_store.h"
#include "signing/verify_package.h"
#include "verifier/package_verifier.h"
#include "verifier/policy.h"

namespace py = pybind11;

namespace sealpkg::python {
namespace {

using signing::PrivateKey;
using signing::PublicKey;
using signing::TrustStore;

std::span<const uint8_t> Span(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

signing::KeyAlgorithm AlgorithmOf(const std::string& name) {
  if (name == "p256" || name == "ecdsa-p256-sha256") return signing::KeyAlgorithm::kEcdsaP256Sha256;
  if (name == "ed25519") return signing::KeyAlgorithm::kEd25519;
  ThrowStatus(Malformed("key.unknown-algorithm", "algorithm must be 'p256' or 'ed25519'"));
}

std::vector<const PrivateKey*> Pointers(const std::vector<const PrivateKey*>& keys) {
  if (keys.empty()) ThrowStatus(Malformed("usage", "at least one signing key is needed"));
  return keys;
}

signing::SignOptions SignOptionsOf(const std::string& name, const std::string& version,
                                   const std::string& signed_at, unsigned threads) {
  signing::SignOptions o;
  o.package_name = name;
  o.package_version = version;
  o.signed_at = signed_at;
  o.hashing.threads = threads;
  return o;
}

std::string Dir(const std::optional<std::string>& dir) {
  return dir ? *dir : TrustStore::DefaultDirectory();
}

TrustStore OpenStore(const std::optional<std::string>& dir, std::optional<int64_t> now) {
  signing::TrustOptions o;
  if (now) o.now = [t = *now] { return t; };
  return ValueOrThrow(TrustStore::Open(Dir(dir), o));
}

py::dict StatusDict(const Status& s) {
  py::dict d;
  d["kind"] = std::string(ErrorCodeName(s.code()));
  d["reason"] = std::string(s.reason());
  d["entry"] = std::string(s.entry());
  d["offset"] = s.offset() ? py::object(py::int_(*s.offset())) : py::none();
  d["message"] = std::string(s.message());
  return d;
}

std::string CheckOf(const Status& s) {
  const std::string_view r = s.reason();
  if (r.starts_with("zip.")) return "archive";
  if (r == "trust.package-version" || r == "trust.package-rollback") return "statement";
  if (r.starts_with("signature.") && r != "signature.missing" && r != "signature.bad-signature" &&
      r != "signature.unknown-key" && r != "signature.algorithm-mismatch" &&
      r != "signature.keyid-mismatch" && r != "signature.hint-mismatch" &&
      r != "signature.bundle-malformed" && r != "signature.bundle-noncanonical" &&
      r != "signature.noncanonical-tail" && r != "signature.payload-type" &&
      r != "signature.entry-not-last" && r != "signature.entry-form" && r != "signature.none") {
    return "statement";
  }
  return "signature";
}

struct CheckedPolicy {
  verifier::Policy policy;
  std::string origin;
  std::vector<std::string> key_ids;
};

// Same rules as the CLI's LoadCheckedPolicy (cli/trust_command.cc): built-ins are trusted;
// a file needs FILE.sig from a threshold of policy-signer keys unless `unsafe_unsigned`.
CheckedPolicy LoadCheckedPolicy(const std::string& spec, const std::optional<std::string>& trust,
                                bool unsafe_unsigned, std::optional<int64_t> now) {
  if (spec.starts_with("builtin:")) {
    return {ValueOrThrow(verifier::LoadBuiltinPolicy(spec)), "builtin", {}};
  }
  const PolicyLimits limits;
  const std::vector<uint8_t> bytes =
      ValueOrThrow(signing::ReadSmallFile(spec, limits.max_policy_bytes));
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (unsafe_unsigned) {
    return {ValueOrThrow(verifier::ParsePolicy(text, limits)), "unsigned (unsafe)", {}};
  }
  const std::string sig_path = signing::DetachedSignaturePath(spec);
  auto sig = signing::ReadSmallFile(sig_path, SigningLimits{}.max_json_bytes);
  if (!sig.ok()) {
    if (sig.status().reason() != "io.missing") ThrowStatus(sig.status());
    ThrowStatus(SignatureInvalid(
        std::string(signing::kPolicyUnsigned),
        "policy file '" + Printable(spec) + "' has no signature '" + Printable(sig_path) +
            "' (sign it with sealpkg.signing.sign_policy or `sealpkg policy sign`; "
            "unsafe_unsigned_policy=True loads it unsigned for local experiments)"));
  }
  TrustStore store = OpenStore(trust, now);
  signing::VerifiedPolicy v = ValueOrThrow(signing::VerifySignedPolicy(bytes, *sig, store));
  verifier::Policy p = ValueOrThrow(verifier::ParsePolicy(text, limits));
  if (p.name != v.claims.name || p.version != v.claims.version) {
    ThrowStatus(SignatureInvalid(std::string(signing::kPolicyMismatch),
                                 "the policy file names '" + Printable(p.name) + "' version " +
                                     std::to_string(p.version) + " but its signature covers '" +
                                     Printable(v.claims.name) + "' version " +
                                     std::to_string(v.claims.version)));
  }
  OkOrThrow(store.RecordPolicyVersion(v.claims.name, v.claims.version));
  return {std::move(p), "signed", std::move(v.key_ids)};
}

// verify(source, trust=..., policy=...): see python/sealpkg/verify.py.
py::dict VerifyWithTrust(const py::object& source, const std::string& name,
                         const std::optional<std::string>& policy_spec,
                         const std::optional<std::string>& trust, bool unsafe_unsigned_policy,
                         const std::optional<py::bytes>& detached, bool require_signature,
                         std::optional<int64_t> now, unsigned threads) {
  py::dict out;
  std::optional<CheckedPolicy> policy;
  if (policy_spec) {
    policy = LoadCheckedPolicy(*policy_spec, trust, unsafe_unsigned_policy, now);
    py::dict pd;
    pd["spec"] = *policy_spec;
    pd["origin"] = policy->origin;
    pd["name"] = policy->policy.name;
    pd["version"] = policy->policy.version;
    pd["signer_key_ids"] = policy->key_ids;
    out["policy"] = pd;
  } else {
    out["policy"] = py::none();
  }
  const bool need_signature = require_signature || trust.has_value() ||
                              (policy && policy->policy.package.require_signature);
  out["signature"] = py::none();
  out["failed_check"] = py::none();
  out["error"] = py::none();
  out["report"] = py::none();

  const Limits limits;
  std::optional<FileBytes> bytes;
  std::string path = name;
  std::optional<std::vector<uint8_t>> sig;
  py::bytes keep;
  std::shared_ptr<archive::Archive> archive;
  if (py::isinstance<py::str>(source)) {
    path = source.cast<std::string>();
    bytes.emplace(ValueOrThrow(FileBytes::Snapshot(path, limits.archive)));
    if (!detached) {
      auto s = signing::ReadSmallFile(signing::DetachedSignaturePath(path),
                                      limits.signing.max_json_bytes);
      if (s.ok()) {
        sig = std::move(*s);
      } else if (s.status().reason() != "io.missing") {
        ThrowStatus(s.status());
      }
    }
  } else if (py::isinstance<archive::Archive>(source)) {
    // An opened archive (e.g. a PackageImporter's sealed snapshot): verify the very bytes that
    // will be loaded; `archive` keeps them alive for the whole call.
    archive = source.cast<std::shared_ptr<archive::Archive>>();
    bytes.emplace(FileBytes::Borrow(archive->bytes()));
  } else {
    // Python bytes are immutable and `keep` holds them for the whole call: verify in place.
    keep = source.cast<py::bytes>();
    const std::string_view view = keep;
    bytes.emplace(FileBytes::Borrow(Span(view)));
  }
  if (detached) {
    const std::string_view view = detached->cast<std::string_view>();
    sig.emplace(view.begin(), view.end());
  }
  if (need_signature) {
    TrustStore store = OpenStore(trust, now);
    signing::PackageTrustOptions topts;
    topts.verify.hashing.threads = threads;
    if (policy) {
      topts.role = policy->policy.package.signer_role;
      topts.min_threshold = policy->policy.package.signer_threshold;
    }
    const size_t sep = path.find_last_of('/');
    const std::string base = sep == std::string::npos ? path : path.substr(sep + 1);
    py::dict sd;
    sd["mode"] = sig ? "detached" : "embedded";
    sd["role"] = topts.role;
    Result<signing::TrustedPackage> trusted = [&] {
      py::gil_scoped_release nogil;
      return signing::VerifyPackageWithTrust(bytes->span(), sig ? &*sig : nullptr, base, store,
                                             topts);
    }();
    if (!trusted.ok()) {
      out["signature"] = sd;
      out["failed_check"] = CheckOf(trusted.status());
      out["error"] = StatusDict(trusted.status());
      out["accepted"] = false;
      return out;
    }
    const signing::PackageVerification& v = trusted->verification;
    sd["key_ids"] = v.key_ids;
    sd["threshold"] = trusted->threshold;
    sd["statement_sha256"] = v.statement_sha256;
    sd["package_name"] = v.package_name;
    sd["package_version"] = v.package_version;
    sd["signed_at"] = v.signed_at;
    sd["entry_count"] = v.entry_count;
    out["signature"] = sd;
  }
  if (!policy) {
    out["accepted"] = true;
    return out;
  }
  verifier::VerifyReport report = [&] {
    py::gil_scoped_release nogil;
    return verifier::VerifyBytes(bytes->span(), path, policy->policy, limits);
  }();
  out["accepted"] = report.accepted;
  if (!report.accepted) out["failed_check"] = "static";
  out["report"] = py::cast(std::move(report));
  return out;
}

// The trust root predicate as Python data (via its canonical JSON) and back.
py::object JsonModule() {
  return py::module_::import("json");
}

}  // namespace

void BindSigning(py::module_& m) {
  py::class_<PublicKey>(m, "PublicKey", "A P-256 or Ed25519 public key.")
      .def_static(
          "from_pem", [](const std::string& pem) { return ValueOrThrow(PublicKey::FromPem(pem)); },
          py::arg("pem"))
      .def_static(
          "from_file",
          [](const std::string& path) { return ValueOrThrow(signing::ReadPublicKeyFile(path)); },
          py::arg("path"))
      .def_property_readonly("key_id", &PublicKey::key_id)
      .def_property_readonly("algorithm",
                             [](const PublicKey& k) { return KeyAlgorithmName(k.algorithm()); })
      .def_property_readonly("pem", &PublicKey::pem)
      .def_property_readonly("oms_hint", &PublicKey::oms_hint)
      .def("__repr__", [](const PublicKey& k) {
        return "<PublicKey " + std::string(KeyAlgorithmName(k.algorithm())) + " " + k.key_id() +
               ">";
      });

  py::class_<PrivateKey>(m, "SigningKey", "A private signing key (never printed).")
      .def_static(
          "generate",
          [](const std::string& algorithm) {
            return ValueOrThrow(PrivateKey::Generate(AlgorithmOf(algorithm)));
          },
          py::arg("algorithm") = "p256")
      .def_static(
          "from_pem", [](const std::string& pem) { return ValueOrThrow(PrivateKey::FromPem(pem)); },
          py::arg("pem"))
      .def_static(
          "from_file",
          [](const std::string& path) { return ValueOrThrow(signing::ReadPrivateKeyFile(path)); },
          py::arg("path"))
      .def_property_readonly("public_key", &PrivateKey::public_key)
      .def_property_readonly("key_id", [](const PrivateKey& k) { return k.public_key().key_id(); })
      .def_property_readonly("algorithm",
                             [](const PrivateKey& k) { return KeyAlgorithmName(k.algorithm()); })
      .def("private_pem", [](const PrivateKey& k) { return ValueOrThrow(k.ToPem()); })
      .def(
          "write",
          [](const PrivateKey& k, const std::string& private_path, const std::string& public_path) {
            OkOrThrow(signing::WritePrivateKeyFile(private_path, k));
            OkOrThrow(signing::WritePublicKeyFile(public_path, k.public_key()));
          },
          py::arg("private_path"), py::arg("public_path"),
          "Write PEM files (private 0600); existing files are never overwritten.")
      .def("__repr__", [](const PrivateKey& k) {
        return "<SigningKey " + std::string(KeyAlgorithmName(k.algorithm())) + " " +
               k.public_key().key_id() + ">";
      });

  m.def(
      "sign_archive_bytes",
      [](const py::bytes& data, const std::vector<const PrivateKey*>& keys,
         const std::string& package_name, const std::string& package_version,
         const std::string& signed_at, unsigned threads) {
        const std::string_view view = data;
        const auto ptrs = Pointers(keys);
        Result<std::vector<uint8_t>> signed_bytes = [&] {
          py::gil_scoped_release nogil;
          return signing::SignEmbedded(
              Span(view), ptrs, SignOptionsOf(package_name, package_version, signed_at, threads));
        }();
        const std::vector<uint8_t> out = ValueOrThrow(std::move(signed_bytes));
        return py::bytes(reinterpret_cast<const char*>(out.data()), out.size());
      },
      py::arg("data"), py::arg("keys"), py::arg("package_name") = "",
      py::arg("package_version") = "", py::arg("signed_at") = "", py::arg("threads") = 0);
  m.def(
      "sign_file",
      [](const std::string& path, const std::vector<const PrivateKey*>& keys, bool detached,
         const std::string& package_name, const std::string& package_version,
         const std::string& signed_at, unsigned threads) {
        const auto ptrs = Pointers(keys);
        const auto opts = SignOptionsOf(package_name, package_version, signed_at, threads);
        if (!detached) {
          Status st;
          {
            py::gil_scoped_release nogil;
            st = signing::SignEmbeddedFile(path, ptrs, opts);
          }
          OkOrThrow(st);
          return path;
        }
        FileBytes bytes = ValueOrThrow(FileBytes::Snapshot(path, opts.limits.archive));
        const size_t sep = path.find_last_of('/');
        const std::string json = ValueOrThrow(signing::SignDetached(
            bytes.span(), sep == std::string::npos ? path : path.substr(sep + 1), ptrs, opts));
        const std::string sig_path = signing::DetachedSignaturePath(path);
        OkOrThrow(signing::WriteSignatureFile(sig_path, json));
        return sig_path;
      },
      py::arg("path"), py::arg("keys"), py::arg("detached") = false, py::arg("package_name") = "",
      py::arg("package_version") = "", py::arg("signed_at") = "", py::arg("threads") = 0);
  m.def("verify_with_trust", &VerifyWithTrust, py::arg("source"), py::arg("name"),
        py::arg("policy"), py::arg("trust"), py::arg("unsafe_unsigned_policy"), py::arg("detached"),
        py::arg("require_signature"), py::arg("now") = py::none(), py::arg("threads") = 0);

  // --- trust store -------------------------------------------------------------------------
  m.def("trust_default_dir", &TrustStore::DefaultDirectory);
  m.def(
      "trust_init",
      [](const std::string& dir, const std::vector<const PrivateKey*>& root_keys,
         uint32_t threshold, const std::optional<std::string>& expires,
         std::optional<int64_t> now) {
        const auto ptrs = Pointers(root_keys);
        signing::TrustRoot root;
        root.version = 1;
        root.expires = expires ? ValueOrThrow(signing::ParseTrustTime(*expires))
                               : (now ? *now : signing::SystemTrustNow()) + 365 * 86400;
        signing::TrustRole role;
        for (const PrivateKey* k : ptrs) {
          if (root.FindKey(k->public_key().key_id()) != nullptr) continue;
          root.PutKey({k->public_key().key_id(), k->public_key(), k->algorithm(), std::nullopt,
                       std::nullopt});
          role.key_ids.push_back(k->public_key().key_id());
        }
        role.threshold = threshold;
        root.roles[std::string(signing::kRoleRoot)] = role;
        root.roles[std::string(signing::kRolePackageSigner)] = {};
        root.roles[std::string(signing::kRolePolicySigner)] = {};
        const std::string json = ValueOrThrow(signing::SignTrustRoot(root, ptrs));
        signing::TrustOptions o;
        if (now) o.now = [t = *now] { return t; };
        ValueOrThrow(TrustStore::Initialize(dir, Span(json), o));
      },
      py::arg("dir"), py::arg("root_keys"), py::arg("threshold") = 1,
      py::arg("expires") = py::none(), py::arg("now") = py::none());
  m.def(
      "trust_import",
      [](const std::string& dir, const py::bytes& json, std::optional<int64_t> now) {
        signing::TrustOptions o;
        if (now) o.now = [t = *now] { return t; };
        const std::string_view view = json;
        ValueOrThrow(TrustStore::Initialize(dir, Span(view), o));
      },
      py::arg("dir"), py::arg("trust_json"), py::arg("now") = py::none());
  m.def(
      "trust_root",
      [](const std::optional<std::string>& dir, std::optional<int64_t> now) {
        TrustStore store = OpenStore(dir, now);
        py::dict d;
        d["directory"] = store.directory();
        d["root"] = JsonModule().attr("loads")(
            signing::SerializeJson(signing::TrustRootToJson(store.root())));
        py::dict marks;
        marks["policies"] = store.state().policies;
        marks["packages"] = store.state().packages;
        d["marks"] = marks;
        return d;
      },
      py::arg("dir"), py::arg("now") = py::none());
  m.def(
      "trust_commit",
      [](const std::optional<std::string>& dir, const std::string& predicate_json,
         const std::vector<const PrivateKey*>& keys, std::optional<int64_t> now) {
        TrustStore store = OpenStore(dir, now);
        const signing::JsonValue v =
            ValueOrThrow(signing::ParseJson(predicate_json, SigningLimits{}));
        signing::TrustRoot next = ValueOrThrow(signing::TrustRootFromJson(v, TrustLimits{}));
        next.version = store.root().version + 1;
        const std::string json = ValueOrThrow(signing::SignTrustRoot(next, Pointers(keys)));
        OkOrThrow(store.Update(Span(json)));
        return store.root().version;
      },
      py::arg("dir"), py::arg("predicate_json"), py::arg("keys"), py::arg("now") = py::none(),
      "Sign `predicate_json` as trust root N+1 with `keys` and apply it (N+1 rules apply).");
  m.def(
      "trust_update",
      [](const std::optional<std::string>& dir, const py::bytes& json, std::optional<int64_t> now) {
        TrustStore store = OpenStore(dir, now);
        const std::string_view view = json;
        OkOrThrow(store.Update(Span(view)));
        return store.root().version;
      },
      py::arg("dir"), py::arg("trust_json"), py::arg("now") = py::none());

  // --- policies ------------------------------------------------------------------------------
  m.def(
      "sign_policy",
      [](const std::string& path, const std::vector<const PrivateKey*>& keys,
         const std::optional<std::string>& expires, int64_t trust_version) {
        const PolicyLimits limits;
        const std::vector<uint8_t> bytes =
            ValueOrThrow(signing::ReadSmallFile(path, limits.max_policy_bytes));
        const verifier::Policy p = ValueOrThrow(verifier::ParsePolicy(
            std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), limits));
        signing::PolicyClaims c;
        c.name = p.name;
        c.version = p.version;
        c.expires = expires ? ValueOrThrow(signing::ParseTrustTime(*expires))
                            : signing::SystemTrustNow() + 180 * 86400;
        c.trust_version = trust_version;
        const std::string json = ValueOrThrow(signing::SignPolicy(bytes, c, Pointers(keys)));
        const std::string sig_path = signing::DetachedSignaturePath(path);
        OkOrThrow(signing::WriteSignatureFile(sig_path, json));
        return sig_path;
      },
      py::arg("path"), py::arg("keys"), py::arg("expires") = py::none(),
      py::arg("trust_version") = 0);
}

}  // namespace sealpkg::python
