// The golden table of hostile and broken archives (tests/data/malformed/archive/cases.tsv,
// written by generate.py there). Each row names a .zip file, the ErrorCode and reason the strict
// reader must return for it ("ok" for archives it must accept), and ArchiveLimits overrides.
// Every row is its own ctest entry, named after the file.
#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "archive/errors.h"
#include "archive/zip_reader.h"
#include "archive/zip_writer.h"
#include "core/file_bytes.h"
#include "core/limits.h"
#include "core/status.h"

namespace sealpkg::archive {
namespace {

namespace fs = std::filesystem;

fs::path GoldenDir() {
  return fs::path(SEALPKG_SOURCE_DIR) / "tests" / "data" / "malformed" / "archive";
}

struct Case {
  std::string file;
  std::string code;
  std::string reason;
  std::string limits;
  std::string description;
  int line = 0;
};

std::vector<std::string> Split(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(sep, start);
    out.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

struct Table {
  std::vector<Case> cases;
  std::vector<std::string> errors;  // rows that could not be read
};

Table LoadTable() {
  Table table;
  std::ifstream in(GoldenDir() / "cases.tsv");
  if (!in) {
    table.errors.push_back("cannot open " + (GoldenDir() / "cases.tsv").string());
    return table;
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (number == 1) {
      if (line != "file\tcode\treason\tlimits\tdescription") {
        table.errors.push_back("unexpected header: " + line);
      }
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string> fields = Split(line, '\t');
    if (fields.size() != 5) {
      table.errors.push_back("line " + std::to_string(number) + " has " +
                             std::to_string(fields.size()) + " fields, not 5");
      continue;
    }
    table.cases.push_back(Case{std::move(fields[0]), std::move(fields[1]), std::move(fields[2]),
                               std::move(fields[3]), std::move(fields[4]), number});
  }
  return table;
}

const Table& GetTable() {
  static const Table* table = new Table(LoadTable());
  return *table;
}

struct LimitField {
  std::string_view name;
  uint64_t ArchiveLimits::*member;
};

constexpr LimitField kLimitFields[] = {
    {"max_archive_bytes", &ArchiveLimits::max_archive_bytes},
    {"max_entries", &ArchiveLimits::max_entries},
    {"max_name_bytes", &ArchiveLimits::max_name_bytes},
    {"max_entry_uncompressed_bytes", &ArchiveLimits::max_entry_uncompressed_bytes},
    {"max_total_uncompressed_bytes", &ArchiveLimits::max_total_uncompressed_bytes},
    {"max_deflated_entry_bytes", &ArchiveLimits::max_deflated_entry_bytes},
    {"max_compression_ratio", &ArchiveLimits::max_compression_ratio},
};

// Applies "name=value,name=value" (or "-") to `limits`; returns the field names set, or an
// error message in `error`.
std::vector<std::string> ApplyLimits(const std::string& spec, ArchiveLimits& limits,
                                     std::string& error) {
  std::vector<std::string> names;
  if (spec == "-") return names;
  for (const std::string& item : Split(spec, ',')) {
    error = "bad limit override '" + item + "'";
    const size_t eq = item.find('=');
    if (eq == std::string::npos) return names;
    const std::string name = item.substr(0, eq);
    const LimitField* field = nullptr;
    for (const LimitField& f : kLimitFields) {
      if (f.name == name) field = &f;
    }
    uint64_t value = 0;
    const char* last = item.data() + item.size();
    const auto [end, ec] = std::from_chars(item.data() + eq + 1, last, value);
    if (field == nullptr || ec != std::errc{} || end != last) return names;
    error.clear();
    limits.*(field->member) = value;
    names.push_back(name);
  }
  return names;
}

std::vector<uint8_t> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The file name reduced to [A-Za-z0-9_], e.g. "name_nul" for name_nul.zip.
std::string CaseName(const Case& c) {
  std::string name = fs::path(c.file).stem().string();
  for (char& ch : name) {
    const bool keep = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                      (ch >= '0' && ch <= '9') || ch == '_';
    if (!keep) ch = '_';
  }
  return name;
}

// GoogleTest lists each case as ".../<index>  # GetParam() = <CaseName>"; gtest_discover_tests
// turns that into the ctest name ".../<CaseName>", so every ctest entry is named after its file.
void PrintTo(const Case& c, std::ostream* os) {
  *os << CaseName(c);
}

class GoldenArchiveTest : public testing::TestWithParam<Case> {};

TEST_P(GoldenArchiveTest, ReaderReturnsExpectedStatus) {
  const Case& c = GetParam();
  SCOPED_TRACE(c.file + " (cases.tsv line " + std::to_string(c.line) + "): " + c.description);
  ArchiveLimits limits;
  std::string error;
  (void)ApplyLimits(c.limits, limits, error);
  ASSERT_EQ(error, "");
  const fs::path path = GoldenDir() / c.file;
  ASSERT_TRUE(fs::is_regular_file(path)) << path;
  std::vector<uint8_t> bytes = ReadFile(path);

  const Result<ZipIndex> index = ParseZip(bytes, limits);
  if (c.code == "ok") {
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    Limits all;
    all.archive = limits;
    Result<Archive> archive = Archive::FromBytes(FileBytes::FromVector(std::move(bytes)), all);
    ASSERT_TRUE(archive.ok()) << archive.status().ToString();
    ASSERT_EQ(archive->index().entries().size(), index->entries().size());
    for (const ZipEntry& e : archive->index().entries()) {
      const Result<std::vector<uint8_t>> data = archive->Read(e);
      ASSERT_TRUE(data.ok()) << e.name << ": " << data.status().ToString();
      EXPECT_EQ(data->size(), e.uncompressed_size) << e.name;
      EXPECT_EQ(archive->index().Find(e.record()), &e) << e.name;
    }
    return;
  }
  ASSERT_FALSE(index.ok()) << "accepted; expected " << c.code << " [" << c.reason << "]";
  EXPECT_EQ(ErrorCodeName(index.status().code()), c.code) << index.status().ToString();
  EXPECT_EQ(index.status().reason(), c.reason) << index.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenArchiveTest, testing::ValuesIn(GetTable().cases));

TEST(GoldenArchiveTable, RowsAreWellFormed) {
  const Table& table = GetTable();
  EXPECT_TRUE(table.errors.empty()) << table.errors.front();
  std::set<std::string> files, names;
  int rejections = 0;
  for (const Case& c : table.cases) {
    SCOPED_TRACE(c.file);
    EXPECT_TRUE(files.insert(c.file).second) << "listed twice";
    EXPECT_FALSE(CaseName(c).empty());
    EXPECT_TRUE(names.insert(CaseName(c)).second) << "ctest name is not unique";
    EXPECT_EQ(fs::path(c.file).extension(), ".zip");
    EXPECT_FALSE(c.description.empty());
    if (c.code == "ok") {
      EXPECT_EQ(c.reason, "-");
    } else {
      EXPECT_TRUE(c.code == "malformed" || c.code == "limit-exceeded") << c.code;
      EXPECT_TRUE(c.reason.starts_with("zip.")) << c.reason;
      ++rejections;
    }
    ArchiveLimits limits;
    std::string error;
    (void)ApplyLimits(c.limits, limits, error);
    EXPECT_EQ(error, "");
  }
  EXPECT_GE(rejections, 45);
}

TEST(GoldenArchiveTable, EveryZipFileIsListedAndViceVersa) {
  std::set<std::string> listed, present;
  for (const Case& c : GetTable().cases) listed.insert(c.file);
  for (const auto& entry : fs::directory_iterator(GoldenDir())) {
    if (entry.path().extension() == ".zip") present.insert(entry.path().filename().string());
  }
  for (const std::string& f : present) EXPECT_TRUE(listed.count(f)) << f << " is not in cases.tsv";
  for (const std::string& f : listed) EXPECT_TRUE(present.count(f)) << f << " does not exist";
}

// Every reason the reader can produce from the bytes of a whole archive has a case.
TEST(GoldenArchiveTable, EveryStructuralReasonIsCovered) {
  using namespace reason;  // NOLINT: the list below reads better unqualified
  const std::string_view required[] = {
      // Whole-file structure.
      kTooSmall, kEocdMissing, kArchiveComment, kMultiDisk, kZip64Bad, kZip64Mismatch,
      kZip64Missing, kNoEntries, kCdBounds, kCdTruncated, kCdBadSignature, kCdCountMismatch,
      kPrependedData, kGap, kOverlap,
      // One central-directory record.
      kEntryComment, kEncrypted, kUnsupportedFlags, kUnsupportedMethod, kUnsupportedVersion,
      kUnsupportedAttributes, kSymlink, kNotRegularFile, kStoredSizeMismatch, kExtraFieldBad,
      kExtraFieldUnknown, kZip64ExtraBad, kPaddingBad,
      // Names.
      kNameNotUtf8, kNameUtf8FlagMissing, kNameControlChar, kNameBackslash, kNameForbiddenChar,
      kNameAbsolute, kNameDotSegment, kNameEmptySegment, kNoTopLevelFolder, kOutsideTopLevelFolder,
      kDuplicateName, kCaseCollision, kFileDirConflict,
      // Local headers and data descriptors.
      kLocalTruncated, kLocalBadSignature, kLocalNameMismatch, kLocalMethodMismatch,
      kLocalFlagsMismatch, kLocalFieldMismatch, kLocalCrcMismatch, kLocalSizeMismatch,
      kDescriptorMissing, kDescriptorMismatch,
      // Limits.
      kArchiveTooLarge, kTooManyEntries, kNameTooLong, kEntryTooLarge, kDeflatedEntryTooLarge,
      kTotalTooLarge, kCompressionRatio};
  std::set<std::string, std::less<>> covered;
  for (const Case& c : GetTable().cases) covered.insert(c.reason);
  for (std::string_view r : required) EXPECT_TRUE(covered.count(r)) << r << " has no case";
}

// Every ArchiveLimits field has a case exactly at its limit (accepted) and one just past it.
TEST(GoldenArchiveTable, EveryLimitHasAnAtAndOverPair) {
  for (const LimitField& field : kLimitFields) {
    bool at = false, past = false;
    for (const Case& c : GetTable().cases) {
      ArchiveLimits limits;
      std::string error;
      for (const std::string& name : ApplyLimits(c.limits, limits, error)) {
        if (name != field.name) continue;
        at = at || c.code == "ok";
        past = past || c.code == "limit-exceeded";
      }
    }
    EXPECT_TRUE(at) << field.name << " has no accepted case at the limit";
    EXPECT_TRUE(past) << field.name << " has no limit-exceeded case past the limit";
  }
}

// The valid base the cases start from is byte for byte what the canonical writer produces.
TEST(GoldenArchiveTable, BaseMatchesTheWriter) {
  WriterOptions options;
  options.archive_name = "pkg";
  Result<ZipWriter> writer = ZipWriter::CreateInMemory(options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const std::pair<std::string_view, std::string_view> records[] = {
      {".data/extern_modules", "numpy\n"},
      {".data/python_version", "3.11\n"},
      {"res/data.pkl", std::string_view("\x80\x03}q\x00X\x01\x00\x00\x00"
                                        "aq\x01K\x01s.",
                                        17)},
      {"mod.py", "def f():\n    return 1\n"},
      {".data/version", "6\n"},
  };
  for (const auto& [record, data] : records) {
    const auto* p = reinterpret_cast<const uint8_t*>(data.data());
    ASSERT_TRUE(writer->AddRecord(record, std::span<const uint8_t>(p, data.size())).ok());
  }
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(writer->TakeBuffer(), ReadFile(GoldenDir() / "ok_base.zip"));
}

}  // namespace
}  // namespace sealpkg::archive
