#include "signing/internal/zip_tail.h"

#include <algorithm>

#include "archive/internal/le_writer.h"
#include "archive/internal/zip_format.h"
#include "archive/zip_reader.h"

namespace sealpkg::signing::internal {
namespace {

using archive::internal::PutBytes;
using archive::internal::PutU16;
using archive::internal::PutU32;
using archive::internal::PutU64;
namespace zf = archive::internal;

constexpr uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
constexpr uint16_t kDosTimeMidnight = 0;

uint32_t Narrow(uint64_t v) {
  return v >= zf::kSentinel32 ? zf::kSentinel32 : static_cast<uint32_t>(v);
}

}  // namespace

uint64_t SignatureTailSize(uint64_t entry_offset, std::string_view name, uint64_t bundle_size,
                           uint64_t base_cd_size) {
  const bool big_offset = entry_offset >= zf::kSentinel32;
  return zf::kLocalHeaderSize + name.size() + bundle_size + base_cd_size + zf::kCentralHeaderSize +
         name.size() + (big_offset ? 12 : 0) + zf::kZip64EndRecordSize + zf::kZip64LocatorSize +
         zf::kEndOfCentralDirSize;
}

void AppendSignatureTail(std::vector<uint8_t>& out, uint64_t entry_offset, std::string_view name,
                         std::span<const uint8_t> bundle, std::span<const uint8_t> base_cd,
                         uint64_t base_count) {
  const uint32_t crc = archive::Crc32(bundle);
  const auto size = static_cast<uint32_t>(bundle.size());  // bundles are far below 4 GiB
  PutU32(out, zf::kLocalHeaderSignature);
  PutU16(out, 0);  // version needed: 0 for STORED, as torch's writer
  PutU16(out, zf::kFlagUtf8);
  PutU16(out, zf::kMethodStored);
  PutU16(out, kDosTimeMidnight);
  PutU16(out, kDosDate1980);
  PutU32(out, crc);
  PutU32(out, size);
  PutU32(out, size);
  PutU16(out, static_cast<uint16_t>(name.size()));
  PutU16(out, 0);  // no extra field
  PutBytes(out, name);
  out.insert(out.end(), bundle.begin(), bundle.end());

  const uint64_t cd_offset = entry_offset + zf::kLocalHeaderSize + name.size() + bundle.size();
  out.insert(out.end(), base_cd.begin(), base_cd.end());
  const bool big_offset = entry_offset >= zf::kSentinel32;
  PutU32(out, zf::kCentralHeaderSignature);
  PutU16(out, 0);  // version made by
  PutU16(out, 0);  // version needed
  PutU16(out, zf::kFlagUtf8);
  PutU16(out, zf::kMethodStored);
  PutU16(out, kDosTimeMidnight);
  PutU16(out, kDosDate1980);
  PutU32(out, crc);
  PutU32(out, size);
  PutU32(out, size);
  PutU16(out, static_cast<uint16_t>(name.size()));
  PutU16(out, big_offset ? 12 : 0);
  PutU16(out, 0);  // comment
  PutU16(out, 0);  // disk
  PutU16(out, 0);  // internal attributes
  PutU32(out, 0);  // external attributes
  PutU32(out, Narrow(entry_offset));
  PutBytes(out, name);
  if (big_offset) {
    PutU16(out, zf::kExtraZip64);
    PutU16(out, 8);
    PutU64(out, entry_offset);
  }
  const uint64_t cd_size =
      base_cd.size() + zf::kCentralHeaderSize + name.size() + (big_offset ? 12 : 0);
  const uint64_t count = base_count + 1;
  const uint64_t record_offset = cd_offset + cd_size;
  PutU32(out, zf::kZip64EndRecordSignature);
  PutU64(out, zf::kZip64EndRecordSize - 12);
  PutU16(out, 0x031e);  // made by: Unix, 3.0 (as torch's miniz writes it)
  PutU16(out, zf::kVersionZip64);
  PutU32(out, 0);
  PutU32(out, 0);
  PutU64(out, count);
  PutU64(out, count);
  PutU64(out, cd_size);
  PutU64(out, cd_offset);
  PutU32(out, zf::kZip64LocatorSignature);
  PutU32(out, 0);
  PutU64(out, record_offset);
  PutU32(out, 1);
  PutU32(out, zf::kEndOfCentralDirSignature);
  PutU16(out, 0);
  PutU16(out, 0);
  const auto count16 = static_cast<uint16_t>(std::min<uint64_t>(count, zf::kSentinel16));
  PutU16(out, count16);
  PutU16(out, count16);
  PutU32(out, Narrow(cd_size));
  PutU32(out, Narrow(cd_offset));
  PutU16(out, 0);  // comment
}

}  // namespace sealpkg::signing::internal
