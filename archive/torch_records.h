// The framework records torch writes next to user records, read strictly.
//
// torch.package archives carry `.data/version` ("6\n"), `.data/extern_modules` (one module name
// per line, each line ending in "\n"), `.data/python_version` and raw tensor storages
// `.data/<n>.storage`; torch.save / torch.jit.save archives carry `version`, `data.pkl` and
// `data/<key>`. ReadTorchRecords() identifies the format and parses those records without
// executing anything. It refuses what torch would read differently than a careful reader:
// a version that is not a plain decimal number, extern lists with line breaks other than "\n"
// (Python's splitlines() would split them where we do not) or invalid UTF-8.
//
//   SEALPKG_ASSIGN_OR_RETURN(auto info, sealpkg::archive::ReadTorchRecords(archive));
//   if (info.format == TorchFormat::kPackage) ... info.extern_modules ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/zip_reader.h"
#include "core/status.h"

namespace sealpkg::archive {

enum class TorchFormat { kPackage, kTorchSave, kUnknown };

struct StorageRecord {
  std::string record;  // ".data/3.storage" or "data/3"
  std::string key;     // "3"
  uint64_t size = 0;
  uint64_t data_offset = 0;
  bool stored = true;
  bool aligned = false;  // data starts on a 64-byte boundary (zero-copy mappable)
};

struct TorchRecords {
  TorchFormat format = TorchFormat::kUnknown;
  std::optional<uint64_t> version;  // .data/version (package) or version (torch.save)
  std::optional<std::string> python_version;
  std::optional<std::vector<std::string>> extern_modules;
  std::vector<StorageRecord> storages;
};

std::string_view TorchFormatName(TorchFormat format);

Result<TorchRecords> ReadTorchRecords(const Archive& archive);

}  // namespace sealpkg::archive
