#include "archive/torch_records.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "archive/internal/le_writer.h"
#include "archive/zip_writer.h"

namespace sealpkg::archive {
namespace {

using internal::PutBytes;
using internal::PutU16;
using internal::PutU32;

std::vector<uint8_t> Vec(std::string_view s) {
  return {s.begin(), s.end()};
}

struct Rec {
  std::string name;
  std::string data;
};

// An archive as sealpkg's (torch-identical) writer produces it, under "archive/".
Archive Written(const std::vector<Rec>& records) {
  auto w = ZipWriter::CreateInMemory();
  EXPECT_TRUE(w.ok());
  for (const Rec& r : records) {
    const Status s = w->AddRecord(r.name, Vec(r.data));
    EXPECT_TRUE(s.ok()) << r.name << ": " << s.ToString();
  }
  EXPECT_TRUE(w->Finish().ok());
  auto archive = Archive::FromBytes(FileBytes::FromVector(w->TakeBuffer()), Limits{});
  EXPECT_TRUE(archive.ok()) << archive.status().ToString();
  return std::move(archive).value();
}

Result<TorchRecords> ReadWritten(const std::vector<Rec>& records) {
  return ReadTorchRecords(Written(records));
}

// A classic archive without alignment padding; `deflate` selects method 8 per entry.
Archive HandBuilt(const std::vector<Rec>& records, const std::vector<bool>& deflated_entries = {}) {
  std::vector<uint8_t> out, cd;
  for (size_t i = 0; i < records.size(); ++i) {
    const bool deflated = i < deflated_entries.size() && deflated_entries[i];
    const auto raw = Vec(records[i].data);
    std::vector<uint8_t> stored = raw;
    if (deflated) {
      z_stream zs{};
      EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
      stored.resize(deflateBound(&zs, raw.size()) + 16);
      zs.next_in = const_cast<Bytef*>(raw.data());
      zs.avail_in = static_cast<uInt>(raw.size());
      zs.next_out = stored.data();
      zs.avail_out = static_cast<uInt>(stored.size());
      EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
      stored.resize(zs.total_out);
      deflateEnd(&zs);
    }
    const uint32_t crc =
        static_cast<uint32_t>(::crc32(0, raw.data(), static_cast<uInt>(raw.size())));
    const uint16_t method = deflated ? 8 : 0;
    const uint16_t version = deflated ? 20 : 0;
    const uint32_t offset = static_cast<uint32_t>(out.size());
    PutU32(out, 0x04034b50);
    PutU16(out, version);
    PutU16(out, 0);
    PutU16(out, method);
    PutU32(out, 0);  // time, date
    PutU32(out, crc);
    PutU32(out, static_cast<uint32_t>(stored.size()));
    PutU32(out, static_cast<uint32_t>(raw.size()));
    PutU16(out, static_cast<uint16_t>(records[i].name.size()));
    PutU16(out, 0);
    PutBytes(out, records[i].name);
    out.insert(out.end(), stored.begin(), stored.end());

    PutU32(cd, 0x02014b50);
    PutU16(cd, 0);
    PutU16(cd, version);
    PutU16(cd, 0);
    PutU16(cd, method);
    PutU32(cd, 0);
    PutU32(cd, crc);
    PutU32(cd, static_cast<uint32_t>(stored.size()));
    PutU32(cd, static_cast<uint32_t>(raw.size()));
    PutU16(cd, static_cast<uint16_t>(records[i].name.size()));
    PutU32(cd, 0);  // extra, comment lengths
    PutU32(cd, 0);  // disk, internal attributes
    PutU32(cd, 0);  // external attributes
    PutU32(cd, offset);
    PutBytes(cd, records[i].name);
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out.insert(out.end(), cd.begin(), cd.end());
  PutU32(out, 0x06054b50);
  PutU32(out, 0);
  PutU16(out, static_cast<uint16_t>(records.size()));
  PutU16(out, static_cast<uint16_t>(records.size()));
  PutU32(out, static_cast<uint32_t>(cd.size()));
  PutU32(out, cd_offset);
  PutU16(out, 0);
  auto archive = Archive::FromBytes(FileBytes::FromVector(std::move(out)), Limits{});
  EXPECT_TRUE(archive.ok()) << archive.status().ToString();
  return std::move(archive).value();
}

void ExpectRejected(const Result<TorchRecords>& r, std::string_view reason,
                    std::string_view entry) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kMalformed);
  EXPECT_EQ(r.status().reason(), reason) << r.status().ToString();
  EXPECT_EQ(r.status().entry(), entry);
}

TEST(TorchFormatNameTest, Names) {
  EXPECT_EQ(TorchFormatName(TorchFormat::kPackage), "torch.package");
  EXPECT_EQ(TorchFormatName(TorchFormat::kTorchSave), "torch.save");
  EXPECT_EQ(TorchFormatName(TorchFormat::kUnknown), "unknown");
}

TEST(TorchRecordsTest, TorchPackageFormat) {
  auto r = ReadWritten({{".data/0.storage", std::string(16, 'a')},
                        {"model/model.pkl", "pickle"},
                        {"model/__init__.py", ""},
                        {".data/1.storage", std::string(40, 'b')},
                        {".data/extern_modules", "os\ntorch\ntorch._utils\n"},
                        {".data/python_version", "3.11.2"},
                        {".data/version", "6\n"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, TorchFormat::kPackage);
  ASSERT_TRUE(r->version.has_value());
  EXPECT_EQ(*r->version, 6u);
  ASSERT_TRUE(r->python_version.has_value());
  EXPECT_EQ(*r->python_version, "3.11.2");
  ASSERT_TRUE(r->extern_modules.has_value());
  EXPECT_EQ(*r->extern_modules, (std::vector<std::string>{"os", "torch", "torch._utils"}));

  ASSERT_EQ(r->storages.size(), 2u);
  EXPECT_EQ(r->storages[0].record, ".data/0.storage");
  EXPECT_EQ(r->storages[0].key, "0");
  EXPECT_EQ(r->storages[0].size, 16u);
  EXPECT_TRUE(r->storages[0].stored);
  EXPECT_TRUE(r->storages[0].aligned);
  EXPECT_EQ(r->storages[0].data_offset % 64, 0u);
  EXPECT_EQ(r->storages[1].record, ".data/1.storage");
  EXPECT_EQ(r->storages[1].key, "1");
  EXPECT_EQ(r->storages[1].size, 40u);
  EXPECT_TRUE(r->storages[1].aligned);
}

TEST(TorchRecordsTest, StorageOffsetsPointAtTheData) {
  const Archive archive = Written({{".data/7.storage", "0123456789"}, {".data/version", "6\n"}});
  auto r = ReadTorchRecords(archive);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->storages.size(), 1u);
  const StorageRecord& s = r->storages[0];
  EXPECT_EQ(s.key, "7");
  EXPECT_EQ(s.data_offset, archive.index().Find(".data/7.storage")->data_offset);
  const auto bytes = archive.bytes().subspan(s.data_offset, s.size);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "0123456789");
}

TEST(TorchRecordsTest, EmptyExternListIsEmpty) {
  // torch writes "\n" when nothing is externed (it reads back as ['']).
  auto r = ReadWritten({{".data/extern_modules", "\n"}, {".data/version", "6\n"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->extern_modules.has_value());
  EXPECT_TRUE(r->extern_modules->empty());

  auto empty = ReadWritten({{".data/extern_modules", ""}, {".data/version", "6\n"}});
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(empty->extern_modules.has_value());
  EXPECT_TRUE(empty->extern_modules->empty());
}

TEST(TorchRecordsTest, ExternListWithoutFinalNewlineAndBlankLines) {
  auto r = ReadWritten({{".data/extern_modules", "a\n\nb.c"}, {".data/version", "6\n"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->extern_modules, (std::vector<std::string>{"a", "b.c"}));
  auto utf8 = ReadWritten({{".data/extern_modules", "caf\xc3\xa9\n"}, {".data/version", "6\n"}});
  ASSERT_TRUE(utf8.ok()) << utf8.status().ToString();
  EXPECT_EQ(*utf8->extern_modules, std::vector<std::string>{"caf\xc3\xa9"});
}

TEST(TorchRecordsTest, OptionalRecordsAbsent) {
  auto r = ReadWritten({{".data/version", "6\n"}, {"x.py", "pass\n"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->format, TorchFormat::kPackage);
  EXPECT_FALSE(r->python_version.has_value());
  EXPECT_FALSE(r->extern_modules.has_value());
  EXPECT_TRUE(r->storages.empty());
}

TEST(TorchRecordsTest, TorchSaveFormat) {
  auto r = ReadWritten({{"data.pkl", "pickle"},
                        {"data/0", std::string(8, 'x')},
                        {"data/1", std::string(100, 'y')},
                        {"byteorder", "little"},
                        {"version", "3\n"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, TorchFormat::kTorchSave);
  ASSERT_TRUE(r->version.has_value());
  EXPECT_EQ(*r->version, 3u);
  EXPECT_FALSE(r->python_version.has_value());
  EXPECT_FALSE(r->extern_modules.has_value());
  ASSERT_EQ(r->storages.size(), 2u);
  EXPECT_EQ(r->storages[0].record, "data/0");
  EXPECT_EQ(r->storages[0].key, "0");
  EXPECT_EQ(r->storages[0].size, 8u);
  EXPECT_EQ(r->storages[1].record, "data/1");
  EXPECT_EQ(r->storages[1].size, 100u);
  EXPECT_TRUE(r->storages[1].aligned);
}

TEST(TorchRecordsTest, PackageVersionWinsOverTorchSaveVersion) {
  auto r = ReadWritten({{"version", "3\n"}, {".data/version", "6\n"}, {"data/0", "x"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->format, TorchFormat::kPackage);
  EXPECT_EQ(*r->version, 6u);
  EXPECT_TRUE(r->storages.empty());  // "data/<n>" only counts in torch.save archives
}

TEST(TorchRecordsTest, UnknownFormat) {
  auto r = ReadWritten({{"x.txt", "hi"}, {".data/0.storage", "abc"}, {"data/0", "x"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, TorchFormat::kUnknown);
  EXPECT_FALSE(r->version.has_value());
  EXPECT_TRUE(r->storages.empty());
}

TEST(TorchRecordsTest, OnlyDecimalStorageKeysAreStorages) {
  auto r = ReadWritten({{".data/version", "6\n"},
                        {".data/12.storage", "a"},
                        {".data/abc.storage", "b"},
                        {".data/.storage", "c"},
                        {".data/1x.storage", "d"},
                        {".data/x/3.storage", "e"},
                        {".data/4.storage.bak", "f"},
                        {"other/5.storage", "g"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->storages.size(), 1u);
  EXPECT_EQ(r->storages[0].key, "12");

  auto save =
      ReadWritten({{"version", "3\n"}, {"data/7", "a"}, {"data/x", "b"}, {"data/8/9", "c"}});
  ASSERT_TRUE(save.ok());
  ASSERT_EQ(save->storages.size(), 1u);
  EXPECT_EQ(save->storages[0].key, "7");
}

TEST(TorchRecordsTest, UnalignedAndDeflatedStorages) {
  const Archive archive = HandBuilt({{"arc/.data/version", "6\n"},
                                     {"arc/.data/0.storage", "abcdefgh"},
                                     {"arc/.data/000002.storage", "12345678"},
                                     {"arc/.data/1.storage", std::string(300, 'z')}},
                                    {false, false, false, true});
  auto r = ReadTorchRecords(archive);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->storages.size(), 3u);
  const StorageRecord& s0 = r->storages[0];
  EXPECT_TRUE(s0.stored);
  EXPECT_EQ(s0.data_offset, archive.index().Find(".data/0.storage")->data_offset);
  EXPECT_EQ(s0.data_offset, 98u);  // (30 + 17 + 2) + 30 + 19
  EXPECT_FALSE(s0.aligned);
  const StorageRecord& s2 = r->storages[1];
  EXPECT_EQ(s2.key, "000002");
  EXPECT_EQ(s2.data_offset, 160u);  // 106 + 30 + 24: 32-byte but not 64-byte aligned
  EXPECT_FALSE(s2.aligned);
  const StorageRecord& s1 = r->storages[2];
  EXPECT_EQ(s1.key, "1");
  EXPECT_FALSE(s1.stored);
  EXPECT_EQ(s1.size, 300u);  // the uncompressed size
}

TEST(TorchRecordsTest, VersionParsing) {
  const std::vector<std::pair<std::string, uint64_t>> ok = {
      {"6\n", 6}, {"6", 6},     {"06\n", 6},
      {"0\n", 0}, {"10\n", 10}, {"9999999999999999999\n", 9999999999999999999ull}};
  for (const auto& [text, value] : ok) {
    auto r = ReadWritten({{".data/version", text}});
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    EXPECT_EQ(*r->version, value) << text;
  }
}

TEST(TorchRecordsTest, BadVersion) {
  for (const std::string& text : std::vector<std::string>{
           "", "\n", " 6\n", "6 \n", "6\n\n", "-1\n", "+6\n", "6\r\n", "0x6\n", "6.0\n", "six\n",
           "10000000000000000000\n",  // 20 digits (fits uint64_t, but over the 19-digit rule)
           "99999999999999999999\n", std::string("6\0", 2)}) {
    ExpectRejected(ReadWritten({{".data/version", text}}), "torch.bad-version",
                   "archive/.data/version");
  }
  ExpectRejected(ReadWritten({{"version", "x\n"}}), "torch.bad-version", "archive/version");
}

TEST(TorchRecordsTest, ExternListWithOtherLineBreaks) {
  const std::vector<std::string> texts = {
      "a\rz\n",           "a\r\n", "a\x0bz\n", "a\x0cz\n", "a\x1c\n", "a\x1d\n", "a\x1e\n",
      "a\xc2\x85z\n",      // U+0085 NEL
      "a\xe2\x80\xa8z\n",  // U+2028 LINE SEPARATOR
      "a\xe2\x80\xa9z\n",  // U+2029 PARAGRAPH SEPARATOR
  };
  for (const std::string& text : texts) {
    ExpectRejected(ReadWritten({{".data/version", "6\n"}, {".data/extern_modules", text}}),
                   "torch.bad-extern-modules", "archive/.data/extern_modules");
  }
}

TEST(TorchRecordsTest, ExternListWithInvalidUtf8) {
  for (const std::string text : {"a\xff\n", "\xc3\n", "\xed\xa0\x80\n", "\xc0\xaf\n"}) {
    ExpectRejected(ReadWritten({{".data/version", "6\n"}, {".data/extern_modules", text}}),
                   "torch.bad-extern-modules", "archive/.data/extern_modules");
  }
}

TEST(TorchRecordsTest, PythonVersion) {
  const std::string at_limit(64, '3');
  auto r = ReadWritten({{".data/version", "6\n"}, {".data/python_version", at_limit}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->python_version, at_limit);

  for (const std::string& text :
       {std::string(65, '3'), std::string("3.11\n"), std::string("3.11\x1b[2J"),
        std::string("3.11\xff"), std::string("3.\xe2\x80\xaeZ"), std::string("3\0", 2)}) {
    ExpectRejected(ReadWritten({{".data/version", "6\n"}, {".data/python_version", text}}),
                   "torch.bad-python-version", "archive/.data/python_version");
  }
}

TEST(TorchRecordsTest, ReadErrorsPropagate) {
  auto w = ZipWriter::CreateInMemory();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->AddRecord(".data/version", Vec("6\n")).ok());
  ASSERT_TRUE(w->Finish().ok());
  auto bytes = w->TakeBuffer();
  auto clean = Archive::FromBytes(FileBytes::FromVector(bytes), Limits{});
  ASSERT_TRUE(clean.ok());
  bytes[clean->index().entries()[0].data_offset] = '7';  // CRC no longer matches
  auto archive = Archive::FromBytes(FileBytes::FromVector(bytes), Limits{});
  ASSERT_TRUE(archive.ok());
  auto r = ReadTorchRecords(*archive);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "zip.crc-mismatch");
}

}  // namespace
}  // namespace sealpkg::archive
