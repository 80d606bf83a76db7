#include "archive/zip_writer.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "archive/errors.h"
#include "archive/zip_reader.h"
#include "core/byte_reader.h"

namespace sealpkg::archive {
namespace {

namespace fs = std::filesystem;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<uint8_t> FromHex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// torch 1.13's PyTorchStreamWriter output for
//   w = torch._C.PyTorchFileWriter("/tmp/tw/my_pkg.v1.pt")
//   w.write_record("a.txt", b"hello", 5); w.write_record("empty", b"", 0)
//   w.write_record("d/x.bin", bytes(range(200)), 200); w.write_end_of_file()
// (write_end_of_file adds "version" = "3\n").
constexpr std::string_view kTorchArchiveHex =
    "504b0304000008080000000000000000000000000000000000000f0013006d795f706b672e76312f612e7478744642"
    "0f"
    "005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a68656c6c6f504b070886a610360500000005000000504b0304000000080000"
    "00"
    "0000000000000000000000000000000f003e006d795f706b672e76312f656d70747946423a005a5a5a5a5a5a5a5a5a"
    "5a"
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
    "5a"
    "504b030400000808000000000000000000000000000000000000110011006d795f706b672e76312f642f782e62696e"
    "46"
    "420d005a5a5a5a5a5a5a5a5a5a5a5a5a000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
    "1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e"
    "4f"
    "505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e"
    "7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadae"
    "af"
    "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7504b0708806108edc8000000c8000000504b0304000008"
    "08"
    "000000000000000000000000000000000000110039006d795f706b672e76312f76657273696f6e464235005a5a5a5a"
    "5a"
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
    "5a"
    "330a504b0708d19e67550200000002000000504b010200000000080800000000000086a6103605000000050000000f"
    "00"
    "000000000000000000000000000000006d795f706b672e76312f612e747874504b0102000000000008000000000000"
    "00"
    "00000000000000000000000f00000000000000000000000000550000006d795f706b672e76312f656d707479504b01"
    "02"
    "000000000808000000000000806108edc8000000c80000001100000000000000000000000000c00000006d795f706b"
    "67"
    "2e76312f642f782e62696e504b0102000000000808000000000000d19e675502000000020000001100000000000000"
    "00"
    "0000000000d80100006d795f706b672e76312f76657273696f6e504b06062c000000000000001e032d000000000000"
    "00"
    "000004000000000000000400000000000000f8000000000000005202000000000000504b0607000000004a03000000"
    "00"
    "000001000000504b05060000000004000400f8000000520200000000";

std::vector<uint8_t> Iota(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i);
  return v;
}

WriterOptions Named(std::string name) {
  WriterOptions o;
  o.archive_name = std::move(name);
  return o;
}

ZipWriter MustCreate(WriterOptions options = {}) {
  auto w = ZipWriter::CreateInMemory(std::move(options));
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return std::move(w).value();
}

std::vector<uint8_t> MustFinish(ZipWriter& w) {
  const Status s = w.Finish();
  EXPECT_TRUE(s.ok()) << s.ToString();
  return w.TakeBuffer();
}

Result<ZipIndex> Parse(const std::vector<uint8_t>& bytes) {
  return ParseZip(bytes, ArchiveLimits{});
}

uint16_t U16At(const std::vector<uint8_t>& b, uint64_t at) {
  ByteReader r(b);
  r.Seek(at);
  const uint16_t v = r.U16();
  EXPECT_TRUE(r.ok());
  return v;
}
uint32_t U32At(const std::vector<uint8_t>& b, uint64_t at) {
  ByteReader r(b);
  r.Seek(at);
  const uint32_t v = r.U32();
  EXPECT_TRUE(r.ok());
  return v;
}
uint64_t U64At(const std::vector<uint8_t>& b, uint64_t at) {
  ByteReader r(b);
  r.Seek(at);
  const uint64_t v = r.U64();
  EXPECT_TRUE(r.ok());
  return v;
}

// ---- ArchiveNameForPath ----

TEST(ArchiveNameForPathTest, TorchBasenameRule) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"dir/my_pkg.v1.pt", "my_pkg.v1"},
      {"a\\b.pt", "b"},
      {"model", "model"},
      {"model.pt", "model"},
      {"/abs/path/to/x.zip", "x"},
      {"dir.d/file", "file"},  // dots in folders do not count
      {".hidden.pt", ".hidden"},
      {"a.b.c", "a.b"},
      {"c:\\models\\net.pt", "net"},
      {"mixed/sep\\name.x", "name"},
  };
  for (const auto& [path, name] : cases) {
    auto r = ArchiveNameForPath(path);
    ASSERT_TRUE(r.ok()) << path << ": " << r.status().ToString();
    EXPECT_EQ(*r, name) << path;
  }
}

TEST(ArchiveNameForPathTest, EmptyBaseNameIsAnError) {
  for (const std::string path : {".pt", "dir/.pt", "", "dir/", "dir\\", "x/.", "dir.d/"}) {
    auto r = ArchiveNameForPath(path);
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.status().code(), ErrorCode::kMalformed) << path;
    EXPECT_EQ(r.status().reason(), reason::kBadArchiveName) << path;
  }
}

// ---- Bytes identical to torch ----

TEST(ZipWriterTest, BytesIdenticalToTorch) {
  auto w = MustCreate(Named("my_pkg.v1"));
  ASSERT_TRUE(w.AddRecord("a.txt", Bytes("hello")).ok());
  ASSERT_TRUE(w.AddRecord("empty", {}).ok());
  ASSERT_TRUE(w.AddRecord("d/x.bin", Iota(200)).ok());
  ASSERT_TRUE(w.AddRecord("version", Bytes("3\n")).ok());
  const auto bytes = MustFinish(w);
  const auto expected = FromHex(kTorchArchiveHex);
  ASSERT_EQ(expected.size(), 940u);
  EXPECT_EQ(bytes, expected);
}

// ---- Layout ----

TEST(ZipWriterTest, EveryRecordIsAlignedTo64Bytes) {
  auto w = MustCreate(Named("pkg"));
  for (int i = 0; i < 70; ++i) {
    const std::string name = std::string(static_cast<size_t>(i) + 1, 'n') + std::to_string(i);
    ASSERT_TRUE(w.AddRecord(name, Iota(static_cast<size_t>(i) * 7)).ok());
  }
  const auto bytes = MustFinish(w);
  auto index = Parse(bytes);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  ASSERT_EQ(index->entries().size(), 70u);
  for (const ZipEntry& e : index->entries()) {
    EXPECT_EQ(e.data_offset % 64, 0u) << e.name;
    // The gap between name and data is exactly one 'FB' extra full of 'Z'.
    const uint64_t extra_at = e.header_offset + 30 + e.name.size();
    EXPECT_EQ(U16At(bytes, e.header_offset + 28), e.data_offset - extra_at);
    EXPECT_EQ(U16At(bytes, extra_at), 0x4246);
    EXPECT_EQ(U16At(bytes, extra_at + 2), e.data_offset - extra_at - 4);
    for (uint64_t p = extra_at + 4; p < e.data_offset; ++p) EXPECT_EQ(bytes[p], 'Z');
  }
}

TEST(ZipWriterTest, Deterministic) {
  const auto build = [] {
    auto w = MustCreate(Named("det"));
    EXPECT_TRUE(w.AddRecord(".data/version", Bytes("6\n")).ok());
    EXPECT_TRUE(w.AddRecord("x/y.py", Bytes("print(1)\n")).ok());
    EXPECT_TRUE(w.AddRecord("z", Iota(5000)).ok());
    return MustFinish(w);
  };
  const auto a = build();
  const auto b = build();
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

TEST(ZipWriterTest, LocalHeaderDescriptorAndCentralLayout) {
  auto w = MustCreate(Named("lay"));
  const auto data = Iota(100);
  ASSERT_TRUE(w.AddRecord("full", data).ok());
  ASSERT_TRUE(w.AddRecord("empty", {}).ok());
  const auto bytes = MustFinish(w);
  auto index = Parse(bytes);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  ASSERT_EQ(index->entries().size(), 2u);
  const ZipEntry& full = index->entries()[0];
  const ZipEntry& empty = index->entries()[1];
  const uint32_t crc = Crc32(data);

  // Non-empty record: flags 0x0808, zero CRC and sizes in the local header, descriptor after.
  EXPECT_EQ(full.header_offset, 0u);
  EXPECT_EQ(U32At(bytes, 0), 0x04034b50u);
  EXPECT_EQ(U16At(bytes, 4), 0u);       // version needed
  EXPECT_EQ(U16At(bytes, 6), 0x0808u);  // flags
  EXPECT_EQ(U16At(bytes, 8), 0u);       // STORED
  EXPECT_EQ(U16At(bytes, 10), 0u);      // DOS time
  EXPECT_EQ(U16At(bytes, 12), 0u);      // DOS date
  EXPECT_EQ(U32At(bytes, 14), 0u);
  EXPECT_EQ(U32At(bytes, 18), 0u);
  EXPECT_EQ(U32At(bytes, 22), 0u);
  EXPECT_EQ(full.flags, 0x0808u);
  EXPECT_EQ(full.crc32, crc);
  const uint64_t desc = full.data_offset + data.size();
  EXPECT_EQ(U32At(bytes, desc), 0x08074b50u);
  EXPECT_EQ(U32At(bytes, desc + 4), crc);
  EXPECT_EQ(U32At(bytes, desc + 8), 100u);
  EXPECT_EQ(U32At(bytes, desc + 12), 100u);
  EXPECT_EQ(full.end_offset, desc + 16);

  // Empty record: flags 0x0800, real (zero) CRC and sizes, no descriptor.
  EXPECT_EQ(empty.header_offset, full.end_offset);
  EXPECT_EQ(U16At(bytes, empty.header_offset + 6), 0x0800u);
  EXPECT_EQ(U32At(bytes, empty.header_offset + 14), 0u);
  EXPECT_EQ(empty.flags, 0x0800u);
  EXPECT_EQ(empty.end_offset, empty.data_offset);
  EXPECT_EQ(empty.end_offset, index->central_directory_offset());

  // Central records: version 0/0, no extra, no attributes.
  const uint64_t cd = index->central_directory_offset();
  EXPECT_EQ(U32At(bytes, cd), 0x02014b50u);
  EXPECT_EQ(U16At(bytes, cd + 4), 0u);
  EXPECT_EQ(U16At(bytes, cd + 6), 0u);
  EXPECT_EQ(U16At(bytes, cd + 8), 0x0808u);
  EXPECT_EQ(U32At(bytes, cd + 16), crc);
  EXPECT_EQ(U32At(bytes, cd + 20), 100u);
  EXPECT_EQ(U32At(bytes, cd + 24), 100u);
  EXPECT_EQ(U16At(bytes, cd + 28), std::string("lay/full").size());
  EXPECT_EQ(U16At(bytes, cd + 30), 0u);  // extra
  EXPECT_EQ(U16At(bytes, cd + 32), 0u);  // comment
  EXPECT_EQ(U32At(bytes, cd + 38), 0u);  // external attributes
  EXPECT_EQ(U32At(bytes, cd + 42), 0u);  // offset

  // ZIP64 end record, locator and classic end record, in that order, to the end.
  ASSERT_TRUE(index->has_zip64_end());
  const uint64_t rec = cd + index->central_directory_size();
  EXPECT_EQ(bytes.size(), rec + 56 + 20 + 22);
  EXPECT_EQ(U32At(bytes, rec), 0x06064b50u);
  EXPECT_EQ(U64At(bytes, rec + 4), 44u);
  EXPECT_EQ(U16At(bytes, rec + 12), 0x031eu);
  EXPECT_EQ(U16At(bytes, rec + 14), 45u);
  EXPECT_EQ(U64At(bytes, rec + 24), 2u);
  EXPECT_EQ(U64At(bytes, rec + 32), 2u);
  EXPECT_EQ(U64At(bytes, rec + 40), index->central_directory_size());
  EXPECT_EQ(U64At(bytes, rec + 48), cd);
  const uint64_t loc = rec + 56;
  EXPECT_EQ(U32At(bytes, loc), 0x07064b50u);
  EXPECT_EQ(U32At(bytes, loc + 4), 0u);
  EXPECT_EQ(U64At(bytes, loc + 8), rec);
  EXPECT_EQ(U32At(bytes, loc + 16), 1u);
  const uint64_t eocd = loc + 20;
  EXPECT_EQ(U32At(bytes, eocd), 0x06054b50u);
  EXPECT_EQ(U16At(bytes, eocd + 8), 2u);
  EXPECT_EQ(U16At(bytes, eocd + 10), 2u);
  EXPECT_EQ(U32At(bytes, eocd + 12), index->central_directory_size());
  EXPECT_EQ(U32At(bytes, eocd + 16), cd);
  EXPECT_EQ(U16At(bytes, eocd + 20), 0u);
}

TEST(ZipWriterTest, NonAsciiNamesRoundTrip) {
  auto w = MustCreate();
  const std::string name = "res/caf\xc3\xa9/\xe6\x97\xa5.txt";
  ASSERT_TRUE(w.AddRecord(name, Bytes("x")).ok());
  const auto bytes = MustFinish(w);
  auto index = Parse(bytes);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  ASSERT_NE(index->Find(name), nullptr);
  EXPECT_EQ(index->Find(name)->flags & 0x0800, 0x0800);
}

TEST(ZipWriterTest, DefaultMemoryArchiveNameIsArchive) {
  auto w = MustCreate();
  EXPECT_EQ(w.archive_name(), "archive");
  ASSERT_TRUE(w.AddRecord("x", Bytes("1")).ok());
  const auto bytes = MustFinish(w);
  auto index = Parse(bytes);
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->prefix(), "archive");
  EXPECT_EQ(index->entries()[0].name, "archive/x");
}

TEST(ZipWriterTest, RecordsAndHasRecord) {
  auto w = MustCreate(Named("p"));
  ASSERT_TRUE(w.AddRecord("b", Bytes("1")).ok());
  ASSERT_TRUE(w.AddRecord("a/c", Bytes("2")).ok());
  EXPECT_EQ(w.Records(), (std::vector<std::string>{"b", "a/c"}));
  EXPECT_TRUE(w.HasRecord("b"));
  EXPECT_TRUE(w.HasRecord("a/c"));
  EXPECT_FALSE(w.HasRecord("a"));  // a folder is not a record
  EXPECT_FALSE(w.HasRecord("B"));
  EXPECT_FALSE(w.HasRecord("p/b"));
}

TEST(ZipWriterTest, RecordOrderIsPreserved) {
  auto w = MustCreate();
  const std::vector<std::string> names = {"z", "a", "m/1", ".data/version", "b"};
  for (const auto& n : names) ASSERT_TRUE(w.AddRecord(n, Bytes(n)).ok());
  const auto bytes = MustFinish(w);
  auto index = Parse(bytes);
  ASSERT_TRUE(index.ok());
  ASSERT_EQ(index->entries().size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(index->entries()[i].record(), names[i]);
}

// ---- Name rules ----

TEST(ZipWriterTest, DuplicateName) {
  auto w = MustCreate();
  ASSERT_TRUE(w.AddRecord("a/b.txt", Bytes("1")).ok());
  const Status s = w.AddRecord("a/b.txt", Bytes("2"));
  EXPECT_EQ(s.code(), ErrorCode::kMalformed);
  EXPECT_EQ(s.reason(), reason::kDuplicateName);
  EXPECT_EQ(s.entry(), "archive/a/b.txt");
}

TEST(ZipWriterTest, CaseOnlyDuplicate) {
  auto w = MustCreate();
  ASSERT_TRUE(w.AddRecord("a/b.txt", Bytes("1")).ok());
  for (const std::string n : {"A/b.txt", "a/B.txt", "A/B.TXT"}) {
    const Status s = w.AddRecord(n, Bytes("2"));
    EXPECT_EQ(s.code(), ErrorCode::kMalformed) << n;
    EXPECT_EQ(s.reason(), reason::kCaseCollision) << n;
  }
}

TEST(ZipWriterTest, FileFolderConflicts) {
  {
    auto w = MustCreate();
    ASSERT_TRUE(w.AddRecord("a", Bytes("1")).ok());
    const Status s = w.AddRecord("a/b", Bytes("2"));  // parent is already a file
    EXPECT_EQ(s.code(), ErrorCode::kMalformed);
    EXPECT_EQ(s.reason(), reason::kFileDirConflict);
    EXPECT_EQ(w.AddRecord("a/b/c", Bytes("2")).reason(), reason::kFileDirConflict);
  }
  {
    auto w = MustCreate();
    ASSERT_TRUE(w.AddRecord("a/b/c", Bytes("1")).ok());
    EXPECT_EQ(w.AddRecord("a/b", Bytes("2")).reason(), reason::kFileDirConflict);
    EXPECT_EQ(w.AddRecord("a", Bytes("2")).reason(), reason::kFileDirConflict);
  }
  {
    // Case-insensitively too, both ways.
    auto w = MustCreate();
    ASSERT_TRUE(w.AddRecord("A/x", Bytes("1")).ok());
    EXPECT_EQ(w.AddRecord("a", Bytes("2")).reason(), reason::kFileDirConflict);
    ASSERT_TRUE(w.AddRecord("F", Bytes("1")).ok());
    EXPECT_EQ(w.AddRecord("f/y", Bytes("2")).reason(), reason::kFileDirConflict);
  }
  {
    // A shared prefix that is not a whole segment is no conflict.
    auto w = MustCreate();
    ASSERT_TRUE(w.AddRecord("ab", Bytes("1")).ok());
    EXPECT_TRUE(w.AddRecord("a/b", Bytes("2")).ok());
    EXPECT_TRUE(w.AddRecord("abc/d", Bytes("3")).ok());
    const auto bytes = MustFinish(w);
    EXPECT_TRUE(Parse(bytes).ok());
  }
}

TEST(ZipWriterTest, RejectedRecordLeavesTheWriterUsable) {
  auto w = MustCreate();
  ASSERT_TRUE(w.AddRecord("a", Bytes("1")).ok());
  EXPECT_FALSE(w.AddRecord("a", Bytes("2")).ok());
  EXPECT_FALSE(w.AddRecord("../x", Bytes("2")).ok());
  ASSERT_TRUE(w.AddRecord("b", Bytes("3")).ok());
  EXPECT_EQ(w.Records(), (std::vector<std::string>{"a", "b"}));
  const auto bytes = MustFinish(w);
  Limits limits;
  auto archive = Archive::FromBytes(FileBytes::FromVector(bytes), limits);
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  ASSERT_EQ(archive->index().entries().size(), 2u);
  auto a = archive->ReadRecord("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, std::vector<uint8_t>{'1'});
}

TEST(ZipWriterTest, BadNamesUseTheReadersReasons) {
  const std::vector<std::pair<std::string, std::string_view>> cases = {
      {"../x", reason::kNameDotSegment},
      {"a/./b", reason::kNameDotSegment},
      {"..", reason::kNameDotSegment},
      {"/x", reason::kNameEmptySegment},  // "archive//x"
      {"", reason::kNameEmptySegment},    // "archive/"
      {"x/", reason::kNameEmptySegment},
      {"a//b", reason::kNameEmptySegment},
      {"a\\b", reason::kNameBackslash},
      {"c:x", reason::kNameForbiddenChar},
      {std::string("a\0b", 3), reason::kNameControlChar},
      {"a\nb", reason::kNameControlChar},
      {"\x7f", reason::kNameControlChar},
      {"\xff", reason::kNameNotUtf8},
      {"\xed\xa0\x80", reason::kNameNotUtf8},
  };
  for (const auto& [record, why] : cases) {
    auto w = MustCreate();
    const Status s = w.AddRecord(record, Bytes("x"));
    EXPECT_EQ(s.code(), ErrorCode::kMalformed) << record;
    EXPECT_EQ(s.reason(), why) << record;
    EXPECT_TRUE(w.Records().empty());
  }
}

TEST(ZipWriterTest, BadArchiveNames) {
  for (const auto& [name, why] : std::vector<std::pair<std::string, std::string_view>>{
           {".", reason::kNameDotSegment},
           {"..", reason::kNameDotSegment},
           {"a\\b", reason::kNameBackslash},
           {"a:b", reason::kNameForbiddenChar},
           {"\xff", reason::kNameNotUtf8},
           {"/abs", reason::kNameAbsolute},
       }) {
    auto w = ZipWriter::CreateInMemory(Named(name));
    ASSERT_FALSE(w.ok()) << name;
    EXPECT_EQ(w.status().reason(), why) << name;
  }
}

// An archive name with '/' would put every record one folder deeper than the reader's
// top-level folder: the writer's Records() and the reader's record names would disagree.
TEST(ZipWriterTest, ArchiveNameWithSlashIsRefused) {
  auto w = ZipWriter::CreateInMemory(Named("a/b"));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), ErrorCode::kMalformed);
  EXPECT_EQ(w.status().reason(), reason::kBadArchiveName);
}

// ---- Limits ----

TEST(ZipWriterTest, MaxEntriesAtNAndNPlusOne) {
  WriterOptions o;
  o.limits.max_entries = 3;
  auto w = MustCreate(o);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(w.AddRecord("r" + std::to_string(i), Bytes("x")).ok());
  const Status s = w.AddRecord("r3", Bytes("x"));
  EXPECT_EQ(s.code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(s.reason(), reason::kTooManyEntries);
  const auto bytes = MustFinish(w);
  ArchiveLimits limits;
  limits.max_entries = 3;
  EXPECT_TRUE(ParseZip(bytes, limits).ok());
}

TEST(ZipWriterTest, MaxEntryBytesAtNAndNPlusOne) {
  WriterOptions o;
  o.limits.max_entry_uncompressed_bytes = 10;
  auto w = MustCreate(o);
  EXPECT_TRUE(w.AddRecord("ten", Iota(10)).ok());
  const Status s = w.AddRecord("eleven", Iota(11));
  EXPECT_EQ(s.code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(s.reason(), reason::kEntryTooLarge);
  EXPECT_EQ(s.entry(), "archive/eleven");
  EXPECT_EQ(w.Records(), std::vector<std::string>{"ten"});
}

TEST(ZipWriterTest, MaxNameBytesAtNAndNPlusOne) {
  WriterOptions o;
  o.archive_name = "p";
  o.limits.max_name_bytes = 8;  // counts the full name, "p/" included
  auto w = MustCreate(o);
  EXPECT_TRUE(w.AddRecord("123456", Bytes("x")).ok());
  const Status s = w.AddRecord("1234567", Bytes("x"));
  EXPECT_EQ(s.code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(s.reason(), reason::kNameTooLong);
}

// ---- State machine ----

TEST(ZipWriterTest, FinishWithZeroRecordsFails) {
  auto w = MustCreate();
  const Status s = w.Finish();
  EXPECT_EQ(s.code(), ErrorCode::kMalformed);
  EXPECT_EQ(s.reason(), reason::kNoEntries);
  EXPECT_TRUE(w.TakeBuffer().empty());
  // The writer is spent.
  EXPECT_EQ(w.AddRecord("x", Bytes("1")).reason(), reason::kWriterState);
}

TEST(ZipWriterTest, AddRecordAfterFinish) {
  auto w = MustCreate();
  ASSERT_TRUE(w.AddRecord("x", Bytes("1")).ok());
  ASSERT_TRUE(w.Finish().ok());
  const Status s = w.AddRecord("y", Bytes("2"));
  EXPECT_EQ(s.code(), ErrorCode::kInternal);
  EXPECT_EQ(s.reason(), reason::kWriterState);
  const Status again = w.Finish();
  EXPECT_EQ(again.code(), ErrorCode::kInternal);
  EXPECT_EQ(again.reason(), reason::kWriterState);
}

TEST(ZipWriterTest, TakeBufferOnlyAfterFinish) {
  auto w = MustCreate();
  ASSERT_TRUE(w.AddRecord("x", Bytes("1")).ok());
  EXPECT_TRUE(w.TakeBuffer().empty());
  ASSERT_TRUE(w.Finish().ok());
  const auto bytes = w.TakeBuffer();
  EXPECT_FALSE(bytes.empty());
  EXPECT_TRUE(Parse(bytes).ok());
}

TEST(ZipWriterTest, AbortedMemoryWriterRefusesMore) {
  auto w = MustCreate();
  ASSERT_TRUE(w.AddRecord("x", Bytes("1")).ok());
  w.Abort();
  EXPECT_EQ(w.AddRecord("y", Bytes("1")).reason(), reason::kWriterState);
  EXPECT_EQ(w.Finish().reason(), reason::kWriterState);
  EXPECT_TRUE(w.TakeBuffer().empty());
}

// ---- File targets ----

class ZipWriterFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/zip_writer_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::vector<std::string> Listing() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }

  static std::vector<uint8_t> ReadAll(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  }

  std::string dir_;
};

TEST_F(ZipWriterFileTest, TempFileDuringWritingThenAtomicRename) {
  const std::string target = dir_ + "/out.pt";
  auto created = ZipWriter::CreateFile(target);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ZipWriter w = std::move(created).value();
  EXPECT_EQ(w.archive_name(), "out");
  ASSERT_TRUE(w.AddRecord("a.txt", Bytes("hello")).ok());
  ASSERT_TRUE(w.AddRecord("big", Iota(3 << 20)).ok());  // bypasses the buffer

  EXPECT_FALSE(fs::exists(target));
  auto names = Listing();
  ASSERT_EQ(names.size(), 1u);
  const std::string prefix = ".out.pt.sealpkg-tmp-";
  EXPECT_EQ(names[0].substr(0, prefix.size()), prefix) << names[0];
  EXPECT_EQ(names[0].size(), prefix.size() + 6);

  const mode_t old_mask = ::umask(027);
  const Status finished = w.Finish();
  ::umask(old_mask);
  ASSERT_TRUE(finished.ok()) << finished.ToString();

  EXPECT_EQ(Listing(), std::vector<std::string>{"out.pt"});
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_TRUE(w.TakeBuffer().empty());

  // Same bytes as the in-memory writer.
  auto m = MustCreate(Named("out"));
  ASSERT_TRUE(m.AddRecord("a.txt", Bytes("hello")).ok());
  ASSERT_TRUE(m.AddRecord("big", Iota(3 << 20)).ok());
  EXPECT_EQ(ReadAll(target), MustFinish(m));

  Limits limits;
  auto archive = Archive::Open(target, limits);
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  EXPECT_EQ(archive->index().prefix(), "out");
}

TEST_F(ZipWriterFileTest, PermissionsFollowTheUmask) {
  for (const mode_t mask : {mode_t{022}, mode_t{077}, mode_t{0}}) {
    const std::string target = dir_ + "/perm" + std::to_string(mask) + ".pt";
    auto w = ZipWriter::CreateFile(target);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->AddRecord("x", Bytes("1")).ok());
    const mode_t old_mask = ::umask(mask);
    const Status s = w->Finish();
    ::umask(old_mask);
    ASSERT_TRUE(s.ok()) << s.ToString();
    struct stat st {};
    ASSERT_EQ(::stat(target.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0666u & ~mask) << std::oct << mask;
  }
}

TEST_F(ZipWriterFileTest, ReplacesAnExistingTarget) {
  const std::string target = dir_ + "/t.pt";
  { std::ofstream(target) << "old"; }
  auto w = ZipWriter::CreateFile(target);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->AddRecord("x", Bytes("1")).ok());
  EXPECT_EQ(ReadAll(target), (std::vector<uint8_t>{'o', 'l', 'd'}));  // untouched until Finish
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_TRUE(Parse(ReadAll(target)).ok());
  EXPECT_EQ(Listing(), std::vector<std::string>{"t.pt"});
}

TEST_F(ZipWriterFileTest, DestroyingAnUnfinishedWriterLeavesNothing) {
  const std::string target = dir_ + "/gone.pt";
  {
    auto w = ZipWriter::CreateFile(target);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->AddRecord("x", Iota(100)).ok());
    EXPECT_EQ(Listing().size(), 1u);
  }
  EXPECT_TRUE(Listing().empty());
}

TEST_F(ZipWriterFileTest, AbortLeavesNothing) {
  const std::string target = dir_ + "/gone.pt";
  auto w = ZipWriter::CreateFile(target);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->AddRecord("x", Iota(100)).ok());
  w->Abort();
  EXPECT_TRUE(Listing().empty());
  EXPECT_EQ(w->Finish().reason(), reason::kWriterState);
  EXPECT_TRUE(Listing().empty());
  w->Abort();  // idempotent
}

TEST_F(ZipWriterFileTest, FailedFinishLeavesNothing) {
  auto w = ZipWriter::CreateFile(dir_ + "/none.pt");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->Finish().reason(), reason::kNoEntries);
  EXPECT_TRUE(Listing().empty());
}

TEST_F(ZipWriterFileTest, MoveAssignmentAbortsTheOverwrittenWriter) {
  auto a = ZipWriter::CreateFile(dir_ + "/a.pt");
  auto b = ZipWriter::CreateFile(dir_ + "/b.pt");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  ZipWriter wa = std::move(a).value();
  ZipWriter wb = std::move(b).value();
  ASSERT_TRUE(wa.AddRecord("x", Bytes("1")).ok());
  ASSERT_TRUE(wb.AddRecord("y", Bytes("2")).ok());
  EXPECT_EQ(Listing().size(), 2u);
  wa = std::move(wb);  // a's temporary file goes away
  const auto names = Listing();
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].rfind(".b.pt.sealpkg-tmp-", 0), 0u) << names[0];
  ASSERT_TRUE(wa.Finish().ok());
  EXPECT_EQ(Listing(), std::vector<std::string>{"b.pt"});
  EXPECT_EQ(wa.archive_name(), "b");
}

TEST_F(ZipWriterFileTest, MissingFolderIsAnIoError) {
  auto w = ZipWriter::CreateFile(dir_ + "/no/such/dir/x.pt");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), ErrorCode::kIo);
  EXPECT_EQ(w.status().reason(), "io.create");
}

TEST_F(ZipWriterFileTest, BadTargetNames) {
  auto w = ZipWriter::CreateFile(dir_ + "/.pt");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().reason(), reason::kBadArchiveName);
  auto dots = ZipWriter::CreateFile(dir_ + "/...pt");  // archive name ".."
  ASSERT_FALSE(dots.ok());
  EXPECT_EQ(dots.status().reason(), reason::kNameDotSegment);
  EXPECT_TRUE(Listing().empty());
}

TEST_F(ZipWriterFileTest, ExplicitArchiveNameOverridesThePath) {
  const std::string target = dir_ + "/file.pt";
  auto w = ZipWriter::CreateFile(target, Named("custom"));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->archive_name(), "custom");
  ASSERT_TRUE(w->AddRecord("x", Bytes("1")).ok());
  ASSERT_TRUE(w->Finish().ok());
  auto index = Parse(ReadAll(target));
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->prefix(), "custom");
}

TEST_F(ZipWriterFileTest, LongTargetNameKeepsTheTempNameShort) {
  const std::string base = std::string(250, 'L') + ".pt";  // 253 bytes, within NAME_MAX
  const std::string target = dir_ + "/" + base;
  auto w = ZipWriter::CreateFile(target);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(w->AddRecord("x", Bytes("1")).ok());
  for (const auto& n : Listing()) EXPECT_LE(n.size(), 255u);
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(Listing(), std::vector<std::string>{base});
}

TEST_F(ZipWriterFileTest, ManySmallRecordsCrossTheFlushThreshold) {
  const std::string target = dir_ + "/many.pt";
  auto w = ZipWriter::CreateFile(target, Named("many"));
  auto m = MustCreate(Named("many"));
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 300; ++i) {
    const auto data = Iota(static_cast<size_t>(20000 + i));
    ASSERT_TRUE(w->AddRecord("r" + std::to_string(i), data).ok());
    ASSERT_TRUE(m.AddRecord("r" + std::to_string(i), data).ok());
  }
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadAll(target), MustFinish(m));
}

TEST(ZipWriterTest, MovedFromWriterFailsCleanly) {
  auto w = MustCreate(Named("moved"));
  ZipWriter other = std::move(w);
  // NOLINTBEGIN(bugprone-use-after-move): the moved-from object must fail, not crash.
  EXPECT_EQ(w.archive_name(), "");
  EXPECT_FALSE(w.HasRecord("a"));
  EXPECT_TRUE(w.Records().empty());
  EXPECT_EQ(w.AddRecord("a", Bytes("x")).code(), ErrorCode::kInternal);
  EXPECT_EQ(w.Finish().code(), ErrorCode::kInternal);
  // NOLINTEND(bugprone-use-after-move)
  ASSERT_TRUE(other.AddRecord("a", Bytes("x")).ok());
  ASSERT_TRUE(other.Finish().ok());
}

}  // namespace
}  // namespace sealpkg::archive
