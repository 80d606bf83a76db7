#include "signing/base64.h"

#include <array>

namespace sealpkg::signing {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kDecode = MakeDecodeTable();

Status Bad(const char* reason, const char* message, uint64_t offset) {
  return Malformed(reason, message).WithOffset(offset);
}

}  // namespace

std::string Base64Encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = data.size() - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{data[i]} << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Bad("base64.length", "base64 text length is not a multiple of 4", text.size());
  }
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const unsigned char c = static_cast<unsigned char>(text[i + k]);
      if (c == '=') {
        // '=' only in the last group, only in its last two places, and only trailing.
        if (!last || k < 2) return Bad("base64.padding", "misplaced '=' padding", i + k);
        ++pad;
        v <<= 6;
        continue;
      }
      if (pad > 0) return Bad("base64.padding", "data after '=' padding", i + k);
      const int8_t d = kDecode[c];
      if (d < 0) return Bad("base64.alphabet", "byte outside the standard base64 alphabet", i + k);
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    // security: non-zero pad bits give a second spelling of the same bytes.
    if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0)) {
      return Bad("base64.pad-bits", "non-zero bits under the padding", i + 3 - pad);
    }
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>((v >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<uint8_t>(v & 0xFF));
  }
  return out;
}

}  // namespace sealpkg::signing
