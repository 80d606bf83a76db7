#include "archive/torch_records.h"

#include <string_view>

#include "core/printable.h"

namespace sealpkg::archive {
namespace {

constexpr std::string_view kBadVersion = "torch.bad-version";
constexpr std::string_view kBadExterns = "torch.bad-extern-modules";
constexpr std::string_view kBadPythonVersion = "torch.bad-python-version";

std::string_view AsText(const std::vector<uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Result<uint64_t> ParseVersion(const Archive& archive, const ZipEntry& entry) {
  SEALPKG_ASSIGN_OR_RETURN(const auto bytes, archive.Read(entry));
  std::string_view text = AsText(bytes);
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  // 1-19 digits always fit in uint64_t.
  if (!AllDigits(text) || text.size() > 19) {
    return Malformed(std::string(kBadVersion), "version record is not a decimal number: '" +
                                                   Printable(text.substr(0, 64)) + "'")
        .WithEntry(entry.name);
  }
  return std::stoull(std::string(text));
}

// Characters Python's str.splitlines() treats as line boundaries, other than "\n".
bool HasOtherLineBreak(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e) return true;
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x85) {
      return true;  // U+0085 NEL
    }
    if (c == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(text[i + 2]) == 0xA8 ||
         static_cast<unsigned char>(text[i + 2]) == 0xA9)) {
      return true;  // U+2028, U+2029
    }
  }
  return false;
}

Result<std::vector<std::string>> ParseExterns(const Archive& archive, const ZipEntry& entry) {
  SEALPKG_ASSIGN_OR_RETURN(const auto bytes, archive.Read(entry));
  const std::string_view text = AsText(bytes);
  const auto bad = [&](std::string why) {
    return Malformed(std::string(kBadExterns), std::move(why)).WithEntry(entry.name);
  };
  if (!IsValidUtf8(text)) return bad("extern module list is not valid UTF-8");
  if (HasOtherLineBreak(text)) {
    return bad("extern module list contains a line break other than '\\n'");
  }
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    const std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    // torch writes "\n" for an empty list (it reads back as ['']); skip empty lines.
    if (!line.empty()) out.emplace_back(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

bool IsStorageKey(std::string_view key) {
  return AllDigits(key);
}

}  // namespace

std::string_view TorchFormatName(TorchFormat format) {
  switch (format) {
    case TorchFormat::kPackage:
      return "torch.package";
    case TorchFormat::kTorchSave:
      return "torch.save";
    case TorchFormat::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Result<TorchRecords> ReadTorchRecords(const Archive& archive) {
  const ZipIndex& index = archive.index();
  TorchRecords out;
  if (const ZipEntry* v = index.Find(".data/version")) {
    out.format = TorchFormat::kPackage;
    SEALPKG_ASSIGN_OR_RETURN(out.version, ParseVersion(archive, *v));
  } else if (const ZipEntry* v2 = index.Find("version")) {
    out.format = TorchFormat::kTorchSave;
    SEALPKG_ASSIGN_OR_RETURN(out.version, ParseVersion(archive, *v2));
  }
  if (const ZipEntry* p = index.Find(".data/python_version")) {
    SEALPKG_ASSIGN_OR_RETURN(const auto bytes, archive.Read(*p));
    const std::string_view text = AsText(bytes);
    if (text.size() > 64 || !IsValidUtf8(text) || Printable(text) != text) {
      return Malformed(std::string(kBadPythonVersion),
                       "python_version record is not a short printable string")
          .WithEntry(p->name);
    }
    out.python_version = std::string(text);
  }
  if (const ZipEntry* e = index.Find(".data/extern_modules")) {
    SEALPKG_ASSIGN_OR_RETURN(out.extern_modules, ParseExterns(archive, *e));
  }
  for (const ZipEntry& e : index.entries()) {
    const std::string_view record = e.record();
    std::string_view key;
    if (out.format == TorchFormat::kPackage && record.starts_with(".data/") &&
        record.ends_with(".storage")) {
      key = record.substr(6, record.size() - 6 - 8);
    } else if (out.format == TorchFormat::kTorchSave && record.starts_with("data/")) {
      key = record.substr(5);
    } else {
      continue;
    }
    if (!IsStorageKey(key)) continue;
    out.storages.push_back(StorageRecord{std::string(record), std::string(key), e.uncompressed_size,
                                         e.data_offset, e.stored(), e.data_offset % 64 == 0});
  }
  return out;
}

}  // namespace sealpkg::archive
