// Immutable bytes of an input file, read exactly once.
//
// The archive on disk is hostile and may change while we work on it (a swap between verify and
// load is the classic TOCTOU attack). FileBytes::Snapshot() reads the file once (sendfile) into
// an anonymous memfd, seals it against every further write, grow or shrink, and maps it
// read-only. Everything sealpkg checks and everything it later loads comes from that one
// immutable copy, and the sealed fd can be handed to a sandboxed worker as-is. If the file
// changes size or modification time during the read, Snapshot fails with an I/O error.
//
//   SEALPKG_ASSIGN_OR_RETURN(sealpkg::FileBytes bytes,
//                            sealpkg::FileBytes::Snapshot("model.pt", limits.archive));
//   std::span<const uint8_t> all = bytes.span();
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/limits.h"
#include "core/status.h"

namespace sealpkg {

class FileBytes {
 public:
  // Reads `path` (a regular file, opened read-only) into sealed memory. Fails with
  // kLimitExceeded if it is larger than limits.max_archive_bytes, and with kIo
  // "io.insufficient-memory" if it is larger than the memory the kernel reports available.
  static Result<FileBytes> Snapshot(const std::string& path, const ArchiveLimits& limits);
  // Takes ownership of bytes already in memory (e.g. a buffer handed over from Python).
  static FileBytes FromVector(std::vector<uint8_t> bytes);
  // Copies `bytes` into a sealed memfd, as Snapshot does for a file.
  static Result<FileBytes> SealedCopy(std::span<const uint8_t> bytes);
  // Refers to bytes owned elsewhere, which must outlive this object and not change (for pure
  // functions handed a span, e.g. the verifier).
  static FileBytes Borrow(std::span<const uint8_t> bytes);

  FileBytes(FileBytes&&) noexcept;
  FileBytes& operator=(FileBytes&&) noexcept;
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  ~FileBytes();

  std::span<const uint8_t> span() const { return {data_, size_}; }
  uint64_t size() const { return size_; }
  // The sealed memfd holding the bytes, or -1 when they live in ordinary memory.
  int sealed_fd() const { return fd_; }

 private:
  FileBytes() = default;
  void Release();

  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  int fd_ = -1;
  void* mapping_ = nullptr;                      // munmap on destruction
  std::unique_ptr<std::vector<uint8_t>> owned_;  // for FromVector
};

}  // namespace sealpkg
