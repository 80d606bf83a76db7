// ZIP record signatures, field sizes and flag bits (PKWARE APPNOTE 6.3.x), shared by the
// strict reader and the canonical writer. Internal to the archive component.
#pragma once

#include <cstdint>

namespace sealpkg::archive::internal {

inline constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
inline constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
inline constexpr uint32_t kDataDescriptorSignature = 0x08074b50;
inline constexpr uint32_t kEndOfCentralDirSignature = 0x06054b50;
inline constexpr uint32_t kZip64EndRecordSignature = 0x06064b50;
inline constexpr uint32_t kZip64LocatorSignature = 0x07064b50;

inline constexpr uint64_t kLocalHeaderSize = 30;
inline constexpr uint64_t kCentralHeaderSize = 46;
inline constexpr uint64_t kEndOfCentralDirSize = 22;
inline constexpr uint64_t kZip64EndRecordSize = 56;  // with no extensible data
inline constexpr uint64_t kZip64LocatorSize = 20;
inline constexpr uint64_t kDescriptorSize32 = 16;  // signature, CRC, two 32-bit sizes
inline constexpr uint64_t kDescriptorSize64 = 24;  // signature, CRC, two 64-bit sizes
inline constexpr uint64_t kMaxEocdSearch = 0xFFFF + kEndOfCentralDirSize;

inline constexpr uint16_t kFlagEncrypted = 0x0001;
inline constexpr uint16_t kFlagDataDescriptor = 0x0008;
inline constexpr uint16_t kFlagStrongEncryption = 0x0040;
inline constexpr uint16_t kFlagUtf8 = 0x0800;
inline constexpr uint16_t kFlagMaskedHeaders = 0x2000;

inline constexpr uint16_t kMethodStored = 0;
inline constexpr uint16_t kMethodDeflate = 8;

inline constexpr uint16_t kExtraZip64 = 0x0001;
inline constexpr uint16_t kExtraTorchPadding = 0x4246;  // "FB": miniz/torch alignment padding
inline constexpr uint8_t kPaddingByte = 'Z';
inline constexpr uint64_t kDataAlignment = 64;  // torch's kFieldAlignment

inline constexpr uint16_t kVersionZip64 = 45;  // highest "version needed" we understand
inline constexpr uint16_t kVersionDeflate = 20;
inline constexpr uint16_t kHostMsDos = 0;
inline constexpr uint16_t kHostUnix = 3;

inline constexpr uint32_t kSentinel32 = 0xFFFFFFFF;
inline constexpr uint16_t kSentinel16 = 0xFFFF;

}  // namespace sealpkg::archive::internal
