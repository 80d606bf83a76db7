#include "core/file_bytes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

namespace sealpkg {
namespace {

std::string ErrnoText(int err) {
  return std::strerror(err);
}

// MemAvailable from /proc/meminfo, if readable.
std::optional<uint64_t> AvailableMemoryBytes() {
  std::FILE* f = std::fopen("/proc/meminfo", "re");
  if (f == nullptr) return std::nullopt;
  std::optional<uint64_t> out;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long kib = 0;
    if (std::sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
      out = static_cast<uint64_t>(kib) * 1024;
      break;
    }
  }
  std::fclose(f);
  return out;
}

// Closes an fd on scope exit unless released.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Creates a memfd, lets `fill` write exactly `size` bytes into it through the fd (the kernel
// copies into fresh pages; far faster than faulting in a writable mapping), then seals it and
// maps it read-only.
template <typename Fill>
Status MakeSealed(uint64_t size, Fill fill, int* out_fd, void** out_map) {
  FdGuard fd(::memfd_create("sealpkg-bytes", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd.get() < 0) return IoError("io.memfd", "memfd_create failed: " + ErrnoText(errno));
  SEALPKG_RETURN_IF_ERROR(fill(fd.get()));
  // Filling moved the file offset to the end; whoever reads the fd later starts at byte 0.
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
    return IoError("io.memfd", "cannot rewind memory copy: " + ErrnoText(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || static_cast<uint64_t>(st.st_size) != size) {
    return InternalError("internal.memfd", "memory copy has the wrong size");
  }
  // security: after these seals nobody, including us, can change, grow or shrink the bytes.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    return IoError("io.memfd", "cannot seal memory copy: " + ErrnoText(errno));
  }
  void* r = nullptr;
  if (size > 0) {
    r = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
    if (r == MAP_FAILED) return IoError("io.mmap", "cannot map sealed copy: " + ErrnoText(errno));
  }
  *out_fd = fd.release();
  *out_map = r;
  return OkStatus();
}

}  // namespace

Result<FileBytes> FileBytes::Snapshot(const std::string& path, const ArchiveLimits& limits) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused as not regular).
  FdGuard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    return IoError("io.open", "cannot open '" + path + "': " + ErrnoText(errno));
  }
  struct stat before {};
  if (::fstat(fd.get(), &before) != 0) {
    return IoError("io.stat", "cannot stat '" + path + "': " + ErrnoText(errno));
  }
  if (!S_ISREG(before.st_mode)) {
    return IoError("io.not-regular-file", "'" + path + "' is not a regular file");
  }
  const auto size = static_cast<uint64_t>(before.st_size);
  if (size > limits.max_archive_bytes) {
    return LimitExceeded("zip.archive-too-large", "file is " + std::to_string(size) +
                                                      " bytes; the limit is " +
                                                      std::to_string(limits.max_archive_bytes));
  }
  // The sealed copy lives in memory: refuse early (instead of driving the machine into the
  // OOM killer) when it cannot fit in what the kernel reports as available.
  if (const auto available = AvailableMemoryBytes(); available && size > *available) {
    return IoError("io.insufficient-memory",
                   "'" + path + "' is " + std::to_string(size) + " bytes but only " +
                       std::to_string(*available) +
                       " bytes of memory are available for its sealed copy");
  }
  FileBytes out;
  auto fill = [&](int dst) -> Status {
    off_t offset = 0;
    while (static_cast<uint64_t>(offset) < size) {
      const ssize_t n = ::sendfile(dst, fd.get(), &offset, size - static_cast<uint64_t>(offset));
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return IoError("io.read", "cannot read '" + path + "': " + ErrnoText(errno));
      }
      if (n == 0) {
        return IoError("io.file-changed", "'" + path + "' shrank while it was being read");
      }
    }
    return OkStatus();
  };
  SEALPKG_RETURN_IF_ERROR(MakeSealed(size, fill, &out.fd_, &out.mapping_));
  out.data_ = static_cast<const uint8_t*>(out.mapping_);
  out.size_ = size;

  // A writer racing with us could have changed bytes we already copied: refuse if the file's
  // size or modification time moved while we read it.
  struct stat after {};
  if (::fstat(fd.get(), &after) != 0) {
    return IoError("io.stat", "cannot stat '" + path + "': " + ErrnoText(errno));
  }
  if (after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
      after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
    return IoError("io.file-changed", "'" + path + "' changed while it was being read");
  }
  return out;
}

Result<FileBytes> FileBytes::SealedCopy(std::span<const uint8_t> bytes) {
  FileBytes out;
  auto fill = [&](int dst) -> Status {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(dst, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError("io.memfd", "cannot copy into sealed memory: " + ErrnoText(errno));
      }
      done += static_cast<size_t>(n);
    }
    return OkStatus();
  };
  SEALPKG_RETURN_IF_ERROR(MakeSealed(bytes.size(), fill, &out.fd_, &out.mapping_));
  out.data_ = static_cast<const uint8_t*>(out.mapping_);
  out.size_ = bytes.size();
  return out;
}

FileBytes FileBytes::Borrow(std::span<const uint8_t> bytes) {
  FileBytes out;
  out.data_ = bytes.data();
  out.size_ = bytes.size();
  return out;
}

FileBytes FileBytes::FromVector(std::vector<uint8_t> bytes) {
  FileBytes out;
  out.owned_ = std::make_unique<std::vector<uint8_t>>(std::move(bytes));
  out.data_ = out.owned_->data();
  out.size_ = out.owned_->size();
  return out;
}

FileBytes::FileBytes(FileBytes&& other) noexcept {
  *this = std::move(other);
}

FileBytes& FileBytes::operator=(FileBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    fd_ = std::exchange(other.fd_, -1);
    mapping_ = std::exchange(other.mapping_, nullptr);
    owned_ = std::move(other.owned_);
  }
  return *this;
}

FileBytes::~FileBytes() {
  Release();
}

void FileBytes::Release() {
  if (mapping_ != nullptr) ::munmap(mapping_, size_);
  if (fd_ >= 0) ::close(fd_);
  mapping_ = nullptr;
  fd_ = -1;
  owned_.reset();
  data_ = nullptr;
  size_ = 0;
}

}  // namespace sealpkg
