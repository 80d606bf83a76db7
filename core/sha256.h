// SHA-256 of byte ranges (OpenSSL EVP underneath; no OpenSSL type leaks from this header).
//
//   std::string hex = sealpkg::Sha256Hex(bytes);   // 64 lower-case hex digits
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace sealpkg {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::span<const uint8_t> data);
std::string Sha256Hex(std::span<const uint8_t> data);
std::string HexEncode(std::span<const uint8_t> data);

}  // namespace sealpkg
