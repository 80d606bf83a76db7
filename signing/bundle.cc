#include "signing/bundle.h"

namespace sealpkg::signing {

JsonValue BundleToJson(const Bundle& bundle) {
  JsonValue o = JsonValue::Object();
  o.Set("mediaType", JsonValue::String(std::string(kBundleMediaType)));
  JsonValue& vm = o.Set("verificationMaterial", JsonValue::Object());
  vm.Set("publicKey", JsonValue::Object()).Set("hint", JsonValue::String(bundle.key_hint));
  vm.Set("tlogEntries", JsonValue::Array());
  o.Set("dsseEnvelope", DsseEnvelopeToJson(bundle.envelope));
  return o;
}

std::string SerializeBundle(const Bundle& bundle) {
  return SerializeJson(BundleToJson(bundle));
}

Result<Bundle> ParseBundle(std::span<const uint8_t> json, const SigningLimits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(JsonValue doc, ParseJson(json, limits));
  SEALPKG_ASSIGN_OR_RETURN(JsonFields top, JsonFields::Of(doc, "$"));
  SEALPKG_ASSIGN_OR_RETURN(std::string_view media, top.String("mediaType"));
  if (media != kBundleMediaType) {
    return Malformed("bundle.media-type",
                     "$.mediaType: expected '" + std::string(kBundleMediaType) + "'");
  }
  Bundle out;
  SEALPKG_ASSIGN_OR_RETURN(JsonFields vm, top.Object("verificationMaterial"));
  if (!vm.Has("publicKey")) {
    return Malformed("bundle.unsupported-material",
                     vm.path() + ": only key-mode bundles (publicKey) are supported");
  }
  SEALPKG_ASSIGN_OR_RETURN(JsonFields pk, vm.Object("publicKey"));
  SEALPKG_ASSIGN_OR_RETURN(std::optional<std::string_view> hint, pk.OptionalString("hint"));
  out.key_hint = std::string(hint.value_or(""));
  SEALPKG_RETURN_IF_ERROR(pk.NoOtherKeys());
  if (vm.Has("tlogEntries")) {
    SEALPKG_ASSIGN_OR_RETURN(std::span<const JsonValue> tlog, vm.Array("tlogEntries"));
    if (!tlog.empty()) {
      return Malformed("bundle.unsupported-material",
                       vm.PathOf("tlogEntries") + ": transparency-log entries are not supported");
    }
  }
  if (vm.Has("timestampVerificationData")) {
    SEALPKG_ASSIGN_OR_RETURN(JsonFields ts, vm.Object("timestampVerificationData"));
    if (ts.Has("rfc3161Timestamps")) {
      SEALPKG_ASSIGN_OR_RETURN(std::span<const JsonValue> stamps, ts.Array("rfc3161Timestamps"));
      if (!stamps.empty()) {
        return Malformed("bundle.unsupported-material",
                         ts.PathOf("rfc3161Timestamps") + ": timestamps are not supported");
      }
    }
    if (!ts.NoOtherKeys().ok()) {
      return Malformed("bundle.unsupported-material", ts.path() + ": timestamps are not supported");
    }
  }
  if (!vm.NoOtherKeys().ok()) {
    return Malformed("bundle.unsupported-material",
                     vm.path() + ": only publicKey key material is supported");
  }
  SEALPKG_ASSIGN_OR_RETURN(const JsonValue* env, top.Value("dsseEnvelope"));
  SEALPKG_ASSIGN_OR_RETURN(out.envelope,
                           DsseEnvelopeFromJson(*env, top.PathOf("dsseEnvelope"), limits));
  SEALPKG_RETURN_IF_ERROR(top.NoOtherKeys());
  return out;
}

}  // namespace sealpkg::signing
