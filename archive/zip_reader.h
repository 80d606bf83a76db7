// Strict reader for torch.package / torch.save ZIP archives.
//
// ParseZip() is a pure function (bytes in, index out) that accepts an archive only if every
// plausible reader — torch's miniz, Python's zipfile, and sealpkg — would see exactly the same
// entries with the same bytes. It validates the end record and ZIP64 records, every central
// directory record, and every local header and data descriptor against its central record; it
// requires entry spans to be contiguous from offset 0 to the central directory (no prepended,
// hidden, overlapping or trailing bytes); it rejects ambiguous or hostile names (duplicates,
// case collisions, '..', absolute, '\\', NUL, non-UTF-8), encryption, unknown methods, flags and
// extra fields, symlinks, and entries outside the single top-level folder torch requires. All
// size limits are checked from the central directory before any data is read or inflated.
// Exactly torch's own quirks are accepted: data descriptors, the "FB" alignment padding in local
// headers, ZIP64 end records, and DEFLATE for TorchScript code records.
//
// Archive owns the immutable bytes (see core/file_bytes.h) and the index, and reads entries:
// STORED entries as zero-copy views, DEFLATE entries inflated under the limits, CRC-checked.
//
//   SEALPKG_ASSIGN_OR_RETURN(auto archive, sealpkg::archive::Archive::Open(path, limits));
//   for (const auto& e : archive.index().entries()) { ... e.record() ... }
//   SEALPKG_ASSIGN_OR_RETURN(auto bytes, archive.Read(*archive.index().Find(".data/version")));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/file_bytes.h"
#include "core/limits.h"
#include "core/status.h"

namespace sealpkg::archive {

struct ZipEntry {
  std::string name;            // full name as stored, "<prefix>/<record>"
  uint64_t header_offset = 0;  // local file header
  uint64_t data_offset = 0;    // first byte of the (possibly compressed) data
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t end_offset = 0;  // one past the data descriptor, or past the data
  uint32_t crc32 = 0;
  uint16_t method = 0;  // 0 STORED, 8 DEFLATE
  uint16_t flags = 0;
  uint32_t prefix_size = 0;  // bytes of "<prefix>/"

  // The record name torch uses: the name without the top-level folder.
  std::string_view record() const { return std::string_view(name).substr(prefix_size); }
  bool stored() const { return method == 0; }
};

class ZipIndex {
 public:
  // The single top-level folder (torch's "archive name"), without the trailing '/'.
  const std::string& prefix() const { return prefix_; }
  // Entries in central-directory order, which is also their order in the file.
  std::span<const ZipEntry> entries() const { return entries_; }
  // Exact (case-sensitive) lookup by record name; nullptr if absent.
  const ZipEntry* Find(std::string_view record) const;

  uint64_t central_directory_offset() const { return cd_offset_; }
  uint64_t central_directory_size() const { return cd_size_; }
  bool has_zip64_end() const { return zip64_; }
  uint64_t file_size() const { return file_size_; }

 private:
  friend Result<ZipIndex> ParseZip(std::span<const uint8_t>, const ArchiveLimits&);
  std::string prefix_;
  std::vector<ZipEntry> entries_;
  std::vector<uint32_t> by_record_;  // entry indices sorted by record name
  uint64_t cd_offset_ = 0;
  uint64_t cd_size_ = 0;
  bool zip64_ = false;
  uint64_t file_size_ = 0;
};

// Validates `bytes` as a whole archive and indexes it. Pure: no I/O, no globals.
Result<ZipIndex> ParseZip(std::span<const uint8_t> bytes, const ArchiveLimits& limits);

enum class CrcCheck { kVerify, kSkip };

class Archive {
 public:
  // Snapshots the file into sealed memory (read once) and parses it.
  static Result<Archive> Open(const std::string& path, const Limits& limits);
  static Result<Archive> FromBytes(FileBytes bytes, const Limits& limits);

  const ZipIndex& index() const { return index_; }
  std::span<const uint8_t> bytes() const { return bytes_.span(); }
  const FileBytes& file_bytes() const { return bytes_; }

  // Zero-copy view of a STORED entry's data (kMalformed "zip.not-stored" for DEFLATE).
  // kSkip is for callers that authenticate the bytes another way (SHA-256 signatures).
  Result<std::span<const uint8_t>> StoredView(const ZipEntry& entry,
                                              CrcCheck crc = CrcCheck::kVerify) const;
  // The entry's uncompressed bytes (inflated when DEFLATE), CRC-checked.
  Result<std::vector<uint8_t>> Read(const ZipEntry& entry) const;
  // Read() into a caller-provided buffer of exactly entry.uncompressed_size bytes.
  Status ReadInto(const ZipEntry& entry, std::span<uint8_t> out) const;
  // Read() by record name; kMalformed "zip.no-such-record" if absent.
  Result<std::vector<uint8_t>> ReadRecord(std::string_view record) const;

 private:
  Archive(FileBytes bytes, ZipIndex index) : bytes_(std::move(bytes)), index_(std::move(index)) {}
  FileBytes bytes_;
  ZipIndex index_;
};

// CRC-32 (ISO-HDLC, as ZIP uses), continuing from `crc` (0 to start).
uint32_t Crc32(std::span<const uint8_t> data, uint32_t crc = 0);

}  // namespace sealpkg::archive
