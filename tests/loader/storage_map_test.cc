// StorageMap: storage ids validated before any byte is handed out; private copy-on-write
// mappings that never write through to the sealed snapshot or to each other.
#include "loader/storage_map.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "archive/errors.h"
#include "archive/zip_writer.h"
#include "core/file_bytes.h"

namespace sealpkg::loader {
namespace {

using archive::Archive;

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(seed + i * 7);
  return out;
}

// A torch.package-shaped archive: two storages (40 and 8 bytes) and a pickle.
std::vector<uint8_t> PackageBytes() {
  auto writer = archive::ZipWriter::CreateInMemory();
  EXPECT_TRUE(writer.ok());
  archive::ZipWriter w = std::move(writer).value();
  const std::string pkl = "\x80\x03N.";
  EXPECT_TRUE(
      w.AddRecord("res/x.pkl", std::span(reinterpret_cast<const uint8_t*>(pkl.data()), pkl.size()))
          .ok());
  EXPECT_TRUE(w.AddRecord(".data/0.storage", Pattern(40, 1)).ok());
  EXPECT_TRUE(w.AddRecord(".data/1.storage", Pattern(8, 100)).ok());
  EXPECT_TRUE(w.AddRecord(".data/extern_modules", std::vector<uint8_t>{'t', '\n'}).ok());
  EXPECT_TRUE(w.Finish().ok());
  return w.TakeBuffer();
}

std::shared_ptr<const Archive> Sealed(const std::vector<uint8_t>& bytes) {
  auto sealed = FileBytes::SealedCopy(bytes);
  EXPECT_TRUE(sealed.ok());
  auto archive = Archive::FromBytes(std::move(sealed).value(), Limits{});
  EXPECT_TRUE(archive.ok()) << archive.status().ToString();
  return std::make_shared<const Archive>(std::move(archive).value());
}

TEST(StorageRecordName, AcceptsDecimalKeys) {
  EXPECT_EQ(StorageRecordName("0").value(), ".data/0.storage");
  EXPECT_EQ(StorageRecordName("123").value(), ".data/123.storage");
  EXPECT_EQ(StorageRecordName("18446744073709551615").value(),
            ".data/18446744073709551615.storage");
}

TEST(StorageRecordName, RejectsPathsAndOddNumbers) {
  for (const char* key : {"", "../0", "0/../1", "/0", "a", "1.storage", "-1", "+1", "01", "00",
                          " 1", "1\n", "123456789012345678901", "1\\2"}) {
    auto r = StorageRecordName(key);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_EQ(r.status().code(), ErrorCode::kMalformed);
    EXPECT_EQ(r.status().reason(), "storage.bad-key") << key;
  }
  // An embedded NUL is not a digit either.
  EXPECT_FALSE(StorageRecordName(std::string_view("1\0", 2)).ok());
}

TEST(StorageElementSize, KnownAndUnknownTypes) {
  EXPECT_EQ(StorageElementSize("torch.FloatStorage").value(), 4u);
  EXPECT_EQ(StorageElementSize("torch.ComplexDoubleStorage").value(), 16u);
  EXPECT_EQ(StorageElementSize("torch.BoolStorage").value(), 1u);
  for (const char* t : {"", "FloatStorage", "torch.Floatstorage", "os.system", "torch.Tensor"}) {
    auto r = StorageElementSize(t);
    ASSERT_FALSE(r.ok()) << t;
    EXPECT_EQ(r.status().reason(), "storage.unknown-type");
  }
}

TEST(PlaceStorage, SizeLimitAtNAndNPlusOne) {
  const auto archive = Sealed(PackageBytes());
  // 40 bytes hold exactly 10 floats.
  auto at = PlaceStorage(archive->index(), "0", "torch.FloatStorage", 10);
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_EQ(at.value().nbytes, 40u);
  EXPECT_EQ(at.value().element_size, 4u);
  EXPECT_TRUE(at.value().mappable);
  auto over = PlaceStorage(archive->index(), "0", "torch.FloatStorage", 11);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().reason(), "storage.too-large");
  // Fewer elements than the record holds is what torch accepts too (views of a prefix).
  EXPECT_TRUE(PlaceStorage(archive->index(), "0", "torch.DoubleStorage", 5).ok());
  EXPECT_FALSE(PlaceStorage(archive->index(), "0", "torch.DoubleStorage", 6).ok());
  EXPECT_TRUE(PlaceStorage(archive->index(), "1", "torch.ByteStorage", 0).ok());
}

TEST(PlaceStorage, NumelThatOverflowsIsRejectedNotWrapped) {
  const auto archive = Sealed(PackageBytes());
  // 2^62 * 4 wraps to 0 in 64 bits; the check divides instead of multiplying.
  auto r = PlaceStorage(archive->index(), "0", "torch.FloatStorage", uint64_t{1} << 62);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "storage.too-large");
  EXPECT_FALSE(PlaceStorage(archive->index(), "0", "torch.ComplexDoubleStorage",
                            std::numeric_limits<uint64_t>::max())
                   .ok());
}

TEST(PlaceStorage, MissingRecord) {
  const auto archive = Sealed(PackageBytes());
  auto r = PlaceStorage(archive->index(), "2", "torch.FloatStorage", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "storage.missing-record");
}

TEST(StorageMap, NeedsASealedSnapshot) {
  const std::vector<uint8_t> bytes = PackageBytes();
  auto archive = Archive::FromBytes(FileBytes::FromVector(bytes), Limits{});
  ASSERT_TRUE(archive.ok());
  auto map = StorageMap::Create(std::make_shared<const Archive>(std::move(archive).value()));
  ASSERT_FALSE(map.ok());
  EXPECT_EQ(map.status().code(), ErrorCode::kIo);
  EXPECT_EQ(map.status().reason(), "io.not-mappable");
}

TEST(StorageMap, LocatesInPlaceAndWritesStayPrivate) {
  const std::vector<uint8_t> bytes = PackageBytes();
  const auto archive = Sealed(bytes);
  auto created = StorageMap::Create(archive);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  StorageMap map = std::move(created).value();
  ASSERT_EQ(map.bytes().size(), bytes.size());

  auto slice = map.Locate("0", "torch.FloatStorage", 10);
  ASSERT_TRUE(slice.ok()) << slice.status().ToString();
  EXPECT_TRUE(slice.value().mapped);
  EXPECT_EQ(slice.value().record, ".data/0.storage");
  EXPECT_EQ(slice.value().offset % kStorageAlignment, 0u);
  uint8_t* data = map.bytes().data() + slice.value().offset;
  EXPECT_EQ(std::vector<uint8_t>(data, data + 40), Pattern(40, 1));

  auto sibling_result = map.Sibling();
  ASSERT_TRUE(sibling_result.ok());
  StorageMap sibling = std::move(sibling_result).value();
  EXPECT_NE(sibling.bytes().data(), map.bytes().data());

  data[0] = 0xEE;  // copy-on-write: only this mapping changes
  const uint8_t* snapshot = archive->bytes().data() + slice.value().offset;
  EXPECT_EQ(snapshot[0], Pattern(1, 1)[0]);
  EXPECT_EQ(sibling.bytes()[slice.value().offset], Pattern(1, 1)[0]);
  auto again = Archive::FromBytes(FileBytes::Borrow(archive->bytes()), Limits{});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value().ReadRecord(".data/0.storage").value(), Pattern(40, 1));

  // The sibling shares the CRC verdicts but not the pages.
  auto in_sibling = sibling.Locate("0", "torch.FloatStorage", 10);
  ASSERT_TRUE(in_sibling.ok());
  EXPECT_EQ(sibling.bytes()[in_sibling.value().offset], Pattern(1, 1)[0]);
}

TEST(StorageMap, CrcMismatchIsReportedBeforeAnythingIsHandedOut) {
  std::vector<uint8_t> bytes = PackageBytes();
  const auto clean = Sealed(bytes);
  const archive::ZipEntry* entry = clean->index().Find(".data/0.storage");
  ASSERT_NE(entry, nullptr);
  bytes[entry->data_offset + 3] ^= 0x40;  // data changed, CRC in the headers not
  const auto corrupt = Sealed(bytes);
  auto created = StorageMap::Create(corrupt);
  ASSERT_TRUE(created.ok());
  StorageMap map = std::move(created).value();
  auto r = map.Locate("0", "torch.FloatStorage", 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), archive::reason::kCrcMismatch);
  // Other records are unaffected.
  EXPECT_TRUE(map.Locate("1", "torch.ByteStorage", 8).ok());
}

TEST(StorageMap, MovedFromMapIsInert) {
  const auto archive = Sealed(PackageBytes());
  auto created = StorageMap::Create(archive);
  ASSERT_TRUE(created.ok());
  StorageMap a = std::move(created).value();
  StorageMap b = std::move(a);
  EXPECT_FALSE(b.bytes().empty());
  EXPECT_FALSE(a.Sibling().ok());  // NOLINT(bugprone-use-after-move): tested on purpose
}

}  // namespace
}  // namespace sealpkg::loader
