#include "sandbox/tensor_transport.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/byte_reader.h"

namespace sealpkg::sandbox {
namespace {

std::string Errno() {
  return std::strerror(errno);
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<uint64_t> CheckReceivedFd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return IoError("io.fstat", "fstat on received fd: " + Errno());
  // security: pipes, sockets and devices have no fixed size to check a mapping against.
  if (!S_ISREG(st.st_mode)) {
    return Malformed("ipc.fd-not-regular", "received fd is not a regular file");
  }
  // security: a linked file (/dev/shm, a real file) can be changed through its path.
  if (st.st_nlink != 0) return Malformed("ipc.fd-linked", "received fd has a name on disk");
  const int seals = ::fcntl(fd, F_GET_SEALS);
  // security: without WRITE the bytes can change after our checks; without SHRINK a mapping
  // can SIGBUS; FUTURE_WRITE alone still lets an existing writable mapping write.
  if (seals < 0 || (seals & kRequiredSeals) != kRequiredSeals) {
    return Malformed("ipc.fd-not-sealed",
                     "received fd is not a memfd sealed against writes, "
                     "shrinking, growing and further sealing");
  }
  return static_cast<uint64_t>(st.st_size);
}

Status CheckTensorsFit(const Value& value, std::span<const uint64_t> fd_sizes,
                       const SandboxLimits& limits) {
  uint64_t total = 0;
  for (uint64_t s : fd_sizes) {
    if (s > limits.max_tensor_bytes - total) {
      return LimitExceeded("ipc.tensor-budget", "tensor memfds exceed max_tensor_bytes");
    }
    total += s;
  }
  std::vector<bool> referenced(fd_sizes.size(), false);
  std::vector<const Value*> todo{&value};
  while (!todo.empty()) {
    const Value* v = todo.back();
    todo.pop_back();
    if (v->kind == Kind::kTensor) {
      const TensorRef& t = v->tensor;
      if (t.fd_index >= fd_sizes.size() ||
          !RangeFits(t.storage_byte_offset, t.storage_nbytes, fd_sizes[t.fd_index])) {
        return Malformed("ipc.storage-out-of-fd", "tensor storage lies outside its memfd");
      }
      referenced[t.fd_index] = true;
    }
    for (const Value& item : v->items) todo.push_back(&item);
    for (const auto& [k, item] : v->entries) todo.push_back(&item);
  }
  // Every fd must carry something the message refers to (an empty arena carries nothing).
  for (size_t i = 0; i < fd_sizes.size(); ++i) {
    if (!referenced[i] && fd_sizes[i] != 0) {
      return Malformed("ipc.unreferenced-fd",
                       "memfd " + std::to_string(i) + " is attached but no tensor refers to it");
    }
  }
  return OkStatus();
}

Result<MappedArena> MappedArena::Map(int fd, uint64_t size, bool copy_on_write) {
  if (size == 0) return MappedArena(nullptr, 0, copy_on_write);
  const int prot = copy_on_write ? (PROT_READ | PROT_WRITE) : PROT_READ;
  const int flags = copy_on_write ? MAP_PRIVATE : MAP_SHARED;
  void* p = ::mmap(nullptr, size, prot, flags, fd, 0);
  if (p == MAP_FAILED) return IoError("io.mmap", "cannot map tensor memfd: " + Errno());
  return MappedArena(static_cast<uint8_t*>(p), size, copy_on_write);
}

MappedArena::MappedArena(MappedArena&& o) noexcept
    : data_(o.data_), size_(o.size_), writable_(o.writable_) {
  o.data_ = nullptr;
  o.size_ = 0;
}

MappedArena::~MappedArena() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

Result<UniqueFd> BuildSealedArena(std::span<const std::span<const uint8_t>> chunks,
                                  std::vector<uint64_t>* offsets) {
  offsets->clear();
  uint64_t size = 0;
  for (const auto& c : chunks) {
    size = (size + 63) & ~uint64_t{63};
    offsets->push_back(size);
    size += c.size();
  }
  UniqueFd fd(::memfd_create("sealpkg-tensors", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return IoError("io.memfd", "memfd_create: " + Errno());
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    return IoError("io.memfd", "ftruncate tensor arena: " + Errno());
  }
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (p == MAP_FAILED) return IoError("io.mmap", "map tensor arena: " + Errno());
    auto* base = static_cast<uint8_t*>(p);
    for (size_t i = 0; i < chunks.size(); ++i) {
      if (!chunks[i].empty()) std::memcpy(base + (*offsets)[i], chunks[i].data(), chunks[i].size());
    }
    // F_SEAL_WRITE fails with EBUSY while a writable shared mapping exists.
    ::munmap(p, size);
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    return IoError("io.memfd", "seal tensor arena: " + Errno());
  }
  return fd;
}

}  // namespace sealpkg::sandbox
