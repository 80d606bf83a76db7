// API behaviour and positive paths of the strict reader. Hostile and broken archives, one per
// rejection reason, live in the golden table (tests/data/malformed/archive/,
// malformed_golden_test.cc); this file does not repeat them.
#include "archive/zip_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "archive/errors.h"
#include "archive/internal/le_writer.h"
#include "archive/zip_writer.h"

namespace sealpkg::archive {
namespace {

using internal::PutBytes;
using internal::PutU16;
using internal::PutU32;
using internal::PutU64;

constexpr uint32_t kSentinel = 0xFFFFFFFF;

std::vector<uint8_t> Vec(std::string_view s) {
  return {s.begin(), s.end()};
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<uint8_t> RawDeflate(const std::vector<uint8_t>& in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&zs, in.size()) + 16);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Source-like text that compresses a few times, well under the default 100x ratio limit.
std::vector<uint8_t> SourceText() {
  std::string s;
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    s += "def f" + std::to_string(i) + "(x):\n    return x * " + std::to_string(rng() % 100000) +
         " + " + std::to_string(rng() % 977) + "\n";
  }
  return Vec(s);
}

// ---- A hand-rolled ZIP builder for layouts the canonical writer never produces ----

struct RawEntry {
  std::string name;
  std::vector<uint8_t> data;  // as stored (compressed for DEFLATE)
  uint64_t uncompressed_size = 0;
  uint32_t crc = 0;
  uint16_t method = 0;
  uint16_t flags = 0;
  uint16_t version_needed = 0;
  std::vector<uint8_t> local_extra;
  std::vector<uint8_t> cd_extra;
  // 32-bit fields; unset means the natural value (the sentinel when it does not fit).
  std::optional<uint32_t> cd_uncompressed32, cd_compressed32, cd_offset32;
  std::optional<uint32_t> local_uncompressed32, local_compressed32, local_crc;
  enum class Descriptor { kNone, k32, k64 } descriptor = Descriptor::kNone;
};

uint32_t Narrow(uint64_t v) {
  return v >= kSentinel ? kSentinel : static_cast<uint32_t>(v);
}

RawEntry Stored(std::string name, std::string_view content) {
  RawEntry e;
  e.name = std::move(name);
  e.data = Vec(content);
  e.uncompressed_size = content.size();
  e.crc = Crc32(e.data);
  return e;
}

RawEntry Deflated(std::string name, const std::vector<uint8_t>& content) {
  RawEntry e;
  e.name = std::move(name);
  e.data = RawDeflate(content);
  e.uncompressed_size = content.size();
  e.crc = Crc32(content);
  e.method = 8;
  e.version_needed = 20;
  return e;
}

std::vector<uint8_t> Zip64Extra(std::initializer_list<uint64_t> values) {
  std::vector<uint8_t> out;
  PutU16(out, 0x0001);
  PutU16(out, static_cast<uint16_t>(8 * values.size()));
  for (uint64_t v : values) PutU64(out, v);
  return out;
}

struct EndOptions {
  bool zip64 = false;
};

std::vector<uint8_t> BuildZip(const std::vector<RawEntry>& entries, EndOptions end = {}) {
  std::vector<uint8_t> out;
  std::vector<uint64_t> offsets;
  for (const RawEntry& e : entries) {
    offsets.push_back(out.size());
    const bool desc = e.descriptor != RawEntry::Descriptor::kNone;
    PutU32(out, 0x04034b50);
    PutU16(out, e.version_needed);
    PutU16(out, e.flags);
    PutU16(out, e.method);
    PutU16(out, 0);
    PutU16(out, 0);
    PutU32(out, e.local_crc.value_or(desc ? 0 : e.crc));
    PutU32(out, e.local_compressed32.value_or(desc ? 0 : Narrow(e.data.size())));
    PutU32(out, e.local_uncompressed32.value_or(desc ? 0 : Narrow(e.uncompressed_size)));
    PutU16(out, static_cast<uint16_t>(e.name.size()));
    PutU16(out, static_cast<uint16_t>(e.local_extra.size()));
    PutBytes(out, e.name);
    out.insert(out.end(), e.local_extra.begin(), e.local_extra.end());
    out.insert(out.end(), e.data.begin(), e.data.end());
    if (desc) {
      PutU32(out, 0x08074b50);
      PutU32(out, e.crc);
      if (e.descriptor == RawEntry::Descriptor::k64) {
        PutU64(out, e.data.size());
        PutU64(out, e.uncompressed_size);
      } else {
        PutU32(out, static_cast<uint32_t>(e.data.size()));
        PutU32(out, static_cast<uint32_t>(e.uncompressed_size));
      }
    }
  }
  const uint64_t cd_offset = out.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    const RawEntry& e = entries[i];
    PutU32(out, 0x02014b50);
    PutU16(out, 0);  // made by: MS-DOS
    PutU16(out, e.version_needed);
    PutU16(out, e.flags);
    PutU16(out, e.method);
    PutU16(out, 0);
    PutU16(out, 0);
    PutU32(out, e.crc);
    PutU32(out, e.cd_compressed32.value_or(Narrow(e.data.size())));
    PutU32(out, e.cd_uncompressed32.value_or(Narrow(e.uncompressed_size)));
    PutU16(out, static_cast<uint16_t>(e.name.size()));
    PutU16(out, static_cast<uint16_t>(e.cd_extra.size()));
    PutU16(out, 0);
    PutU16(out, 0);
    PutU16(out, 0);
    PutU32(out, 0);
    PutU32(out, e.cd_offset32.value_or(Narrow(offsets[i])));
    PutBytes(out, e.name);
    out.insert(out.end(), e.cd_extra.begin(), e.cd_extra.end());
  }
  const uint64_t cd_size = out.size() - cd_offset;
  if (end.zip64) {
    const uint64_t record = out.size();
    PutU32(out, 0x06064b50);
    PutU64(out, 44);
    PutU16(out, 0x031e);
    PutU16(out, 45);
    PutU32(out, 0);
    PutU32(out, 0);
    PutU64(out, entries.size());
    PutU64(out, entries.size());
    PutU64(out, cd_size);
    PutU64(out, cd_offset);
    PutU32(out, 0x07064b50);
    PutU32(out, 0);
    PutU64(out, record);
    PutU32(out, 1);
  }
  PutU32(out, 0x06054b50);
  PutU16(out, 0);
  PutU16(out, 0);
  PutU16(out, static_cast<uint16_t>(entries.size()));
  PutU16(out, static_cast<uint16_t>(entries.size()));
  PutU32(out, static_cast<uint32_t>(cd_size));
  PutU32(out, static_cast<uint32_t>(cd_offset));
  PutU16(out, 0);
  return out;
}

Result<Archive> FromVector(std::vector<uint8_t> bytes, const Limits& limits = Limits{}) {
  return Archive::FromBytes(FileBytes::FromVector(std::move(bytes)), limits);
}

struct Rec {
  std::string name;
  std::vector<uint8_t> data;
};

std::vector<uint8_t> Written(const std::vector<Rec>& records, std::string archive_name = "") {
  WriterOptions o;
  o.archive_name = std::move(archive_name);
  auto w = ZipWriter::CreateInMemory(o);
  EXPECT_TRUE(w.ok());
  for (const Rec& r : records) {
    const Status s = w->AddRecord(r.name, r.data);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_TRUE(w->Finish().ok());
  return w->TakeBuffer();
}

std::vector<Rec> SampleRecords() {
  std::vector<uint8_t> big(100000);
  std::mt19937 rng(1);
  for (auto& b : big) b = static_cast<uint8_t>(rng());
  return {{".data/version", Vec("6\n")},
          {"a/b.txt", Vec("hello")},
          {"empty", {}},
          {"big.bin", big},
          {"res/caf\xc3\xa9.txt", Vec("non-ascii name")}};
}

// ---- Round trips ----

TEST(ZipReaderTest, WriterArchivesParseBackWithTheSameRecords) {
  const auto records = SampleRecords();
  const auto bytes = Written(records);
  auto archive = FromVector(bytes);
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  const ZipIndex& index = archive->index();
  EXPECT_EQ(index.prefix(), "archive");
  EXPECT_TRUE(index.has_zip64_end());
  EXPECT_EQ(index.file_size(), bytes.size());
  ASSERT_EQ(index.entries().size(), records.size());
  uint64_t expected_offset = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const ZipEntry& e = index.entries()[i];
    EXPECT_EQ(e.name, "archive/" + records[i].name);
    EXPECT_EQ(e.record(), records[i].name);
    EXPECT_EQ(e.prefix_size, 8u);
    EXPECT_TRUE(e.stored());
    EXPECT_EQ(e.method, 0);
    EXPECT_EQ(e.uncompressed_size, records[i].data.size());
    EXPECT_EQ(e.compressed_size, records[i].data.size());
    EXPECT_EQ(e.crc32, Crc32(records[i].data));
    EXPECT_EQ(e.header_offset, expected_offset);  // contiguous from offset 0
    EXPECT_EQ(e.data_offset % 64, 0u);
    expected_offset = e.end_offset;

    auto read = archive->Read(e);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, records[i].data);
    auto by_name = archive->ReadRecord(records[i].name);
    ASSERT_TRUE(by_name.ok());
    EXPECT_EQ(*by_name, records[i].data);
  }
  EXPECT_EQ(index.central_directory_offset(), expected_offset);
  EXPECT_EQ(index.central_directory_offset() + index.central_directory_size() + 56 + 20 + 22,
            bytes.size());
}

TEST(ZipReaderTest, ParseZipIsPureAndRepeatable) {
  const auto bytes = Written(SampleRecords(), "pkg");
  auto a = ParseZip(bytes, ArchiveLimits{});
  auto b = ParseZip(bytes, ArchiveLimits{});
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->prefix(), "pkg");
  ASSERT_EQ(a->entries().size(), b->entries().size());
  for (size_t i = 0; i < a->entries().size(); ++i) {
    EXPECT_EQ(a->entries()[i].name, b->entries()[i].name);
    EXPECT_EQ(a->entries()[i].data_offset, b->entries()[i].data_offset);
  }
}

TEST(ZipReaderTest, HandBuiltClassicArchiveWithoutPaddingOrZip64) {
  // No descriptor, no padding, no UTF-8 flag, no ZIP64 records: plain but unambiguous.
  const auto bytes = BuildZip({Stored("m/a", "alpha"), Stored("m/b/c", "gamma!")});
  auto archive = FromVector(bytes);
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  EXPECT_FALSE(archive->index().has_zip64_end());
  EXPECT_EQ(archive->index().prefix(), "m");
  ASSERT_EQ(archive->index().entries().size(), 2u);
  EXPECT_EQ(archive->index().entries()[0].data_offset, 30u + 3u);
  EXPECT_EQ(archive->index().entries()[0].end_offset, 30u + 3u + 5u);
  auto c = archive->ReadRecord("b/c");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, Vec("gamma!"));
}

TEST(ZipReaderTest, HandBuiltArchiveWithZip64EndRecord) {
  auto bytes = BuildZip({Stored("m/a", "alpha")}, EndOptions{.zip64 = true});
  auto archive = FromVector(bytes);
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  EXPECT_TRUE(archive->index().has_zip64_end());
}

TEST(ZipReaderTest, OpenFromFileUsesASealedSnapshot) {
  std::string tmpl = ::testing::TempDir() + "/zip_reader_test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
  const std::string path = tmpl + "/m.pt";
  const auto bytes = Written(SampleRecords(), "m");
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  }
  auto archive = Archive::Open(path, Limits{});
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  EXPECT_GE(archive->file_bytes().sealed_fd(), 0);
  EXPECT_EQ(archive->index().prefix(), "m");
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), archive->bytes().begin()));
  auto v = archive->ReadRecord(".data/version");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, Vec("6\n"));

  Limits small;
  small.archive.max_archive_bytes = bytes.size() - 1;
  auto too_big = Archive::Open(path, small);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(too_big.status().reason(), reason::kArchiveTooLarge);
  small.archive.max_archive_bytes = bytes.size();
  EXPECT_TRUE(Archive::Open(path, small).ok());

  auto missing = Archive::Open(tmpl + "/missing.pt", Limits{});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kIo);
  EXPECT_EQ(missing.status().reason(), "io.open");
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

TEST(ZipReaderTest, FromBytesPassesParseErrorsThrough) {
  auto tiny = FromVector(Vec("PK"));
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.status().reason(), reason::kTooSmall);
  auto empty = FromVector({});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().reason(), reason::kTooSmall);
}

// ---- Find ----

TEST(ZipReaderTest, FindIsExactAndCaseSensitive) {
  const auto bytes = Written(SampleRecords());
  auto index = ParseZip(bytes, ArchiveLimits{});
  ASSERT_TRUE(index.ok());
  const ZipEntry* e = index->Find("a/b.txt");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->name, "archive/a/b.txt");
  EXPECT_EQ(index->Find("A/b.txt"), nullptr);
  EXPECT_EQ(index->Find("a/B.txt"), nullptr);
  EXPECT_EQ(index->Find("a/b.tx"), nullptr);
  EXPECT_EQ(index->Find("a/b.txt2"), nullptr);
  EXPECT_EQ(index->Find("a"), nullptr);  // folders are not records
  EXPECT_EQ(index->Find("a/"), nullptr);
  EXPECT_EQ(index->Find("archive/a/b.txt"), nullptr);  // record names exclude the prefix
  EXPECT_EQ(index->Find(""), nullptr);
  EXPECT_NE(index->Find("empty"), nullptr);
  EXPECT_NE(index->Find("res/caf\xc3\xa9.txt"), nullptr);
  EXPECT_EQ(index->Find("res/cafe\xcc\x81.txt"), nullptr);  // NFD form is another name
}

TEST(ZipReaderTest, FindLocatesEveryRecordAmongMany) {
  std::vector<Rec> records;
  for (int i = 0; i < 300; ++i) {
    records.push_back({"d" + std::to_string((i * 37) % 300) + "/f", Vec(std::to_string(i))});
  }
  const auto bytes = Written(records);
  auto index = ParseZip(bytes, ArchiveLimits{});
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  for (size_t i = 0; i < records.size(); ++i) {
    const ZipEntry* e = index->Find(records[i].name);
    ASSERT_NE(e, nullptr) << records[i].name;
    EXPECT_EQ(e, &index->entries()[i]);
  }
  EXPECT_EQ(index->Find("d300/f"), nullptr);
  EXPECT_EQ(index->Find("d1"), nullptr);
}

// ---- StoredView and CRC ----

TEST(ZipReaderTest, StoredViewIsZeroCopy) {
  const auto bytes = Written(SampleRecords());
  auto archive = FromVector(bytes);
  ASSERT_TRUE(archive.ok());
  const auto all = archive->bytes();
  for (const ZipEntry& e : archive->index().entries()) {
    auto view = archive->StoredView(e);
    ASSERT_TRUE(view.ok()) << e.name << ": " << view.status().ToString();
    EXPECT_EQ(view->size(), e.uncompressed_size);
    EXPECT_EQ(view->data(), all.data() + e.data_offset) << e.name;
    EXPECT_GE(view->data(), all.data());
    EXPECT_LE(view->data() + view->size(), all.data() + all.size());
  }
}

TEST(ZipReaderTest, CrcMismatchIsDetectedOnRead) {
  auto bytes = Written(SampleRecords());
  auto clean = ParseZip(bytes, ArchiveLimits{});
  ASSERT_TRUE(clean.ok());
  const ZipEntry* target = clean->Find("a/b.txt");
  ASSERT_NE(target, nullptr);
  const uint64_t data_offset = target->data_offset;
  bytes[data_offset + 1] ^= 0x20;  // "hello" -> "hEllo"

  // The index only holds declared values, so parsing still succeeds.
  auto archive = FromVector(bytes);
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  const ZipEntry& e = *archive->index().Find("a/b.txt");

  auto view = archive->StoredView(e);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.status().code(), ErrorCode::kMalformed);
  EXPECT_EQ(view.status().reason(), reason::kCrcMismatch);
  EXPECT_EQ(view.status().entry(), "archive/a/b.txt");
  ASSERT_TRUE(view.status().offset().has_value());
  EXPECT_EQ(*view.status().offset(), data_offset);

  auto skipped = archive->StoredView(e, CrcCheck::kSkip);
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(std::string(skipped->begin(), skipped->end()), "hEllo");

  EXPECT_EQ(archive->Read(e).status().reason(), reason::kCrcMismatch);
  EXPECT_EQ(archive->ReadRecord("a/b.txt").status().reason(), reason::kCrcMismatch);
  // Other records are unaffected.
  EXPECT_TRUE(archive->ReadRecord(".data/version").ok());
}

TEST(ZipReaderTest, ReadRecordOfAMissingRecord) {
  auto archive = FromVector(Written(SampleRecords()));
  ASSERT_TRUE(archive.ok());
  auto r = archive->ReadRecord("nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kMalformed);
  EXPECT_EQ(r.status().reason(), reason::kNoSuchRecord);
  EXPECT_EQ(archive->ReadRecord("A/b.txt").status().reason(), reason::kNoSuchRecord);
}

TEST(Crc32Test, KnownValuesAndContinuation) {
  EXPECT_EQ(Crc32(Bytes("123456789")), 0xCBF43926u);
  EXPECT_EQ(Crc32({}), 0u);
  EXPECT_EQ(Crc32(Bytes("6789"), Crc32(Bytes("12345"))), 0xCBF43926u);
}

// ---- DEFLATE ----

TEST(ZipReaderTest, DeflateEntriesInflateExactly) {
  const auto code = SourceText();
  const auto small = Vec("x = 1\n");
  const auto bytes = BuildZip({Stored("arc/.data/version", "6\n"), Deflated("arc/code/a.py", code),
                               Deflated("arc/code/small.py", small)});
  auto archive = FromVector(bytes);
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  const ZipEntry* e = archive->index().Find("code/a.py");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->stored());
  EXPECT_EQ(e->method, 8);
  EXPECT_LT(e->compressed_size, e->uncompressed_size);
  auto read = archive->Read(*e);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, code);
  auto s = archive->ReadRecord("code/small.py");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(*s, small);
}

TEST(ZipReaderTest, DeflateWithDataDescriptor) {
  const auto code = SourceText();
  RawEntry e = Deflated("arc/a.py", code);
  e.flags = 0x0008;
  e.descriptor = RawEntry::Descriptor::k32;
  auto archive = FromVector(BuildZip({e}));
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  auto read = archive->ReadRecord("a.py");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, code);
}

TEST(ZipReaderTest, EmptyDeflateEntryReadsAsEmpty) {
  auto archive = FromVector(BuildZip({Deflated("arc/empty.py", {})}));
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  auto read = archive->ReadRecord("empty.py");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(read->empty());
}

TEST(ZipReaderTest, StoredViewRefusesDeflate) {
  auto archive = FromVector(BuildZip({Deflated("arc/a.py", SourceText())}));
  ASSERT_TRUE(archive.ok());
  const ZipEntry& e = archive->index().entries()[0];
  for (CrcCheck crc : {CrcCheck::kVerify, CrcCheck::kSkip}) {
    auto view = archive->StoredView(e, crc);
    ASSERT_FALSE(view.ok());
    EXPECT_EQ(view.status().code(), ErrorCode::kMalformed);
    EXPECT_EQ(view.status().reason(), reason::kNotStored);
    EXPECT_EQ(view.status().entry(), "arc/a.py");
  }
}

// Builds a one-entry archive whose DEFLATE data and declared sizes are given explicitly.
Result<std::vector<uint8_t>> ReadOddDeflate(std::vector<uint8_t> stream, uint64_t declared,
                                            uint32_t crc) {
  RawEntry e;
  e.name = "arc/odd.py";
  e.data = std::move(stream);
  e.uncompressed_size = declared;
  e.crc = crc;
  e.method = 8;
  e.version_needed = 20;
  auto archive = FromVector(BuildZip({e}));
  if (!archive.ok()) return std::move(archive).status();
  return archive->ReadRecord("odd.py");
}

void ExpectInflateFailed(const Result<std::vector<uint8_t>>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kMalformed);
  EXPECT_EQ(r.status().reason(), reason::kInflateFailed) << r.status().ToString();
  EXPECT_EQ(r.status().entry(), "arc/odd.py");
}

TEST(ZipReaderTest, TruncatedDeflateStream) {
  const auto code = SourceText();
  auto stream = RawDeflate(code);
  stream.resize(stream.size() - 8);
  ExpectInflateFailed(ReadOddDeflate(stream, code.size(), Crc32(code)));
  stream.resize(1);
  ExpectInflateFailed(ReadOddDeflate(stream, 10, Crc32(code)));
}

TEST(ZipReaderTest, CorruptDeflateStream) {
  const auto code = SourceText();
  auto stream = RawDeflate(code);
  stream[0] = 0xFF;  // BFINAL=1, BTYPE=11: reserved block type
  ExpectInflateFailed(ReadOddDeflate(stream, code.size(), Crc32(code)));
}

TEST(ZipReaderTest, DeflateStreamLongerThanDeclared) {
  const auto code = SourceText();
  ExpectInflateFailed(ReadOddDeflate(RawDeflate(code), code.size() - 1, Crc32(code)));
}

TEST(ZipReaderTest, DeflateStreamShorterThanDeclared) {
  const auto code = SourceText();
  ExpectInflateFailed(ReadOddDeflate(RawDeflate(code), code.size() + 1, Crc32(code)));
}

TEST(ZipReaderTest, BytesAfterTheEndOfTheDeflateStream) {
  const auto code = SourceText();
  auto stream = RawDeflate(code);
  stream.insert(stream.end(), {0, 0, 0, 0});
  ExpectInflateFailed(ReadOddDeflate(stream, code.size(), Crc32(code)));
}

TEST(ZipReaderTest, DeflateCrcMismatch) {
  const auto code = SourceText();
  auto r = ReadOddDeflate(RawDeflate(code), code.size(), Crc32(code) ^ 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), reason::kCrcMismatch);
  // The exact declared values inflate fine (control).
  auto ok = ReadOddDeflate(RawDeflate(code), code.size(), Crc32(code));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, code);
}

// ---- ZIP64 ----

// Limits that let a small DEFLATE entry declare >= 4 GiB, so ZIP64 size fields can be
// exercised without writing 4 GiB. (Nothing here inflates it.)
ArchiveLimits Unbounded() {
  ArchiveLimits l;
  l.max_entry_uncompressed_bytes = UINT64_MAX / 4;
  l.max_total_uncompressed_bytes = UINT64_MAX / 2;
  l.max_deflated_entry_bytes = UINT64_MAX;
  l.max_compression_ratio = UINT64_MAX;
  return l;
}

RawEntry BigDeclared(uint64_t declared) {
  RawEntry e = Deflated("arc/big.bin", Vec("tiny"));
  e.uncompressed_size = declared;
  e.cd_uncompressed32 = kSentinel;
  e.cd_extra = Zip64Extra({declared});
  e.local_uncompressed32 = kSentinel;
  e.local_extra = Zip64Extra({declared});
  return e;
}

TEST(ZipReaderZip64Test, SizesInZip64ExtrasAreAccepted) {
  for (uint64_t declared : {uint64_t{0xFFFFFFFF}, uint64_t{0x100000000}, uint64_t{1} << 40}) {
    const auto bytes = BuildZip({Stored("arc/a", "a"), BigDeclared(declared)});
    auto index = ParseZip(bytes, Unbounded());
    ASSERT_TRUE(index.ok()) << declared << ": " << index.status().ToString();
    const ZipEntry* e = index->Find("big.bin");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->uncompressed_size, declared);
    EXPECT_EQ(e->compressed_size, RawDeflate(Vec("tiny")).size());
  }
}

TEST(ZipReaderZip64Test, Zip64ExtrasWithDataDescriptor) {
  // miniz's layout: local ZIP64 extra with zero sizes, zero 32-bit fields, 64-bit descriptor.
  RawEntry e = BigDeclared(uint64_t{1} << 33);
  e.flags = 0x0008;
  e.descriptor = RawEntry::Descriptor::k64;
  e.local_uncompressed32.reset();
  e.local_extra = Zip64Extra({0});
  auto index = ParseZip(BuildZip({e}), Unbounded());
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(index->entries()[0].uncompressed_size, uint64_t{1} << 33);
  EXPECT_EQ(index->entries()[0].end_offset, index->central_directory_offset());
}

TEST(ZipReaderZip64Test, DeclaredSizesStillCountAgainstTheLimits) {
  const auto bytes = BuildZip({BigDeclared(0x100000000)});
  auto index = ParseZip(bytes, ArchiveLimits{});
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(index.status().reason(), reason::kDeflatedEntryTooLarge);
}

enum class Where { kCentral, kLocal };

// The rejection must come from the named header: the central record (at the central directory
// offset, as the archive has one entry) or the local header (at offset 0).
void ExpectZip64ExtraBad(const RawEntry& e, Where where) {
  const auto bytes = BuildZip({e});
  auto index = ParseZip(bytes, Unbounded());
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().code(), ErrorCode::kMalformed);
  EXPECT_EQ(index.status().reason(), reason::kZip64ExtraBad) << index.status().ToString();
  EXPECT_EQ(index.status().entry(), e.name);
  const uint64_t cd_offset = bytes[bytes.size() - 6] | (bytes[bytes.size() - 5] << 8) |
                             (bytes[bytes.size() - 4] << 16) |
                             (static_cast<uint64_t>(bytes[bytes.size() - 3]) << 24);
  ASSERT_TRUE(index.status().offset().has_value());
  EXPECT_EQ(*index.status().offset(), where == Where::kCentral ? cd_offset : 0u);
}

TEST(ZipReaderZip64Test, UncompressedSentinelWithValueThatFits) {
  for (uint64_t v : {uint64_t{0}, uint64_t{5}, uint64_t{0xFFFFFFFE}}) {
    ExpectZip64ExtraBad(BigDeclared(v), Where::kCentral);
  }
}

TEST(ZipReaderZip64Test, CompressedSentinelWithValueThatFits) {
  RawEntry e = Deflated("arc/a.py", SourceText());
  e.cd_compressed32 = kSentinel;
  e.cd_extra = Zip64Extra({e.data.size()});
  ExpectZip64ExtraBad(e, Where::kCentral);
}

TEST(ZipReaderZip64Test, OffsetSentinelWithValueThatFits) {
  RawEntry e = Stored("arc/a", "abc");
  e.cd_offset32 = kSentinel;
  e.cd_extra = Zip64Extra({0});
  ExpectZip64ExtraBad(e, Where::kCentral);
}

TEST(ZipReaderZip64Test, ExtraMustHoldExactlyTheSentinelFields) {
  // Two sentinels (uncompressed and offset) need 16 bytes; 8 or 24 are refused.
  RawEntry e = BigDeclared(0x100000000);
  e.cd_offset32 = kSentinel;
  e.cd_extra = Zip64Extra({0x100000000});
  ExpectZip64ExtraBad(e, Where::kCentral);
  e.cd_extra = Zip64Extra({0x100000000, 0, 0});
  ExpectZip64ExtraBad(e, Where::kCentral);
  // Sentinel without any ZIP64 extra.
  RawEntry none = BigDeclared(0x100000000);
  none.cd_extra.clear();
  ExpectZip64ExtraBad(none, Where::kCentral);
}

TEST(ZipReaderZip64Test, LocalExtraMustMatchTheCentralDirectory) {
  RawEntry e = BigDeclared(0x100000000);
  e.local_extra = Zip64Extra({0x100000001});
  ExpectZip64ExtraBad(e, Where::kLocal);
  RawEntry missing = BigDeclared(0x100000000);
  missing.local_extra.clear();  // sentinel in the local header without a ZIP64 extra
  ExpectZip64ExtraBad(missing, Where::kLocal);
}

TEST(ZipReaderZip64Test, EndRecordCountSentinelWithZip64Record) {
  // 65535 entries: the classic end record holds the 0xFFFF sentinel and the ZIP64 end record
  // the real count. This is the consistent form and must be accepted.
  WriterOptions o;
  o.archive_name = "m";
  auto w = ZipWriter::CreateInMemory(o);
  ASSERT_TRUE(w.ok());
  constexpr int kCount = 0xFFFF;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(w->AddRecord(std::to_string(i), {}).ok());
  }
  ASSERT_TRUE(w->Finish().ok());
  const auto bytes = w->TakeBuffer();
  ASSERT_EQ(bytes[bytes.size() - 22 + 8], 0xFF);  // count on disk: sentinel
  ASSERT_EQ(bytes[bytes.size() - 22 + 9], 0xFF);
  auto index = ParseZip(bytes, ArchiveLimits{});
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(index->entries().size(), static_cast<size_t>(kCount));
  EXPECT_TRUE(index->has_zip64_end());
  EXPECT_NE(index->Find("65534"), nullptr);

  ArchiveLimits limits;
  limits.max_entries = kCount - 1;
  auto over = ParseZip(bytes, limits);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().reason(), reason::kTooManyEntries);
}

}  // namespace
}  // namespace sealpkg::archive
