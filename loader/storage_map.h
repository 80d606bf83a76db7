// Tensor storages of a package, located and validated in C++ before any tensor is built.
//
// A pickle in a torch.package archive names each storage by a persistent id
// ("storage", torch.<T>Storage, key, location, numel). The id is untrusted: the key becomes a
// record name and numel a byte count. PlaceStorage() is the pure check: the key must be a
// plain decimal number (no path characters, unlike torch 1.13's DirectoryReader, which joined
// it into a path unchecked), the storage type must be known, numel × element size must not
// overflow and must fit in the record. StorageMap then hands out the record's bytes without
// copying: a private copy-on-write mapping (MAP_PRIVATE, PROT_READ|PROT_WRITE) of the archive's
// sealed snapshot, so tensors built on it are ordinary writable tensors whose writes stay in
// this mapping and never reach the file, the snapshot, or another mapping of it.
//
//   SEALPKG_ASSIGN_OR_RETURN(StorageMap map, StorageMap::Create(archive));
//   SEALPKG_ASSIGN_OR_RETURN(StorageSlice s, map.Locate("0", "torch.FloatStorage", 1000));
//   if (s.mapped) { float* data = reinterpret_cast<float*>(map.bytes().data() + s.offset); }
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "archive/zip_reader.h"
#include "core/status.h"

namespace sealpkg::loader {

// Alignment at which a STORED record may be used in place: torch writes storages 64-byte
// aligned ("FB" padding), which satisfies every dtype and the vector loads kernels use.
inline constexpr uint64_t kStorageAlignment = 64;

struct StoragePlacement {
  const archive::ZipEntry* entry = nullptr;  // ".data/<key>.storage"
  uint64_t element_size = 0;
  uint64_t nbytes = 0;    // numel × element_size (≤ the record's size)
  bool mappable = false;  // STORED and kStorageAlignment-aligned in the file
};

// The record name torch uses for a storage key: ".data/<key>.storage". The key must be a
// decimal number of at most 20 digits without a sign or leading zeros ("0" itself is fine):
// torch.package writes small integer keys, and anything else in a key is either a path
// (traversal) or a differential between readers.
Result<std::string> StorageRecordName(std::string_view key);

// Bytes per element of a torch storage type given by its full name ("torch.FloatStorage").
Result<uint64_t> StorageElementSize(std::string_view storage_type);

// Pure: validates a persistent id's key, type and numel against the archive index.
Result<StoragePlacement> PlaceStorage(const archive::ZipIndex& index, std::string_view key,
                                      std::string_view storage_type, uint64_t numel);

// Where a storage's bytes are: `mapped` means at `offset` in StorageMap::bytes() (zero copy);
// otherwise the caller reads `record` (inflating or copying it) and uses the first `nbytes`.
struct StorageSlice {
  std::string record;
  uint64_t offset = 0;
  uint64_t nbytes = 0;
  uint64_t element_size = 0;
  bool mapped = false;
};

// A private copy-on-write mapping of one archive's sealed snapshot. Each StorageMap is its own
// mapping: two maps of the same archive never see each other's writes.
class StorageMap {
 public:
  // Fails with kIo "io.not-mappable" if the archive's bytes are not in a sealed memfd.
  static Result<StorageMap> Create(std::shared_ptr<const archive::Archive> archive);
  // Another, independent private mapping of the same archive. Records whose CRC-32 was
  // checked through this map (or any of its siblings) are not checked again.
  Result<StorageMap> Sibling() const;

  StorageMap(StorageMap&&) noexcept;
  StorageMap& operator=(StorageMap&&) noexcept;
  StorageMap(const StorageMap&) = delete;
  StorageMap& operator=(const StorageMap&) = delete;
  ~StorageMap();

  // Validates the id (PlaceStorage) and, for a mappable record, its CRC-32 (read from the
  // sealed memfd with pread, once per record for this map and its siblings), then says where
  // the bytes are. Nothing is faulted into the mapping: pages map in when a tensor uses them.
  Result<StorageSlice> Locate(std::string_view key, std::string_view storage_type, uint64_t numel);

  // The whole archive, writable, private to this map.
  std::span<uint8_t> bytes() const { return {data_, size_}; }
  const archive::Archive& archive() const { return *archive_; }

 private:
  struct CrcState;
  StorageMap() = default;
  static Result<StorageMap> Map(std::shared_ptr<const archive::Archive> archive,
                                std::shared_ptr<CrcState> crc);
  void Release();

  std::shared_ptr<const archive::Archive> archive_;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  struct CrcState {
    std::mutex mutex;
    std::vector<bool> checked;  // by entry index
  };
  std::shared_ptr<CrcState> crc_;  // shared by siblings
};

}  // namespace sealpkg::loader
