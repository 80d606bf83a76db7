#include "core/byte_reader.h"

namespace sealpkg {

bool ByteReader::Take(uint64_t n) {
  if (!ok_) return false;
  if (!RangeFits(pos_, n, data_.size())) {
    ok_ = false;
    error_offset_ = pos_;
    return false;
  }
  return true;
}

uint8_t ByteReader::U8() {
  if (!Take(1)) return 0;
  return data_[pos_++];
}

uint16_t ByteReader::U16() {
  if (!Take(2)) return 0;
  const uint16_t v = LoadU16(data_.subspan(pos_).first<2>());
  pos_ += 2;
  return v;
}

uint32_t ByteReader::U32() {
  if (!Take(4)) return 0;
  const uint32_t v = LoadU32(data_.subspan(pos_).first<4>());
  pos_ += 4;
  return v;
}

uint64_t ByteReader::U64() {
  if (!Take(8)) return 0;
  const uint64_t v = LoadU64(data_.subspan(pos_).first<8>());
  pos_ += 8;
  return v;
}

std::span<const uint8_t> ByteReader::Bytes(uint64_t n) {
  if (!Take(n)) return {};
  auto out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

std::string_view ByteReader::Chars(uint64_t n) {
  const auto b = Bytes(n);
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

void ByteReader::Seek(uint64_t pos) {
  if (!ok_) return;
  if (pos > data_.size()) {
    ok_ = false;
    error_offset_ = pos;
    return;
  }
  pos_ = pos;
}

uint16_t LoadU16(std::span<const uint8_t, 2> b) {
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}

uint32_t LoadU32(std::span<const uint8_t, 4> b) {
  return static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) |
         (static_cast<uint32_t>(b[2]) << 16) | (static_cast<uint32_t>(b[3]) << 24);
}

uint64_t LoadU64(std::span<const uint8_t, 8> b) {
  return static_cast<uint64_t>(LoadU32(b.first<4>())) |
         (static_cast<uint64_t>(LoadU32(b.last<4>())) << 32);
}

}  // namespace sealpkg
