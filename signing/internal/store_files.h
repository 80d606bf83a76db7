// File helpers for the trust store and detached signatures: bounded reads that refuse symbolic
// links, atomic replacement, and an advisory lock on a directory.
//
// WriteFileAtomic creates a temporary file in the target's folder with the final permission bits
// from the start (mkostemp + fchmod before any byte is written), fsyncs it, renames it over the
// target and fsyncs the folder: readers see the old file or the new one, never a mix.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace sealpkg::signing::internal {

// Reads a regular file (not through a symlink) of at most `max_bytes`. kIo "io.missing" when it
// does not exist, "io.read" on other errors; kLimitExceeded `limit_reason` when too large.
Result<std::vector<uint8_t>> ReadFileBounded(const std::string& path, uint64_t max_bytes,
                                             const std::string& limit_reason);

// Atomically replaces (or creates) `path` with `data`, mode `perms`.
Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> data, mode_t perms);

bool PathExists(const std::string& path);

// An exclusive flock(2) on a directory, held for the object's lifetime.
class DirectoryLock {
 public:
  static Result<DirectoryLock> Acquire(const std::string& dir);
  DirectoryLock(DirectoryLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DirectoryLock& operator=(DirectoryLock&&) = delete;
  DirectoryLock(const DirectoryLock&) = delete;
  ~DirectoryLock();

 private:
  explicit DirectoryLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace sealpkg::signing::internal
