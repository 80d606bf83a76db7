// Tensor bytes between the worker and the parent: one sealed memfd (the arena) per result.
//
// Worker side: BuildSealedArena copies every storage into a fresh memfd at 64-byte aligned
// offsets, unmaps its writable view and seals the fd (WRITE, SHRINK, GROW, SEAL) so nobody can
// change it again. Parent side: CheckReceivedFd proves an fd is exactly such a memfd (regular,
// unlinked, all four seals: an unsealed or FUTURE_WRITE-only memfd could be shrunk under our
// mapping, giving SIGBUS, or rewritten after our checks), CheckTensorsFit proves every tensor
// lies inside its fd and the total is within budget, and MappedArena maps it read-only
// (MAP_SHARED) or copy-on-write (MAP_PRIVATE): zero copy either way.
//
//   SEALPKG_ASSIGN_OR_RETURN(uint64_t size, sandbox::CheckReceivedFd(fd));
//   SEALPKG_RETURN_IF_ERROR(sandbox::CheckTensorsFit(result, {size}, limits));
//   SEALPKG_ASSIGN_OR_RETURN(auto arena, sandbox::MappedArena::Map(fd, size, /*cow=*/true));
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/limits.h"
#include "core/status.h"
#include "sandbox/ipc.h"

namespace sealpkg::sandbox {

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Seals every received fd must carry.
inline constexpr int kRequiredSeals = 0x0001 | 0x0002 | 0x0004 | 0x0008;  // SEAL|SHRINK|GROW|WRITE

// Checks a received fd is a sealed, unlinked memfd; returns its size. Reasons:
// "ipc.fd-not-regular", "ipc.fd-linked", "ipc.fd-not-sealed".
Result<uint64_t> CheckReceivedFd(int fd);

// Every tensor in `value` lies inside fd_sizes[fd_index] (storage_byte_offset + storage_nbytes,
// overflow-safe; the element extent within the storage is checked by the decoder), and the
// fds together stay within limits.max_tensor_bytes, and every non-empty fd is referenced by a
// tensor. Reasons: "ipc.storage-out-of-fd", "ipc.tensor-budget", "ipc.unreferenced-fd".
Status CheckTensorsFit(const Value& value, std::span<const uint64_t> fd_sizes,
                       const SandboxLimits& limits);

// A read-only (shared) or copy-on-write (private) mapping of a checked memfd.
class MappedArena {
 public:
  static Result<MappedArena> Map(int fd, uint64_t size, bool copy_on_write);
  MappedArena(MappedArena&& o) noexcept;
  MappedArena& operator=(MappedArena&&) = delete;
  MappedArena(const MappedArena&) = delete;
  MappedArena& operator=(const MappedArena&) = delete;
  ~MappedArena();
  uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  bool writable() const { return writable_; }

 private:
  MappedArena(uint8_t* d, uint64_t s, bool w) : data_(d), size_(s), writable_(w) {}
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  bool writable_ = false;
};

// Worker side: copies `chunks` into a new memfd, chunk i at offsets[i] (64-byte aligned), seals
// it and returns the fd. `offsets` receives one offset per chunk.
Result<UniqueFd> BuildSealedArena(std::span<const std::span<const uint8_t>> chunks,
                                  std::vector<uint64_t>* offsets);

}  // namespace sealpkg::sandbox
