// Strict base64 (RFC 4648 §4, standard alphabet) for signatures and DSSE payloads.
//
// Decoding accepts exactly one spelling of every byte string: the standard alphabet only (no
// '-' or '_'), '=' padding required to a multiple of 4 characters, pad bits zero, no whitespace
// or line breaks. A signed field therefore cannot be re-spelled without breaking the signature
// check or the canonical-bytes comparison. Pure functions, no allocation beyond the result.
//
//   std::string text = sealpkg::signing::Base64Encode(bytes);
//   SEALPKG_ASSIGN_OR_RETURN(std::vector<uint8_t> raw, sealpkg::signing::Base64Decode(text));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sealpkg::signing {

std::string Base64Encode(std::span<const uint8_t> data);

// kMalformed with reason "base64.length" (not a multiple of 4), "base64.alphabet" (a byte outside
// the standard alphabet, including whitespace), "base64.padding" (misplaced or excess '=') or
// "base64.pad-bits" (non-zero bits in the last symbol), with the offset of the offending byte.
Result<std::vector<uint8_t>> Base64Decode(std::string_view text);

}  // namespace sealpkg::signing
