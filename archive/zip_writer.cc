#include "archive/zip_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "archive/errors.h"
#include "archive/internal/le_writer.h"
#include "archive/internal/names.h"
#include "archive/internal/zip_format.h"
#include "archive/zip_reader.h"

namespace sealpkg::archive {
namespace {

using namespace internal;  // NOLINT: format constants

std::string ErrnoText(int err) {
  return std::strerror(err);
}

struct CentralInfo {
  std::string name;
  uint64_t offset;
  uint64_t size;
  uint32_t crc;
  uint16_t flags;
};

// The process umask, read without umask(2), which would change it for every thread meanwhile.
mode_t CurrentUmask() {
  std::FILE* f = std::fopen("/proc/self/status", "re");
  mode_t mask = 022;
  if (f == nullptr) return mask;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned value = 0;
    if (std::sscanf(line, "Umask: %o", &value) == 1) {
      mask = static_cast<mode_t>(value & 0777);
      break;
    }
  }
  std::fclose(f);
  return mask;
}

uint32_t Narrow(uint64_t v) {
  return v >= kSentinel32 ? kSentinel32 : static_cast<uint32_t>(v);
}

// The top-level folder is one path segment that is itself a valid entry name (the name's own
// defects keep their specific reasons).
Status ValidateArchiveName(const std::string& name, const ArchiveLimits& limits) {
  SEALPKG_RETURN_IF_ERROR(ValidateEntryName(name, /*utf8_flag=*/true, limits));
  if (name.find('/') != std::string::npos) {
    return Malformed(std::string(reason::kBadArchiveName),
                     "archive name '" + name + "' must be a single folder name (no '/')");
  }
  return OkStatus();
}

}  // namespace

Result<std::string> ArchiveNameForPath(std::string_view path) {
  const size_t sep = path.find_last_of("/\\");
  std::string_view base = sep == std::string_view::npos ? path : path.substr(sep + 1);
  const size_t dot = base.rfind('.');
  if (dot != std::string_view::npos) base = base.substr(0, dot);
  if (base.empty()) {
    return Malformed(std::string(reason::kBadArchiveName),
                     "invalid file name: '" + std::string(path) + "' gives an empty archive name");
  }
  return std::string(base);
}

struct ZipWriter::State {
  WriterOptions options;
  std::string target_path;  // empty for memory targets
  std::string temp_path;
  int fd = -1;
  std::vector<uint8_t> buffer;  // memory target: everything; file target: pending bytes
  uint64_t written = 0;         // bytes emitted so far (offset of the next byte)
  std::vector<CentralInfo> central;
  std::unordered_set<std::string> lowered_files;
  std::unordered_set<std::string> lowered_folders;
  bool finished = false;
  bool failed = false;

  bool is_file() const { return !target_path.empty(); }

  Status FlushBuffer() {
    if (!is_file()) return OkStatus();
    size_t done = 0;
    while (done < buffer.size()) {
      const ssize_t n = ::write(fd, buffer.data() + done, buffer.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError("io.write", "cannot write '" + temp_path + "': " + ErrnoText(errno));
      }
      done += static_cast<size_t>(n);
    }
    buffer.clear();
    return OkStatus();
  }

  // Emits bytes; large spans bypass the buffer of a file target.
  Status Emit(std::span<const uint8_t> data) {
    written += data.size();
    if (!is_file() || data.size() < (1u << 20)) {
      buffer.insert(buffer.end(), data.begin(), data.end());
      return buffer.size() >= (4u << 20) ? FlushBuffer() : OkStatus();
    }
    SEALPKG_RETURN_IF_ERROR(FlushBuffer());
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError("io.write", "cannot write '" + temp_path + "': " + ErrnoText(errno));
      }
      done += static_cast<size_t>(n);
    }
    return OkStatus();
  }

  Status EmitRecordBytes(std::vector<uint8_t>& bytes) {
    return Emit(std::span<const uint8_t>(bytes.data(), bytes.size()));
  }

  void RemoveTemp() {
    if (fd >= 0) ::close(fd);
    fd = -1;
    if (!temp_path.empty()) ::unlink(temp_path.c_str());
    temp_path.clear();
  }
};

ZipWriter::ZipWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
ZipWriter::ZipWriter(ZipWriter&&) noexcept = default;
ZipWriter& ZipWriter::operator=(ZipWriter&& other) noexcept {
  if (this != &other) {
    Abort();
    state_ = std::move(other.state_);
  }
  return *this;
}
ZipWriter::~ZipWriter() {
  Abort();
}

Result<ZipWriter> ZipWriter::CreateFile(const std::string& path, WriterOptions options) {
  if (options.archive_name.empty()) {
    SEALPKG_ASSIGN_OR_RETURN(options.archive_name, ArchiveNameForPath(path));
  }
  SEALPKG_RETURN_IF_ERROR(ValidateArchiveName(options.archive_name, options.limits));
  auto state = std::make_unique<State>();
  state->options = std::move(options);
  state->target_path = path;
  const size_t sep = path.find_last_of('/');
  const std::string dir = sep == std::string::npos ? "." : path.substr(0, sep + 1);
  const std::string base = sep == std::string::npos ? path : path.substr(sep + 1);
  // Keep the temporary name within NAME_MAX (255) whatever the target's name length.
  std::string temp = (sep == std::string::npos ? std::string() : dir) + "." + base.substr(0, 200) +
                     ".sealpkg-tmp-XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    return IoError("io.create",
                   "cannot create a temporary file next to '" + path + "': " + ErrnoText(errno));
  }
  state->fd = fd;
  state->temp_path = temp;
  return ZipWriter(std::move(state));
}

Result<ZipWriter> ZipWriter::CreateInMemory(WriterOptions options) {
  if (options.archive_name.empty()) options.archive_name = "archive";
  SEALPKG_RETURN_IF_ERROR(ValidateArchiveName(options.archive_name, options.limits));
  auto state = std::make_unique<State>();
  state->options = std::move(options);
  return ZipWriter(std::move(state));
}

const std::string& ZipWriter::archive_name() const {
  static const std::string kNone;
  return state_ ? state_->options.archive_name : kNone;
}

bool ZipWriter::HasRecord(std::string_view record) const {
  if (!state_) return false;
  const std::string name = state_->options.archive_name + "/" + std::string(record);
  return std::any_of(state_->central.begin(), state_->central.end(),
                     [&](const CentralInfo& c) { return c.name == name; });
}

std::vector<std::string> ZipWriter::Records() const {
  std::vector<std::string> out;
  if (!state_) return out;
  const size_t prefix = state_->options.archive_name.size() + 1;
  for (const auto& c : state_->central) out.push_back(c.name.substr(prefix));
  return out;
}

Status ZipWriter::AddRecord(std::string_view record, std::span<const uint8_t> data) {
  if (!state_) {
    return InternalError(std::string(reason::kWriterState), "archive writer was moved from");
  }
  State& s = *state_;
  if (s.finished || s.failed) {
    return InternalError(std::string(reason::kWriterState),
                         "archive writer is already finished or failed");
  }
  const ArchiveLimits& limits = s.options.limits;
  const std::string name = s.options.archive_name + "/" + std::string(record);
  SEALPKG_RETURN_IF_ERROR(ValidateEntryName(name, /*utf8_flag=*/true, limits));
  if (s.central.size() >= limits.max_entries) {
    return LimitExceeded(std::string(reason::kTooManyEntries),
                         "archive would exceed " + std::to_string(limits.max_entries) + " entries")
        .WithEntry(name);
  }
  if (data.size() > limits.max_entry_uncompressed_bytes) {
    return LimitExceeded(std::string(reason::kEntryTooLarge),
                         "record is " + std::to_string(data.size()) + " bytes; the limit is " +
                             std::to_string(limits.max_entry_uncompressed_bytes))
        .WithEntry(name);
  }
  // The same name rules the reader enforces: no duplicates, no case collisions, no name that
  // is both a file and a folder.
  const std::string lower = AsciiLower(name);
  if (s.lowered_files.count(lower) != 0) {
    const bool exact = HasRecord(record);
    return Malformed(std::string(exact ? reason::kDuplicateName : reason::kCaseCollision),
                     exact ? "Tried to write file '" + std::string(record) +
                                 "', but it already exists in this archive"
                           : "record name differs only by letter case from an existing record")
        .WithEntry(name);
  }
  if (s.lowered_folders.count(lower) != 0) {
    return Malformed(std::string(reason::kFileDirConflict), "record name is already a folder")
        .WithEntry(name);
  }
  for (size_t p = lower.find('/'); p != std::string::npos; p = lower.find('/', p + 1)) {
    if (s.lowered_files.count(lower.substr(0, p)) != 0) {
      return Malformed(std::string(reason::kFileDirConflict),
                       "a parent folder of this record is already a file")
          .WithEntry(name);
    }
  }

  const uint64_t offset = s.written;
  const uint64_t size = data.size();
  const uint32_t crc = Crc32(data);
  const bool descriptor = size > 0;  // as miniz: empty records carry no descriptor
  const uint16_t flags = static_cast<uint16_t>(kFlagUtf8 | (descriptor ? kFlagDataDescriptor : 0));
  const bool big_size = size >= kSentinel32;
  const bool big_offset = offset >= kSentinel32;
  const bool zip64 = big_size || big_offset;
  const uint64_t zip64_extra_size = zip64 ? 4 + (big_size ? 16 : 0) + (big_offset ? 8 : 0) : 0;
  const uint64_t data_start_unpadded =
      offset + kLocalHeaderSize + name.size() + zip64_extra_size + 4;  // +4: 'FB' field header
  const uint64_t padding = (kDataAlignment - data_start_unpadded % kDataAlignment) % kDataAlignment;

  std::vector<uint8_t> header;
  header.reserve(kLocalHeaderSize + name.size() + zip64_extra_size + 4 + padding);
  PutU32(header, kLocalHeaderSignature);
  PutU16(header, 0);  // version needed: miniz writes 0 for STORED
  PutU16(header, flags);
  PutU16(header, kMethodStored);
  PutU16(header, 0);  // DOS time: fixed for reproducible output
  PutU16(header, 0);  // DOS date
  PutU32(header, descriptor ? 0 : crc);
  PutU32(header, descriptor ? 0 : Narrow(size));
  PutU32(header, descriptor ? 0 : Narrow(size));
  PutU16(header, static_cast<uint16_t>(name.size()));
  PutU16(header, static_cast<uint16_t>(zip64_extra_size + 4 + padding));
  PutBytes(header, name);
  if (zip64) {
    PutU16(header, kExtraZip64);
    PutU16(header, static_cast<uint16_t>(zip64_extra_size - 4));
    if (big_size) {
      PutU64(header, size);
      PutU64(header, descriptor ? 0 : size);  // miniz leaves the streamed size at 0
    }
    if (big_offset) PutU64(header, offset);
  }
  PutU16(header, kExtraTorchPadding);
  PutU16(header, static_cast<uint16_t>(padding));
  header.insert(header.end(), padding, kPaddingByte);

  const auto fail = [&](Status st) {
    s.failed = true;
    return st;
  };
  if (Status st = s.EmitRecordBytes(header); !st.ok()) return fail(std::move(st));
  if (Status st = s.Emit(data); !st.ok()) return fail(std::move(st));
  if (descriptor) {
    std::vector<uint8_t> tail;
    PutU32(tail, kDataDescriptorSignature);
    PutU32(tail, crc);
    if (zip64) {
      PutU64(tail, size);
      PutU64(tail, size);
    } else {
      PutU32(tail, static_cast<uint32_t>(size));
      PutU32(tail, static_cast<uint32_t>(size));
    }
    if (Status st = s.EmitRecordBytes(tail); !st.ok()) return fail(std::move(st));
  }
  s.central.push_back(CentralInfo{name, offset, size, crc, flags});
  s.lowered_files.insert(lower);
  for (size_t p = lower.find('/'); p != std::string::npos; p = lower.find('/', p + 1)) {
    s.lowered_folders.insert(lower.substr(0, p));
  }
  return OkStatus();
}

Status ZipWriter::Finish() {
  if (!state_) {
    return InternalError(std::string(reason::kWriterState), "archive writer was moved from");
  }
  State& s = *state_;
  if (s.finished || s.failed) {
    return InternalError(std::string(reason::kWriterState),
                         "archive writer is already finished or failed");
  }
  const auto fail = [&](Status st) {
    s.failed = true;
    s.RemoveTemp();
    return st;
  };
  if (s.central.empty()) {
    return fail(Malformed(std::string(reason::kNoEntries),
                          "an archive needs at least one record (torch requires a folder)"));
  }
  const uint64_t cd_offset = s.written;
  std::vector<uint8_t> cd;
  for (const CentralInfo& c : s.central) {
    const bool big_size = c.size >= kSentinel32;
    const bool big_offset = c.offset >= kSentinel32;
    const uint16_t extra = static_cast<uint16_t>(
        (big_size || big_offset) ? 4 + (big_size ? 16 : 0) + (big_offset ? 8 : 0) : 0);
    PutU32(cd, kCentralHeaderSignature);
    PutU16(cd, 0);  // version made by
    PutU16(cd, 0);  // version needed
    PutU16(cd, c.flags);
    PutU16(cd, kMethodStored);
    PutU16(cd, 0);
    PutU16(cd, 0);
    PutU32(cd, c.crc);
    PutU32(cd, Narrow(c.size));
    PutU32(cd, Narrow(c.size));
    PutU16(cd, static_cast<uint16_t>(c.name.size()));
    PutU16(cd, extra);
    PutU16(cd, 0);  // comment
    PutU16(cd, 0);  // disk
    PutU16(cd, 0);  // internal attributes
    PutU32(cd, 0);  // external attributes
    PutU32(cd, Narrow(c.offset));
    PutBytes(cd, c.name);
    if (extra != 0) {
      PutU16(cd, kExtraZip64);
      PutU16(cd, static_cast<uint16_t>(extra - 4));
      if (big_size) {
        PutU64(cd, c.size);
        PutU64(cd, c.size);
      }
      if (big_offset) PutU64(cd, c.offset);
    }
  }
  const uint64_t cd_size = cd.size();
  const uint64_t count = s.central.size();
  const uint64_t record_offset = cd_offset + cd_size;
  PutU32(cd, kZip64EndRecordSignature);
  PutU64(cd, kZip64EndRecordSize - 12);
  PutU16(cd, 0x031e);  // made by: Unix, 3.0 (as miniz writes it)
  PutU16(cd, kVersionZip64);
  PutU32(cd, 0);
  PutU32(cd, 0);
  PutU64(cd, count);
  PutU64(cd, count);
  PutU64(cd, cd_size);
  PutU64(cd, cd_offset);
  PutU32(cd, kZip64LocatorSignature);
  PutU32(cd, 0);
  PutU64(cd, record_offset);
  PutU32(cd, 1);
  PutU32(cd, kEndOfCentralDirSignature);
  PutU16(cd, 0);
  PutU16(cd, 0);
  const auto count16 = static_cast<uint16_t>(std::min<uint64_t>(count, kSentinel16));
  PutU16(cd, count16);
  PutU16(cd, count16);
  PutU32(cd, Narrow(cd_size));
  PutU32(cd, Narrow(cd_offset));
  PutU16(cd, 0);  // comment
  if (Status st = s.EmitRecordBytes(cd); !st.ok()) return fail(std::move(st));
  if (Status st = s.FlushBuffer(); !st.ok()) return fail(std::move(st));

  if (s.is_file()) {
    // Permissions as a plain create would give (0666 & ~umask), not mkstemp's 0600.
    if (::fchmod(s.fd, 0666 & ~CurrentUmask()) != 0 || ::fsync(s.fd) != 0) {
      return fail(IoError("io.write", "cannot finish '" + s.temp_path + "': " + ErrnoText(errno)));
    }
    if (::close(s.fd) != 0) {
      s.fd = -1;
      return fail(IoError("io.write", "cannot close '" + s.temp_path + "': " + ErrnoText(errno)));
    }
    s.fd = -1;
    if (::rename(s.temp_path.c_str(), s.target_path.c_str()) != 0) {
      return fail(IoError("io.rename", "cannot move the finished archive to '" + s.target_path +
                                           "': " + ErrnoText(errno)));
    }
    s.temp_path.clear();
    const size_t sep = s.target_path.find_last_of('/');
    const std::string dir = sep == std::string::npos ? "." : s.target_path.substr(0, sep + 1);
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      // Best effort: the file itself was fsynced; this makes the new name durable too.
      (void)::fsync(dfd);
      ::close(dfd);
    }
  }
  s.finished = true;
  return OkStatus();
}

void ZipWriter::Abort() {
  if (!state_) return;
  if (!state_->finished) state_->RemoveTemp();
  state_->failed = !state_->finished;
}

std::vector<uint8_t> ZipWriter::TakeBuffer() {
  if (!state_ || state_->is_file() || !state_->finished) return {};
  return std::move(state_->buffer);
}

}  // namespace sealpkg::archive
