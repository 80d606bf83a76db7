#include "signing/dsse.h"

#include "signing/base64.h"

namespace sealpkg::signing {
std::vector<uint8_t> PreAuthEncoding(std::string_view payload_type,
                                     std::span<const uint8_t> payload) {
  const std::string head = "DSSEv1 " + std::to_string(payload_type.size()) + " " +
                           std::string(payload_type) + " " + std::to_string(payload.size()) + " ";
  std::vector<uint8_t> out;
  out.reserve(head.size() + payload.size());
  out.insert(out.end(), head.begin(), head.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

JsonValue DsseEnvelopeToJson(const DsseEnvelope& envelope) {
  JsonValue o = JsonValue::Object();
  o.Set("payload", JsonValue::String(Base64Encode(envelope.payload)));
  o.Set("payloadType", JsonValue::String(envelope.payload_type));
  JsonValue& sigs = o.Set("signatures", JsonValue::Array());
  for (const DsseSignature& s : envelope.signatures) {
    JsonValue& entry = sigs.Append(JsonValue::Object());
    entry.Set("keyid", JsonValue::String(s.keyid));
    entry.Set("sig", JsonValue::String(Base64Encode(s.sig)));
  }
  return o;
}

std::string SerializeDsseEnvelope(const DsseEnvelope& envelope) {
  return SerializeJson(DsseEnvelopeToJson(envelope));
}

namespace {

// A base64 member decoded strictly; errors name the JSON path.
Result<std::vector<uint8_t>> DecodeMember(JsonFields& f, std::string_view key) {
  SEALPKG_ASSIGN_OR_RETURN(std::string_view text, f.String(key));
  auto raw = Base64Decode(text);
  if (!raw.ok()) {
    return Malformed(std::string(raw.status().reason()),
                     f.PathOf(key) + ": " + std::string(raw.status().message()));
  }
  return std::move(raw).value();
}

}  // namespace

Result<DsseEnvelope> DsseEnvelopeFromJson(const JsonValue& value, const std::string& path,
                                          const SigningLimits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(value, path));
  DsseEnvelope out;
  SEALPKG_ASSIGN_OR_RETURN(out.payload, DecodeMember(f, "payload"));
  SEALPKG_ASSIGN_OR_RETURN(std::string_view type, f.String("payloadType"));
  out.payload_type = std::string(type);
  SEALPKG_ASSIGN_OR_RETURN(std::span<const JsonValue> sigs, f.Array("signatures"));
  SEALPKG_RETURN_IF_ERROR(f.NoOtherKeys());
  const std::string sigs_path = f.PathOf("signatures");
  if (sigs.empty()) return Malformed("dsse.no-signatures", sigs_path + ": no signatures");
  if (sigs.size() > limits.max_signatures) {
    return LimitExceeded(
        "dsse.signatures-limit",
        sigs_path + ": more than " + std::to_string(limits.max_signatures) + " signatures");
  }
  for (size_t i = 0; i < sigs.size(); ++i) {
    SEALPKG_ASSIGN_OR_RETURN(JsonFields s,
                             JsonFields::Of(sigs[i], JsonFields::Index(sigs_path, i)));
    DsseSignature sig;
    SEALPKG_ASSIGN_OR_RETURN(sig.sig, DecodeMember(s, "sig"));
    if (sig.sig.empty()) return Malformed("dsse.empty-signature", s.PathOf("sig") + ": empty");
    if (s.Has("keyid")) {
      SEALPKG_ASSIGN_OR_RETURN(const JsonValue* keyid, s.Value("keyid"));
      if (keyid->is_string()) {
        sig.keyid = keyid->string_value();
      } else if (!keyid->is_null()) {
        return JsonSchemaError(s.PathOf("keyid"), "expected a string or null");
      }
    }
    SEALPKG_RETURN_IF_ERROR(s.NoOtherKeys());
    out.signatures.push_back(std::move(sig));
  }
  return out;
}

Result<DsseEnvelope> ParseDsseEnvelope(std::span<const uint8_t> json, const SigningLimits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(JsonValue doc, ParseJson(json, limits));
  return DsseEnvelopeFromJson(doc, "$", limits);
}

Result<DsseSignature> SignDsse(const PrivateKey& key, std::string_view payload_type,
                               std::span<const uint8_t> payload) {
  SEALPKG_ASSIGN_OR_RETURN(std::vector<uint8_t> sig,
                           key.Sign(PreAuthEncoding(payload_type, payload)));
  return DsseSignature{key.public_key().key_id(), std::move(sig)};
}

std::optional<TrustedKey> KeyResolver::FindByOmsHint(std::string_view) const {
  return std::nullopt;
}

std::optional<TrustedKey> StaticKeyResolver::FindByKeyId(std::string_view key_id) const {
  for (const TrustedKey& k : keys_) {
    if (k.key.key_id() == key_id) return k;
  }
  return std::nullopt;
}

std::optional<TrustedKey> StaticKeyResolver::FindByOmsHint(std::string_view hint) const {
  for (const TrustedKey& k : keys_) {
    if (k.key.oms_hint() == hint) return k;
  }
  return std::nullopt;
}

Status CheckPayloadType(const DsseEnvelope& envelope, std::string_view expected) {
  // security: payloadType is signed (part of the PAE): it separates kinds of signed documents.
  if (envelope.payload_type != expected) {
    return SignatureInvalid(
        "signature.payload-type",
        "payloadType is '" + envelope.payload_type + "', expected '" + std::string(expected) + "'");
  }
  return OkStatus();
}

DsseVerification CheckDsseSignatures(const DsseEnvelope& envelope, const KeyResolver& resolver,
                                     std::string_view oms_hint) {
  DsseVerification out;
  const std::vector<uint8_t> pae = PreAuthEncoding(envelope.payload_type, envelope.payload);
  for (const DsseSignature& s : envelope.signatures) {
    SignatureCheck check;
    check.claimed_keyid = s.keyid;
    std::optional<TrustedKey> key;
    if (!s.keyid.empty()) {
      key = resolver.FindByKeyId(s.keyid);
      // A resolver must return the key it was asked for; anything else is treated as unknown.
      if (key && key->key.key_id() != s.keyid) key.reset();
    } else if (!oms_hint.empty()) {
      key = resolver.FindByOmsHint(oms_hint);
      if (key && key->key.oms_hint() != oms_hint) key.reset();
    }
    if (!key) {
      check.status = SignatureInvalid(
          "signature.unknown-key",
          s.keyid.empty() ? "signature names no key id and no trusted key matches the hint"
                          : "signature by key " + s.keyid + ", which is not trusted");
    } else {
      check.status = key->key.Verify(key->algorithm, pae, s.sig);
      if (check.status.ok()) {
        check.key_id = key->key.key_id();
        bool seen = false;
        for (const std::string& id : out.verified_key_ids) seen = seen || id == check.key_id;
        if (!seen) out.verified_key_ids.push_back(check.key_id);
      }
    }
    out.checks.push_back(std::move(check));
  }
  return out;
}

Status RequireAllVerified(const DsseVerification& verification) {
  if (verification.checks.empty()) {
    return SignatureInvalid("signature.none", "the envelope carries no signatures");
  }
  for (const SignatureCheck& c : verification.checks) {
    if (!c.status.ok()) return c.status;
  }
  return OkStatus();
}

}  // namespace sealpkg::signing
