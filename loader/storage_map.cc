#include "loader/storage_map.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "archive/errors.h"
#include "verifier/policy.h"

namespace sealpkg::loader {
namespace {

// A uint64 has at most 20 decimal digits.
constexpr size_t kMaxKeyDigits = 20;

std::string Quoted(std::string_view text) {
  // Keys come from an untrusted pickle: show at most a bounded, printable prefix.
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < 64; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > 64) out += "...";
  return out + "'";
}

// CRC-32 of `size` bytes at `offset` of the sealed memfd, read with pread() into a small reused
// buffer. The kernel copies through its direct map (huge pages), so this costs a fraction of
// walking the same bytes through a fresh 4 KiB-page user mapping, and it leaves the tensors'
// pages unmapped until they are used (as any mmap load does).
Result<uint32_t> Crc32OfFileRange(int fd, uint64_t offset, uint64_t size) {
  constexpr size_t kChunk = size_t{256} * 1024;  // stays in L2
  std::vector<uint8_t> buffer(std::min<uint64_t>(size, kChunk));
  uint32_t crc = 0;
  while (size > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(size, buffer.size()));
    const ssize_t got = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      return IoError("io.read", std::string("cannot read the sealed snapshot: ") +
                                    (got < 0 ? std::strerror(errno) : "unexpected end"));
    }
    crc = archive::Crc32(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(got)), crc);
    offset += static_cast<uint64_t>(got);
    size -= static_cast<uint64_t>(got);
  }
  return crc;
}

}  // namespace

Result<std::string> StorageRecordName(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyDigits) {
    return Malformed("storage.bad-key",
                     "storage key " + Quoted(key) + " is not a decimal number of 1-20 digits");
  }
  for (const char c : key) {
    if (c < '0' || c > '9') {
      // A '/', '.' or any other character would turn the key into a path outside .data/.
      return Malformed("storage.bad-key", "storage key " + Quoted(key) +
                                              " is not a decimal number (path characters are "
                                              "never accepted in storage keys)");
    }
  }
  if (key.size() > 1 && key.front() == '0') {
    return Malformed("storage.bad-key", "storage key " + Quoted(key) + " has leading zeros");
  }
  return ".data/" + std::string(key) + ".storage";
}

Result<uint64_t> StorageElementSize(std::string_view storage_type) {
  const uint64_t size = verifier::StorageElementSize(storage_type);
  if (size == 0) {
    return Malformed("storage.unknown-type",
                     "unknown storage type " + Quoted(storage_type) + " in a storage id");
  }
  return size;
}

Result<StoragePlacement> PlaceStorage(const archive::ZipIndex& index, std::string_view key,
                                      std::string_view storage_type, uint64_t numel) {
  SEALPKG_ASSIGN_OR_RETURN(const std::string record, StorageRecordName(key));
  SEALPKG_ASSIGN_OR_RETURN(const uint64_t element_size, StorageElementSize(storage_type));
  const archive::ZipEntry* entry = index.Find(record);
  if (entry == nullptr) {
    return Malformed("storage.missing-record",
                     "storage id refers to '" + record + "', which is not in the archive");
  }
  // Checked before multiplying: numel comes from the pickle.
  if (numel > entry->uncompressed_size / element_size) {
    return Malformed("storage.too-large", "storage id declares " + std::to_string(numel) +
                                              " elements of " + std::to_string(element_size) +
                                              " bytes, but '" + record + "' holds " +
                                              std::to_string(entry->uncompressed_size) + " bytes")
        .WithEntry(entry->name);
  }
  StoragePlacement p;
  p.entry = entry;
  p.element_size = element_size;
  p.nbytes = numel * element_size;
  p.mappable = entry->stored() && entry->data_offset % kStorageAlignment == 0;
  return p;
}

Result<StorageMap> StorageMap::Create(std::shared_ptr<const archive::Archive> archive) {
  if (archive == nullptr) return InternalError("internal.null", "no archive to map");
  auto crc = std::make_shared<CrcState>();
  crc->checked.assign(archive->index().entries().size(), false);
  return Map(std::move(archive), std::move(crc));
}

Result<StorageMap> StorageMap::Sibling() const {
  if (archive_ == nullptr) return InternalError("internal.moved-from", "map was moved from");
  return Map(archive_, crc_);
}

Result<StorageMap> StorageMap::Map(std::shared_ptr<const archive::Archive> archive,
                                   std::shared_ptr<CrcState> crc) {
  const int fd = archive->file_bytes().sealed_fd();
  if (fd < 0) {
    return IoError("io.not-mappable", "the archive's bytes are not in a sealed memfd");
  }
  const uint64_t size = archive->bytes().size();
  // MAP_PRIVATE: writes copy the page into this process and never reach the sealed memfd
  // (F_SEAL_WRITE forbids only shared writable mappings), nor any other mapping of it.
  void* mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (mapped == MAP_FAILED) {
    return IoError("io.mmap",
                   std::string("cannot map the archive privately: ") + std::strerror(errno));
  }
  StorageMap map;
  map.archive_ = std::move(archive);
  map.data_ = static_cast<uint8_t*>(mapped);
  map.size_ = size;
  map.crc_ = std::move(crc);
  return map;
}

StorageMap::StorageMap(StorageMap&& other) noexcept
    : archive_(std::move(other.archive_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      crc_(std::move(other.crc_)) {}

StorageMap& StorageMap::operator=(StorageMap&& other) noexcept {
  if (this != &other) {
    Release();
    archive_ = std::move(other.archive_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    crc_ = std::move(other.crc_);
  }
  return *this;
}

StorageMap::~StorageMap() {
  Release();
}

void StorageMap::Release() {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

Result<StorageSlice> StorageMap::Locate(std::string_view key, std::string_view storage_type,
                                        uint64_t numel) {
  SEALPKG_ASSIGN_OR_RETURN(const StoragePlacement p,
                           PlaceStorage(archive_->index(), key, storage_type, numel));
  StorageSlice slice;
  slice.record = std::string(p.entry->record());
  slice.nbytes = p.nbytes;
  slice.element_size = p.element_size;
  if (!p.mappable) return slice;  // the caller reads (and so CRC-checks) the record

  const size_t entry_index = static_cast<size_t>(p.entry - archive_->index().entries().data());
  std::lock_guard<std::mutex> lock(crc_->mutex);
  if (!crc_->checked[entry_index]) {
    SEALPKG_ASSIGN_OR_RETURN(const uint32_t crc,
                             Crc32OfFileRange(archive_->file_bytes().sealed_fd(),
                                              p.entry->data_offset, p.entry->compressed_size));
    if (crc != p.entry->crc32) {
      return Malformed(std::string(archive::reason::kCrcMismatch),
                       "entry data does not match its CRC-32")
          .WithEntry(p.entry->name)
          .WithOffset(p.entry->data_offset);
    }
    crc_->checked[entry_index] = true;
  }
  slice.offset = p.entry->data_offset;
  slice.mapped = true;
  return slice;
}

}  // namespace sealpkg::loader
