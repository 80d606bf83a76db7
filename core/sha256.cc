#include "core/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace sealpkg {

Sha256Digest Sha256(std::span<const uint8_t> data) {
  Sha256Digest out{};
  unsigned int len = 0;
  // EVP_Digest is one-shot; it only fails on allocation failure, which we treat as fatal.
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    std::abort();
  }
  return out;
}

std::string HexEncode(std::span<const uint8_t> data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

std::string Sha256Hex(std::span<const uint8_t> data) {
  return HexEncode(Sha256(data));
}

}  // namespace sealpkg
