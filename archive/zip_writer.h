// Canonical writer for torch-compatible package archives.
//
// Writes exactly the layout torch's PyTorchStreamWriter (miniz) produces, so stock
// torch.package reads sealpkg's archives and, for the same records, the bytes are identical:
// every record under "<archive_name>/", STORED, data 64-byte aligned by an "FB" padding extra,
// a data descriptor after non-empty data, zero DOS timestamps, ZIP64 extras when a size or
// offset needs them, and a ZIP64 end record before the classic one. Output is deterministic for
// the same sequence of records. Duplicate (or case-colliding) names are refused.
//
// A file target is written to a temporary file in the destination folder and renamed into
// place by Finish(); if Finish() is never reached the temporary file is removed, so the target
// path never holds a half-written package.
//
//   SEALPKG_ASSIGN_OR_RETURN(auto w, sealpkg::archive::ZipWriter::CreateFile("m.pt"));
//   SEALPKG_RETURN_IF_ERROR(w.AddRecord("res/a.txt", bytes));   // stored as "m/res/a.txt"
//   SEALPKG_RETURN_IF_ERROR(w.AddRecord(".data/version", version_bytes));
//   SEALPKG_RETURN_IF_ERROR(w.Finish());
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/status.h"

namespace sealpkg::archive {

// torch's rule for the top-level folder of a file target: the base name (after the last '/'
// or '\\') with everything from its last '.' removed. "dir/my_pkg.v1.pt" -> "my_pkg.v1".
Result<std::string> ArchiveNameForPath(std::string_view path);

struct WriterOptions {
  // Top-level folder; empty means "derive from the path" (files) or "archive" (memory).
  std::string archive_name;
  // The writer refuses what the strict reader would refuse under these limits.
  ArchiveLimits limits;
};

class ZipWriter {
 public:
  static Result<ZipWriter> CreateFile(const std::string& path, WriterOptions options = {});
  static Result<ZipWriter> CreateInMemory(WriterOptions options = {});

  ZipWriter(ZipWriter&&) noexcept;
  ZipWriter& operator=(ZipWriter&&) noexcept;
  ~ZipWriter();  // removes the temporary file of an unfinished file target

  const std::string& archive_name() const;
  // Appends one STORED record named "<archive_name>/<record>".
  Status AddRecord(std::string_view record, std::span<const uint8_t> data);
  bool HasRecord(std::string_view record) const;
  // Record names written so far, in order, without the folder prefix.
  std::vector<std::string> Records() const;

  // Writes the central directory and end records. For a file target: flushes, fsyncs and
  // atomically renames the temporary file to the target path.
  Status Finish();
  // Abandons the archive; a file target's temporary file is removed.
  void Abort();
  // The finished archive of an in-memory writer (empty for file targets).
  std::vector<uint8_t> TakeBuffer();

 private:
  struct State;
  explicit ZipWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace sealpkg::archive
