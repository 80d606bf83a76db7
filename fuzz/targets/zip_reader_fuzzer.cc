// zip_reader: arbitrary bytes -> sealpkg::archive::ParseZip -> Archive::Read of every entry,
// cross-checked against libzip.
//
// Invariants (each violation calls abort()):
//   - no function ever returns ErrorCode::kInternal;
//   - an accepted archive has >= 1 entry, all named "<prefix>/<record>" with a non-empty record;
//   - entry spans are sorted and contiguous: the first starts at 0, entry i ends where entry i+1
//     starts, the last ends at the central directory, which ends inside the file; every data
//     range lies inside its span; declared sizes respect the limits;
//   - Find(e.record()) returns e, and Archive::FromBytes builds the same index;
//   - a successful Read returns exactly uncompressed_size bytes with the entry's CRC-32;
//   - libzip (ZIP_RDONLY | ZIP_CHECKCONS) opens every archive we accept and sees the same
//     entries (names, order, method, sizes, CRC) and, where we can read an entry, the same bytes;
//   - so does libzip with its default open flags (ZIP_RDONLY only, as PHP's ZipArchive and
//     libzip's own tools open archives), which picks among candidate end records differently.
#include <zip.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "archive/zip_reader.h"
#include "core/file_bytes.h"
#include "core/limits.h"
#include "core/status.h"

namespace {

using sealpkg::ErrorCode;
using sealpkg::Status;
using sealpkg::archive::Archive;
using sealpkg::archive::ZipEntry;
using sealpkg::archive::ZipIndex;

[[noreturn]] void Fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "zip_reader_fuzzer: invariant violated: %s %.*s\n", what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void Check(bool condition, const char* what, std::string_view detail = {}) {
  if (!condition) Fail(what, detail);
}

void CheckNotInternal(const Status& status, const char* where) {
  if (status.code() == ErrorCode::kInternal) Fail(where, status.ToString());
}

sealpkg::Limits FuzzLimits() {
  sealpkg::Limits limits;
  sealpkg::ArchiveLimits& a = limits.archive;
  a.max_archive_bytes = 1u << 20;
  a.max_entries = 512;
  a.max_name_bytes = 512;
  a.max_entry_uncompressed_bytes = 1u << 20;
  a.max_total_uncompressed_bytes = 4u << 20;
  a.max_deflated_entry_bytes = 1u << 20;
  a.max_compression_ratio = 100;
  return limits;
}

void CheckIndex(const ZipIndex& index, std::span<const uint8_t> bytes,
                const sealpkg::ArchiveLimits& limits) {
  const auto entries = index.entries();
  Check(!entries.empty(), "accepted archive has no entries");
  Check(entries.size() <= limits.max_entries, "more entries than max_entries");
  Check(index.file_size() == bytes.size(), "file_size() differs from the input size");
  Check(!index.prefix().empty(), "empty prefix");
  const std::string folder = index.prefix() + "/";
  const uint64_t cd = index.central_directory_offset();
  Check(cd <= bytes.size() && index.central_directory_size() <= bytes.size() - cd,
        "central directory outside the file");
  uint64_t expected = 0;
  uint64_t total = 0;
  for (const ZipEntry& e : entries) {
    Check(e.name.size() <= limits.max_name_bytes, "name longer than max_name_bytes", e.name);
    Check(e.name.compare(0, folder.size(), folder) == 0, "entry outside the prefix", e.name);
    Check(e.prefix_size == folder.size(), "prefix_size differs from the prefix", e.name);
    Check(!e.record().empty(), "empty record name", e.name);
    Check(e.header_offset == expected, "entries not contiguous", e.name);
    Check(e.header_offset < e.data_offset, "data before the local header", e.name);
    Check(e.data_offset <= e.end_offset && e.compressed_size <= e.end_offset - e.data_offset,
          "data outside the entry span", e.name);
    Check(e.end_offset <= cd, "entry runs into the central directory", e.name);
    Check(e.method == 0 || e.method == 8, "unexpected method", e.name);
    Check(!e.stored() || e.compressed_size == e.uncompressed_size, "stored size mismatch", e.name);
    Check(e.uncompressed_size <= limits.max_entry_uncompressed_bytes, "entry over the limit",
          e.name);
    Check(e.stored() || e.uncompressed_size <= limits.max_deflated_entry_bytes,
          "deflated entry over the limit", e.name);
    total += e.uncompressed_size;
    Check(total <= limits.max_total_uncompressed_bytes, "total over the limit", e.name);
    const ZipEntry* found = index.Find(e.record());
    Check(found == &e, "Find(record) does not return the entry", e.name);
    expected = e.end_offset;
  }
  Check(expected == cd, "last entry does not end at the central directory");
}

// libzip sees the same archive: same entries in the same order. Returns the open archive (the
// caller discards it) so the entry data can be compared too.
zip_t* CheckLibzip(std::span<const uint8_t> bytes, const ZipIndex& index, int flags) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (src == nullptr) Fail("libzip: zip_source_buffer_create failed", zip_error_strerror(&error));
  zip_t* za = zip_open_from_source(src, flags, &error);
  if (za == nullptr) {
    const std::string why = zip_error_strerror(&error);
    zip_source_free(src);
    zip_error_fini(&error);
    Fail((flags & ZIP_CHECKCONS) ? "libzip (ZIP_CHECKCONS) refuses an archive sealpkg accepts:"
                                 : "libzip (default flags) refuses an archive sealpkg accepts:",
         why);
  }
  zip_error_fini(&error);
  const std::string mode = (flags & ZIP_CHECKCONS) ? " [ZIP_CHECKCONS]" : " [default flags]";
  const auto entries = index.entries();
  const zip_int64_t count = zip_get_num_entries(za, 0);
  Check(count == static_cast<zip_int64_t>(entries.size()), "libzip entry count differs", mode);
  for (size_t i = 0; i < entries.size(); ++i) {
    const ZipEntry& e = entries[i];
    const std::string where = e.name + mode;
    zip_stat_t st;
    zip_stat_init(&st);
    Check(zip_stat_index(za, i, ZIP_FL_ENC_RAW, &st) == 0, "libzip cannot stat entry", where);
    Check(st.name != nullptr && e.name == st.name, "libzip names the entry differently", where);
    const char* raw = zip_get_name(za, i, ZIP_FL_ENC_RAW);
    Check(raw != nullptr && e.name == raw, "libzip raw name differs", where);
    Check(st.size == e.uncompressed_size, "libzip size differs", where);
    Check(st.comp_size == e.compressed_size, "libzip compressed size differs", where);
    Check(st.crc == e.crc32, "libzip CRC differs", where);
    Check(st.comp_method == e.method, "libzip method differs", where);
  }
  return za;
}

void CompareWithLibzip(zip_t* za, size_t i, const ZipEntry& e, const std::vector<uint8_t>& ours) {
  zip_file_t* f = zip_fopen_index(za, i, 0);
  Check(f != nullptr, "libzip cannot open an entry sealpkg reads", e.name);
  std::vector<uint8_t> theirs(ours.size() + 1);
  size_t got = 0;
  while (got < theirs.size()) {
    const zip_int64_t n = zip_fread(f, theirs.data() + got, theirs.size() - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  zip_fclose(f);
  Check(got == ours.size() && std::equal(ours.begin(), ours.end(), theirs.begin()),
        "libzip reads different bytes", e.name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sealpkg::Limits limits = FuzzLimits();
  const std::span<const uint8_t> bytes(data, size);

  auto parsed = sealpkg::archive::ParseZip(bytes, limits.archive);
  if (!parsed.ok()) {
    CheckNotInternal(parsed.status(), "ParseZip returned kInternal:");
    return 0;
  }
  CheckIndex(*parsed, bytes, limits.archive);

  auto archive = Archive::FromBytes(
      sealpkg::FileBytes::FromVector(std::vector<uint8_t>(data, data + size)), limits);
  if (!archive.ok()) Fail("FromBytes refuses what ParseZip accepts:", archive.status().ToString());
  const ZipIndex& index = archive->index();
  Check(index.entries().size() == parsed->entries().size(), "FromBytes index differs");
  Check(index.prefix() == parsed->prefix(), "FromBytes prefix differs");

  zip_discard(CheckLibzip(archive->bytes(), index, ZIP_RDONLY));
  zip_t* za = CheckLibzip(archive->bytes(), index, ZIP_RDONLY | ZIP_CHECKCONS);
  const auto entries = index.entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    const ZipEntry& e = entries[i];
    Check(e.name == parsed->entries()[i].name && e.end_offset == parsed->entries()[i].end_offset,
          "FromBytes entry differs", e.name);
    auto read = archive->Read(e);
    if (!read.ok()) {
      CheckNotInternal(read.status(), "Read returned kInternal:");
      continue;
    }
    Check(read->size() == e.uncompressed_size, "Read returned the wrong size", e.name);
    Check(sealpkg::archive::Crc32(*read) == e.crc32, "Read returned bytes with another CRC",
          e.name);
    if (e.stored()) {
      auto view = archive->StoredView(e);
      Check(view.ok() && view->size() == read->size() &&
                std::equal(view->begin(), view->end(), read->begin()),
            "StoredView differs from Read", e.name);
    }
    CompareWithLibzip(za, i, e, *read);
  }
  zip_discard(za);
  return 0;
}
