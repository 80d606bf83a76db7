// The one bounds-checked reader for untrusted bytes.
//
// Every parser of hostile input (ZIP structures, pickles, IPC messages) reads through a
// ByteReader instead of doing pointer arithmetic. Reads past the end never touch memory: they
// return zero / an empty span and set a sticky error, so a parser can read a whole fixed-size
// record and check `ok()` once. `error_offset()` tells where the first bad read was attempted.
//
//   sealpkg::ByteReader r(bytes);
//   r.Seek(offset);
//   uint32_t signature = r.U32();
//   uint16_t name_len = r.U16();
//   std::span<const uint8_t> name = r.Bytes(name_len);
//   if (!r.ok()) return sealpkg::Malformed("zip.truncated", "record runs past end of file");
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sealpkg {

// True if [offset, offset + length) lies within [0, size), computed without overflow.
constexpr bool RangeFits(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

  // Little-endian fixed-width reads. On failure: return 0, set the sticky error.
  uint8_t U8();
  uint16_t U16();
  uint32_t U32();
  uint64_t U64();

  // The next `n` bytes as a view into the input, or an empty span on failure.
  std::span<const uint8_t> Bytes(uint64_t n);
  std::string_view Chars(uint64_t n);
  void Skip(uint64_t n) { (void)Bytes(n); }
  // Moves to absolute position `pos` (<= size()); sets the error if out of range.
  void Seek(uint64_t pos);

  uint64_t position() const { return pos_; }
  uint64_t size() const { return data_.size(); }
  uint64_t remaining() const { return data_.size() - pos_; }
  bool ok() const { return ok_; }
  // Position of the first failed read (valid when !ok()).
  uint64_t error_offset() const { return error_offset_; }

 private:
  bool Take(uint64_t n);  // checks and advances; false (and sticky error) if n bytes are absent

  std::span<const uint8_t> data_;
  uint64_t pos_ = 0;
  bool ok_ = true;
  uint64_t error_offset_ = 0;
};

// Little-endian decoding of fixed-width integers from exactly-sized spans (for callers that
// already checked the length, e.g. fields inside a record read with Bytes()).
uint16_t LoadU16(std::span<const uint8_t, 2> b);
uint32_t LoadU32(std::span<const uint8_t, 4> b);
uint64_t LoadU64(std::span<const uint8_t, 8> b);

}  // namespace sealpkg
