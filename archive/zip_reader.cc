#include "archive/zip_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "archive/errors.h"
#include "archive/internal/names.h"
#include "archive/internal/zip_format.h"
#include "core/byte_reader.h"
#include "core/memory_advice.h"

namespace sealpkg::archive {
namespace {

using namespace internal;  // NOLINT: format constants

std::string Str(std::string_view s) {
  return std::string(s);
}
std::string Num(uint64_t v) {
  return std::to_string(v);
}

Status Bad(std::string_view why, std::string message, uint64_t offset) {
  return Malformed(Str(why), std::move(message)).WithOffset(offset);
}

struct EndRecords {
  uint64_t entry_count = 0;
  uint64_t cd_offset = 0;
  uint64_t cd_size = 0;
  uint64_t cd_end = 0;  // where the central directory must end (ZIP64 record or EOCD)
  bool zip64 = false;
};

// A 32-bit (or 16-bit) end-record field must equal the ZIP64 value exactly, or be the sentinel
// when the ZIP64 value does not fit. Anything else means two readers would disagree.
bool Consistent(uint64_t narrow, uint64_t sentinel, uint64_t wide) {
  return wide >= sentinel ? narrow == sentinel : narrow == wide;
}

// Another end record than ours, in the window readers search (the last 64 KiB + 22 bytes).
struct OtherEndRecord {
  uint64_t offset;
  bool comment_reaches_end;  // its comment ends exactly at the end of the file
};

// security: readers locate "the" end record differently — miniz and zipfile take the last one,
// libzip (without ZIP_CHECKCONS) scores every candidate in the window and may prefer a decoy
// whose fake central directory hides in entry data or padding. So besides ours there must be no
// plausible end record at all: none whose comment runs to the end of the file, none preceded by
// a ZIP64 locator, none pointing at a central-directory signature or describing an empty
// archive. (Random data matches these by chance with odds of about 2^-64.)
std::optional<OtherEndRecord> FindOtherEndRecord(std::span<const uint8_t> bytes, uint64_t below) {
  const uint64_t size = bytes.size();
  const uint64_t lowest = size > kMaxEocdSearch ? size - kMaxEocdSearch : 0;
  const auto u32_at = [&](uint64_t pos) {
    ByteReader p(bytes);
    p.Seek(pos);
    const uint32_t v = p.U32();
    return p.ok() ? v : 0u;
  };
  for (uint64_t pos = below; pos-- > lowest;) {
    if (bytes[pos] != 0x50) continue;  // 'P': cheap pre-filter
    ByteReader r(bytes);
    r.Seek(pos);
    if (r.U32() != kEndOfCentralDirSignature) continue;
    r.Skip(6);  // disk numbers, entries on this disk
    const uint16_t count = r.U16();
    const uint32_t cd_size = r.U32();
    const uint32_t cd_offset = r.U32();
    const uint16_t comment = r.U16();
    if (!r.ok()) continue;
    if (pos + kEndOfCentralDirSize + comment == size) return OtherEndRecord{pos, true};
    const bool plausible =
        (pos >= kZip64LocatorSize && u32_at(pos - kZip64LocatorSize) == kZip64LocatorSignature) ||
        (count == 0 && cd_size == 0 && cd_offset <= pos) ||
        (cd_offset < pos && u32_at(cd_offset) == kCentralHeaderSignature);
    if (plausible) return OtherEndRecord{pos, false};
  }
  return std::nullopt;
}

Result<EndRecords> ParseEndRecords(std::span<const uint8_t> bytes, const ArchiveLimits& limits) {
  const uint64_t size = bytes.size();
  if (size > limits.max_archive_bytes) {
    return LimitExceeded(
        Str(reason::kArchiveTooLarge),
        "archive is " + Num(size) + " bytes; the limit is " + Num(limits.max_archive_bytes));
  }
  if (size < kEndOfCentralDirSize) {
    return Malformed(Str(reason::kTooSmall),
                     "file is " + Num(size) + " bytes, smaller than a ZIP end record");
  }
  const uint64_t eocd = size - kEndOfCentralDirSize;
  ByteReader r(bytes);
  r.Seek(eocd);
  // security: an end record whose comment runs exactly to the end of the file is what a
  // reader scanning for "the" end record may pick instead of ours (a fake end record hidden in a
  // comment or in the last entry's data). Refuse any archive that has one besides ours.
  const std::optional<OtherEndRecord> other = FindOtherEndRecord(bytes, eocd);
  if (r.U32() != kEndOfCentralDirSignature) {
    if (other && other->comment_reaches_end) {
      return Bad(reason::kArchiveComment, "archive has a comment; comments are refused",
                 other->offset);
    }
    return Bad(reason::kEocdMissing, "no ZIP end record at the end of the file", eocd);
  }
  if (other) {
    return other->comment_reaches_end
               ? Bad(reason::kArchiveComment,
                     "a second end record whose comment reaches the end of the file precedes "
                     "the real one",
                     other->offset)
               : Bad(reason::kDecoyEndRecord,
                     "a second, plausible end record precedes the real one (a reader could pick "
                     "it and see other files)",
                     other->offset);
  }
  const uint16_t disk = r.U16();
  const uint16_t cd_disk = r.U16();
  const uint16_t count_on_disk = r.U16();
  const uint16_t count = r.U16();
  const uint32_t cd_size = r.U32();
  const uint32_t cd_offset = r.U32();
  const uint16_t comment_size = r.U16();
  if (comment_size != 0) {
    return Bad(reason::kArchiveComment, "end record declares a comment past the end of file", eocd);
  }
  if (disk != 0 || cd_disk != 0 || count_on_disk != count) {
    return Bad(reason::kMultiDisk, "multi-disk (spanned) archives are not supported", eocd);
  }

  EndRecords out;
  out.cd_end = eocd;
  const bool has_locator = [&] {
    if (eocd < kZip64LocatorSize) return false;
    ByteReader p(bytes);
    p.Seek(eocd - kZip64LocatorSize);
    return p.U32() == kZip64LocatorSignature;
  }();
  if (!has_locator) {
    if (count == kSentinel16 || cd_size == kSentinel32 || cd_offset == kSentinel32) {
      return Bad(reason::kZip64Missing,
                 "end record uses ZIP64 sentinels but there is no ZIP64 "
                 "end record",
                 eocd);
    }
    out.entry_count = count;
    out.cd_size = cd_size;
    out.cd_offset = cd_offset;
    return out;
  }

  const uint64_t locator = eocd - kZip64LocatorSize;
  r.Seek(locator + 4);
  const uint32_t zip64_disk = r.U32();
  const uint64_t record = r.U64();
  const uint32_t total_disks = r.U32();
  if (zip64_disk != 0 || total_disks != 1) {
    return Bad(reason::kMultiDisk, "ZIP64 locator names another disk", locator);
  }
  // security: the record must sit directly before the locator; a pointer elsewhere lets two
  // readers use two different end records.
  if (locator < kZip64EndRecordSize || record != locator - kZip64EndRecordSize) {
    return Bad(reason::kZip64Bad, "ZIP64 end record is not directly before its locator", locator);
  }
  r.Seek(record);
  const uint32_t signature = r.U32();
  const uint64_t record_size = r.U64();
  r.U16();  // version made by: informational
  const uint16_t version_needed = r.U16();
  const uint32_t disk64 = r.U32();
  const uint32_t cd_disk64 = r.U32();
  const uint64_t count_on_disk64 = r.U64();
  const uint64_t count64 = r.U64();
  const uint64_t cd_size64 = r.U64();
  const uint64_t cd_offset64 = r.U64();
  if (!r.ok()) return InternalError("internal.zip64", "ZIP64 record read past checked bounds");
  if (signature != kZip64EndRecordSignature || record_size != kZip64EndRecordSize - 12 ||
      version_needed > kVersionZip64) {
    return Bad(reason::kZip64Bad, "ZIP64 end record is malformed or has extensible data", record);
  }
  if (disk64 != 0 || cd_disk64 != 0 || count_on_disk64 != count64) {
    return Bad(reason::kMultiDisk, "ZIP64 end record describes a multi-disk archive", record);
  }
  if (!Consistent(count, kSentinel16, count64) || !Consistent(cd_size, kSentinel32, cd_size64) ||
      !Consistent(cd_offset, kSentinel32, cd_offset64)) {
    return Bad(reason::kZip64Mismatch, "end record and ZIP64 end record disagree", eocd);
  }
  out.entry_count = count64;
  out.cd_size = cd_size64;
  out.cd_offset = cd_offset64;
  out.cd_end = record;
  out.zip64 = true;
  return out;
}

// Extra-field walk shared by central and local headers. Sub-field lengths must add up exactly.
struct ExtraFields {
  std::optional<std::span<const uint8_t>> zip64;
  std::optional<std::span<const uint8_t>> padding;
};

Result<ExtraFields> ParseExtra(std::span<const uint8_t> extra, bool local, uint64_t offset,
                               const std::string& entry) {
  ExtraFields out;
  ByteReader r(extra);
  while (r.remaining() > 0) {
    const uint16_t id = r.U16();
    const uint16_t len = r.U16();
    const auto data = r.Bytes(len);
    if (!r.ok()) {
      return Bad(reason::kExtraFieldBad, "extra field lengths do not add up", offset)
          .WithEntry(entry);
    }
    if (id == kExtraZip64 && !out.zip64) {
      out.zip64 = data;
    } else if (id == kExtraTorchPadding && local && !out.padding) {
      // security: padding is forced to one value so it cannot carry a hidden payload.
      if (!std::all_of(data.begin(), data.end(), [](uint8_t b) { return b == kPaddingByte; })) {
        return Bad(reason::kPaddingBad, "alignment padding ('FB' extra) is not all 'Z' bytes",
                   offset)
            .WithEntry(entry);
      }
      out.padding = data;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%04x", id);
      return Bad(reason::kExtraFieldUnknown,
                 std::string("extra field ") + hex +
                     (id == kExtraTorchPadding ? " ('FB' padding) is only allowed once, in local "
                                                 "headers"
                                               : " is not allowed (or appears twice)"),
                 offset)
          .WithEntry(entry);
    }
  }
  return out;
}

// The fields a ZIP64 extra carries, in APPNOTE order, and which of them are present.
struct Zip64Values {
  uint64_t uncompressed = 0, compressed = 0, offset = 0;
};

struct CentralRecord {
  ZipEntry entry;
  uint16_t version_needed = 0;
  uint16_t mod_time = 0;
  uint16_t mod_date = 0;
  uint64_t record_offset = 0;
};

Status CheckEntryLimits(const ZipEntry& e, const ArchiveLimits& limits, uint64_t offset) {
  const auto limit = [&](std::string_view why, std::string msg) {
    return LimitExceeded(Str(why), std::move(msg)).WithEntry(e.name).WithOffset(offset);
  };
  if (e.uncompressed_size > limits.max_entry_uncompressed_bytes) {
    return limit(reason::kEntryTooLarge, "entry declares " + Num(e.uncompressed_size) +
                                             " bytes; the limit is " +
                                             Num(limits.max_entry_uncompressed_bytes));
  }
  if (e.method == kMethodDeflate) {
    if (e.uncompressed_size > limits.max_deflated_entry_bytes) {
      return limit(reason::kDeflatedEntryTooLarge,
                   "compressed entry declares " + Num(e.uncompressed_size) +
                       " bytes; the limit for compressed entries is " +
                       Num(limits.max_deflated_entry_bytes));
    }
    // uncompressed > ratio * compressed, without overflow.
    const bool too_dense =
        e.uncompressed_size > 0 &&
        (e.compressed_size == 0 ||
         (e.uncompressed_size - 1) / e.compressed_size >= limits.max_compression_ratio);
    if (too_dense) {
      return limit(reason::kCompressionRatio, "entry expands " + Num(e.compressed_size) +
                                                  " bytes to " + Num(e.uncompressed_size) +
                                                  "; the ratio limit is " +
                                                  Num(limits.max_compression_ratio));
    }
  }
  return OkStatus();
}

Result<CentralRecord> ParseCentralRecord(ByteReader& r, uint64_t base,
                                         const ArchiveLimits& limits) {
  CentralRecord out;
  out.record_offset = base + r.position();
  const uint64_t at = out.record_offset;
  const uint32_t signature = r.U32();
  if (!r.ok()) return Bad(reason::kCdTruncated, "central directory ends mid-record", at);
  if (signature != kCentralHeaderSignature) {
    return Bad(reason::kCdBadSignature, "central directory record has a bad signature", at);
  }
  const uint16_t made_by = r.U16();
  out.version_needed = r.U16();
  const uint16_t flags = r.U16();
  const uint16_t method = r.U16();
  out.mod_time = r.U16();
  out.mod_date = r.U16();
  const uint32_t crc = r.U32();
  const uint32_t compressed32 = r.U32();
  const uint32_t uncompressed32 = r.U32();
  const uint16_t name_size = r.U16();
  const uint16_t extra_size = r.U16();
  const uint16_t comment_size = r.U16();
  const uint16_t disk_start = r.U16();
  const uint16_t internal_attr = r.U16();
  const uint32_t external_attr = r.U32();
  const uint32_t offset32 = r.U32();
  const std::string_view name = r.Chars(name_size);
  const auto extra = r.Bytes(extra_size);
  r.Skip(comment_size);
  if (!r.ok()) return Bad(reason::kCdTruncated, "central directory ends mid-record", at);

  ZipEntry& e = out.entry;
  e.name = std::string(name);
  e.flags = flags;
  e.method = method;
  e.crc32 = crc;
  const auto bad = [&](std::string_view why, std::string msg) {
    return Bad(why, std::move(msg), at).WithEntry(e.name);
  };

  SEALPKG_RETURN_IF_ERROR(
      internal::ValidateEntryName(name, (flags & kFlagUtf8) != 0, limits).WithOffset(at));
  if (comment_size != 0) return bad(reason::kEntryComment, "entry has a comment");
  if (disk_start != 0) return bad(reason::kMultiDisk, "entry starts on another disk");
  if (flags & (kFlagEncrypted | kFlagStrongEncryption | kFlagMaskedHeaders)) {
    return bad(reason::kEncrypted, "entry is encrypted");
  }
  if (flags & ~(kFlagDataDescriptor | kFlagUtf8)) {
    return bad(reason::kUnsupportedFlags, "entry has unsupported flag bits " + Num(flags));
  }
  if (method != kMethodStored && method != kMethodDeflate) {
    return bad(reason::kUnsupportedMethod,
               "compression method " + Num(method) + " is not supported (only STORED and DEFLATE)");
  }
  if (out.version_needed > kVersionZip64) {
    return bad(reason::kUnsupportedVersion,
               "entry needs ZIP version " + Num(out.version_needed) + " (> 45)");
  }
  const uint16_t host = made_by >> 8;
  if ((host != kHostMsDos && host != kHostUnix) || (internal_attr & ~1u) != 0) {
    return bad(reason::kUnsupportedAttributes, "entry has attributes from an unsupported host");
  }
  const uint32_t file_type = (external_attr >> 16) & 0170000;
  if (file_type == 0120000) return bad(reason::kSymlink, "entry is a symbolic link");
  if ((file_type != 0 && file_type != 0100000) || (external_attr & 0x10) != 0) {
    return bad(reason::kNotRegularFile, "entry is not a regular file");
  }

  SEALPKG_ASSIGN_OR_RETURN(ExtraFields fields, ParseExtra(extra, /*local=*/false, at, e.name));
  // Exactly the 32-bit fields holding the sentinel are carried in the ZIP64 extra, in order.
  const bool big_u = uncompressed32 == kSentinel32;
  const bool big_c = compressed32 == kSentinel32;
  const bool big_o = offset32 == kSentinel32;
  const uint64_t wanted = uint64_t{8} * (big_u + big_c + big_o);
  if (wanted == 0 ? fields.zip64.has_value() : (!fields.zip64 || fields.zip64->size() != wanted)) {
    return bad(reason::kZip64ExtraBad, "ZIP64 extra field does not match the sentinel fields");
  }
  ByteReader z(fields.zip64.value_or(std::span<const uint8_t>()));
  e.uncompressed_size = big_u ? z.U64() : uncompressed32;
  e.compressed_size = big_c ? z.U64() : compressed32;
  e.header_offset = big_o ? z.U64() : offset32;
  if (big_u && e.uncompressed_size < kSentinel32) {
    return bad(reason::kZip64ExtraBad, "ZIP64 extra holds a value that fits in 32 bits");
  }
  if ((big_c && e.compressed_size < kSentinel32) || (big_o && e.header_offset < kSentinel32)) {
    return bad(reason::kZip64ExtraBad, "ZIP64 extra holds a value that fits in 32 bits");
  }
  if (method == kMethodStored && e.compressed_size != e.uncompressed_size) {
    return bad(reason::kStoredSizeMismatch, "stored entry has compressed size " +
                                                Num(e.compressed_size) + " but size " +
                                                Num(e.uncompressed_size));
  }
  SEALPKG_RETURN_IF_ERROR(CheckEntryLimits(e, limits, at));
  return out;
}

// Cross-checks the local header (and data descriptor) of `c` at its stated offset and fills in
// the data range. `expected` is where this entry must start: the end of the previous span.
Status CheckLocal(std::span<const uint8_t> bytes, CentralRecord& c, uint64_t expected,
                  uint64_t cd_offset) {
  ZipEntry& e = c.entry;
  const uint64_t at = e.header_offset;
  const auto bad = [&](std::string_view why, std::string msg, uint64_t off) {
    return Bad(why, std::move(msg), off).WithEntry(e.name);
  };
  if (at != expected) {
    if (at < expected) {
      return bad(reason::kOverlap, "entry starts inside the previous entry", at);
    }
    if (expected == 0) {
      return bad(reason::kPrependedData,
                 "archive has " + Num(at) + " unexplained bytes before the first entry", 0);
    }
    return bad(reason::kGap, Num(at - expected) + " unexplained bytes before this entry", expected);
  }
  if (at >= cd_offset)
    return bad(reason::kOverlap, "entry starts inside the central directory", at);
  ByteReader r(bytes.first(cd_offset));
  r.Seek(at);
  const uint32_t signature = r.U32();
  const uint16_t version_needed = r.U16();
  const uint16_t flags = r.U16();
  const uint16_t method = r.U16();
  const uint16_t mod_time = r.U16();
  const uint16_t mod_date = r.U16();
  const uint32_t crc = r.U32();
  const uint32_t compressed32 = r.U32();
  const uint32_t uncompressed32 = r.U32();
  const uint16_t name_size = r.U16();
  const uint16_t extra_size = r.U16();
  if (!r.ok())
    return bad(reason::kLocalTruncated, "local header runs into the central directory", at);
  if (signature != kLocalHeaderSignature) {
    return bad(reason::kLocalBadSignature,
               "no local header at the offset the central directory "
               "gives",
               at);
  }
  const std::string_view name = r.Chars(name_size);
  const auto extra = r.Bytes(extra_size);
  if (!r.ok())
    return bad(reason::kLocalTruncated, "local header runs into the central directory", at);
  // security: miniz takes the data offset from the local header but the name from the central
  // directory; any difference between the two would let readers disagree.
  if (name != e.name) {
    return bad(reason::kLocalNameMismatch, "local header names a different file", at);
  }
  if (method != e.method)
    return bad(reason::kLocalMethodMismatch, "local header method differs", at);
  if (flags != e.flags) return bad(reason::kLocalFlagsMismatch, "local header flags differ", at);
  if (version_needed != c.version_needed || mod_time != c.mod_time || mod_date != c.mod_date) {
    return bad(reason::kLocalFieldMismatch,
               "local header version or timestamp differs from the central directory", at);
  }
  SEALPKG_ASSIGN_OR_RETURN(ExtraFields fields, ParseExtra(extra, /*local=*/true, at, e.name));
  const bool descriptor = (flags & kFlagDataDescriptor) != 0;

  // A local ZIP64 extra carries, in order, the uncompressed size, compressed size and header
  // offset that do not fit in 32 bits (miniz's layout). With a data descriptor the sizes in it
  // may be zero, as streaming writers do not know them yet.
  if (fields.zip64) {
    const bool big_u = e.uncompressed_size >= kSentinel32;
    const bool big_c = e.compressed_size >= kSentinel32;
    const bool big_o = e.header_offset >= kSentinel32;
    ByteReader z(*fields.zip64);
    if (fields.zip64->size() != size_t{8} * (big_u + big_c + big_o) || fields.zip64->empty()) {
      return bad(reason::kZip64ExtraBad, "local ZIP64 extra does not match the entry", at);
    }
    const auto size_ok = [&](uint64_t v, uint64_t real) {
      return v == real || (descriptor && v == 0);
    };
    if ((big_u && !size_ok(z.U64(), e.uncompressed_size)) ||
        (big_c && !size_ok(z.U64(), e.compressed_size)) || (big_o && z.U64() != e.header_offset)) {
      return bad(reason::kZip64ExtraBad, "local ZIP64 extra disagrees with the central directory",
                 at);
    }
  }
  // The local 32-bit fields: exact values (sentinels when they do not fit, with a ZIP64 extra),
  // or all zero when a data descriptor follows.
  const auto narrow = [](uint64_t v) {
    return v >= kSentinel32 ? kSentinel32 : static_cast<uint32_t>(v);
  };
  const bool zeros = crc == 0 && compressed32 == 0 && uncompressed32 == 0;
  if (!(descriptor && zeros)) {
    if (crc != e.crc32) return bad(reason::kLocalCrcMismatch, "local header CRC differs", at);
    if (compressed32 != narrow(e.compressed_size) ||
        uncompressed32 != narrow(e.uncompressed_size)) {
      return bad(reason::kLocalSizeMismatch, "local header sizes differ", at);
    }
    if ((compressed32 == kSentinel32 || uncompressed32 == kSentinel32) && !fields.zip64) {
      return bad(reason::kZip64ExtraBad, "local header uses ZIP64 sentinels without a ZIP64 extra",
                 at);
    }
  }

  e.data_offset = r.position();
  // security: padding beyond what aligns the data is room for a hidden payload (for example a
  // fake central directory that libzip prefers); torch writes exactly the aligning amount.
  if (fields.padding &&
      (fields.padding->size() >= kDataAlignment || e.data_offset % kDataAlignment != 0)) {
    return bad(reason::kPaddingBad,
               "'FB' padding must be exactly what aligns the data to 64 bytes, as torch writes it",
               at);
  }
  if (!RangeFits(e.data_offset, e.compressed_size, cd_offset)) {
    return bad(reason::kOverlap, "entry data runs into the central directory", at);
  }
  uint64_t end = e.data_offset + e.compressed_size;
  if (descriptor) {
    r.Seek(end);
    const bool wide = fields.zip64.has_value();
    const uint32_t dsig = r.U32();
    const uint32_t dcrc = r.U32();
    const uint64_t dcomp = wide ? r.U64() : r.U32();
    const uint64_t duncomp = wide ? r.U64() : r.U32();
    if (!r.ok() || dsig != kDataDescriptorSignature) {
      return bad(reason::kDescriptorMissing,
                 "flag bit 3 is set but no data descriptor (with "
                 "signature) follows the data",
                 end);
    }
    if (dcrc != e.crc32 || dcomp != e.compressed_size || duncomp != e.uncompressed_size) {
      return bad(reason::kDescriptorMismatch,
                 "data descriptor disagrees with the central "
                 "directory",
                 end);
    }
    end = r.position();
  }
  e.end_offset = end;
  return OkStatus();
}

}  // namespace

const ZipEntry* ZipIndex::Find(std::string_view record) const {
  const auto it = std::lower_bound(
      by_record_.begin(), by_record_.end(), record,
      [&](uint32_t i, std::string_view key) { return entries_[i].record() < key; });
  if (it == by_record_.end() || entries_[*it].record() != record) return nullptr;
  return &entries_[*it];
}

Result<ZipIndex> ParseZip(std::span<const uint8_t> bytes, const ArchiveLimits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(const EndRecords end, ParseEndRecords(bytes, limits));
  if (end.entry_count > limits.max_entries) {
    return LimitExceeded(Str(reason::kTooManyEntries), "archive has " + Num(end.entry_count) +
                                                           " entries; the limit is " +
                                                           Num(limits.max_entries));
  }
  if (end.entry_count == 0) {
    return Malformed(Str(reason::kNoEntries), "archive has no entries");
  }
  if (!RangeFits(end.cd_offset, end.cd_size, end.cd_end) ||
      end.cd_offset + end.cd_size != end.cd_end) {
    return Bad(reason::kCdBounds,
               "central directory (offset " + Num(end.cd_offset) + ", size " + Num(end.cd_size) +
                   ") does not end exactly where the end records begin (" + Num(end.cd_end) + ")",
               end.cd_offset);
  }
  // Every central record is at least 46 bytes: reject impossible counts before allocating.
  if (end.entry_count > end.cd_size / kCentralHeaderSize) {
    return Bad(reason::kCdCountMismatch,
               "central directory is too small for " + Num(end.entry_count) + " entries",
               end.cd_offset);
  }

  std::vector<CentralRecord> records;
  records.reserve(end.entry_count);
  ByteReader cd(bytes.subspan(end.cd_offset, end.cd_size));
  uint64_t total = 0;
  for (uint64_t i = 0; i < end.entry_count; ++i) {
    SEALPKG_ASSIGN_OR_RETURN(CentralRecord c, ParseCentralRecord(cd, end.cd_offset, limits));
    total += c.entry.uncompressed_size;  // each term <= max_entry_uncompressed_bytes: no overflow
    if (total > limits.max_total_uncompressed_bytes) {
      return LimitExceeded(Str(reason::kTotalTooLarge),
                           "entries declare more than " + Num(limits.max_total_uncompressed_bytes) +
                               " bytes in total")
          .WithEntry(c.entry.name)
          .WithOffset(c.record_offset);
    }
    records.push_back(std::move(c));
  }
  if (cd.remaining() != 0) {
    return Bad(reason::kCdCountMismatch,
               Num(cd.remaining()) + " bytes of central directory after the last of " +
                   Num(end.entry_count) + " records",
               end.cd_offset + cd.position());
  }

  // Names: one top-level folder, no duplicates, no case-insensitive collisions, and no name
  // that is both a file and a folder.
  const std::string& first = records.front().entry.name;
  const size_t slash = first.find('/');
  if (slash == std::string::npos) {
    return Bad(reason::kNoTopLevelFolder, "first entry is not inside a top-level folder",
               records.front().record_offset)
        .WithEntry(first);
  }
  ZipIndex index;
  index.prefix_ = first.substr(0, slash);
  const std::string folder = index.prefix_ + "/";
  std::unordered_map<std::string, uint32_t> lowered;
  lowered.reserve(records.size());
  std::unordered_set<std::string> folders;
  for (auto& c : records) {
    ZipEntry& e = c.entry;
    if (e.name.compare(0, folder.size(), folder) != 0) {
      return Bad(reason::kOutsideTopLevelFolder,
                 "entry is outside the top-level folder '" + index.prefix_ + "'", c.record_offset)
          .WithEntry(e.name);
    }
    e.prefix_size = static_cast<uint32_t>(folder.size());
    auto [it, inserted] = lowered.emplace(internal::AsciiLower(e.name), 0);
    if (!inserted) {
      const bool exact = records[it->second].entry.name == e.name;
      return Bad(exact ? reason::kDuplicateName : reason::kCaseCollision,
                 exact ? "entry name appears twice"
                       : "entry name differs only by letter case from '" +
                             records[it->second].entry.name + "'",
                 c.record_offset)
          .WithEntry(e.name);
    }
    it->second = static_cast<uint32_t>(&c - records.data());
    for (size_t p = e.name.find('/'); p != std::string::npos; p = e.name.find('/', p + 1)) {
      folders.insert(internal::AsciiLower(std::string_view(e.name).substr(0, p)));
    }
  }
  for (const auto& c : records) {
    if (folders.count(internal::AsciiLower(c.entry.name)) != 0) {
      return Bad(reason::kFileDirConflict, "entry name is also used as a folder", c.record_offset)
          .WithEntry(c.entry.name);
    }
  }

  // Spans: contiguous from offset 0 to the central directory, in central-directory order.
  uint64_t expected = 0;
  for (auto& c : records) {
    SEALPKG_RETURN_IF_ERROR(CheckLocal(bytes, c, expected, end.cd_offset));
    expected = c.entry.end_offset;
  }
  if (expected != end.cd_offset) {
    return Bad(reason::kGap,
               Num(end.cd_offset - expected) +
                   " unexplained bytes between the last entry and the central "
                   "directory",
               expected);
  }

  index.entries_.reserve(records.size());
  for (auto& c : records) index.entries_.push_back(std::move(c.entry));
  index.by_record_.resize(index.entries_.size());
  for (uint32_t i = 0; i < index.by_record_.size(); ++i) index.by_record_[i] = i;
  std::sort(index.by_record_.begin(), index.by_record_.end(), [&](uint32_t a, uint32_t b) {
    return index.entries_[a].record() < index.entries_[b].record();
  });
  index.cd_offset_ = end.cd_offset;
  index.cd_size_ = end.cd_size;
  index.zip64_ = end.zip64;
  index.file_size_ = bytes.size();
  return index;
}

uint32_t Crc32(std::span<const uint8_t> data, uint32_t crc) {
  return static_cast<uint32_t>(::crc32_z(crc, data.data(), data.size()));
}

Result<Archive> Archive::Open(const std::string& path, const Limits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(FileBytes bytes, FileBytes::Snapshot(path, limits.archive));
  return FromBytes(std::move(bytes), limits);
}

Result<Archive> Archive::FromBytes(FileBytes bytes, const Limits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(ZipIndex index, ParseZip(bytes.span(), limits.archive));
  return Archive(std::move(bytes), std::move(index));
}

Result<std::span<const uint8_t>> Archive::StoredView(const ZipEntry& entry, CrcCheck crc) const {
  if (!entry.stored()) {
    return Malformed(Str(reason::kNotStored), "entry is compressed; it has no zero-copy view")
        .WithEntry(entry.name);
  }
  const auto data = bytes().subspan(entry.data_offset, entry.compressed_size);
  if (crc == CrcCheck::kVerify && Crc32(data) != entry.crc32) {
    return Malformed(Str(reason::kCrcMismatch), "entry data does not match its CRC-32")
        .WithEntry(entry.name)
        .WithOffset(entry.data_offset);
  }
  return data;
}

Result<std::vector<uint8_t>> Archive::Read(const ZipEntry& entry) const {
  std::vector<uint8_t> out(entry.uncompressed_size);  // sizes were checked against the limits
  SEALPKG_RETURN_IF_ERROR(ReadInto(entry, out));
  return out;
}

Status Archive::ReadInto(const ZipEntry& entry, std::span<uint8_t> out) const {
  if (out.size() != entry.uncompressed_size) {
    return InternalError("internal.read-size", "output buffer does not match the entry size");
  }
  AdviseHugePages(out);  // callers pass freshly allocated buffers
  if (entry.stored()) {
    SEALPKG_ASSIGN_OR_RETURN(auto view, StoredView(entry));
    std::copy(view.begin(), view.end(), out.begin());
    return OkStatus();
  }
  const auto input = bytes().subspan(entry.data_offset, entry.compressed_size);
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
    return InternalError("internal.zlib", "inflateInit2 failed");
  }
  // zlib's avail_* are 32-bit; the deflated-entry limit keeps sizes far below that, but feed
  // in bounded chunks anyway so a raised limit cannot truncate silently.
  uint64_t in_done = 0, out_done = 0;
  // zlib refuses null buffers even when they are empty (an empty entry, a 0-byte stream).
  Bytef empty = 0;
  zs.next_in = &empty;
  zs.next_out = &empty;
  int rc = Z_OK;
  while (rc == Z_OK) {
    constexpr uint64_t kChunk = 1u << 30;
    if (zs.avail_in == 0 && in_done < input.size()) {
      const uint64_t n = std::min<uint64_t>(kChunk, input.size() - in_done);
      zs.next_in = const_cast<Bytef*>(input.data() + in_done);
      zs.avail_in = static_cast<uInt>(n);
      in_done += n;
    }
    if (zs.avail_out == 0 && out_done < out.size()) {
      const uint64_t n = std::min<uint64_t>(kChunk, out.size() - out_done);
      zs.next_out = out.data() + out_done;
      zs.avail_out = static_cast<uInt>(n);
      out_done += n;
    }
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_done == input.size()) break;  // truncated
    if (rc == Z_BUF_ERROR && zs.avail_out == 0 && out_done == out.size()) break;  // too long
    if (rc == Z_BUF_ERROR) rc = Z_OK;  // needs the next chunk
  }
  const bool exact =
      rc == Z_STREAM_END && zs.total_out == out.size() && zs.total_in == input.size();
  inflateEnd(&zs);
  if (!exact) {
    return Malformed(Str(reason::kInflateFailed),
                     "compressed data is corrupt or does not inflate to exactly the declared " +
                         Num(entry.uncompressed_size) + " bytes")
        .WithEntry(entry.name)
        .WithOffset(entry.data_offset);
  }
  if (Crc32(std::span<const uint8_t>(out.data(), out.size())) != entry.crc32) {
    return Malformed(Str(reason::kCrcMismatch), "entry data does not match its CRC-32")
        .WithEntry(entry.name)
        .WithOffset(entry.data_offset);
  }
  return OkStatus();
}

Result<std::vector<uint8_t>> Archive::ReadRecord(std::string_view record) const {
  const ZipEntry* e = index_.Find(record);
  if (e == nullptr) {
    return Malformed(Str(reason::kNoSuchRecord), "archive has no record '" + Str(record) + "'");
  }
  return Read(*e);
}

}  // namespace sealpkg::archive
