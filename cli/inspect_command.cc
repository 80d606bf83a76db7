// `sealpkg inspect PKG`: the file tree (as torch's Directory prints it) or, with --json, the
// validated entry table and the framework records. Nothing in the package is executed.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "archive/file_tree.h"
#include "archive/torch_records.h"
#include "archive/zip_reader.h"
#include "cli/commands.h"
#include "core/glob.h"
#include "core/json_writer.h"
#include "core/limits.h"

namespace sealpkg::cli {
namespace {

struct InspectOptions {
  std::string path;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  bool json = false;
};

int Report(const Status& status) {
  const bool rejected =
      status.code() == ErrorCode::kMalformed || status.code() == ErrorCode::kLimitExceeded ||
      status.code() == ErrorCode::kPolicyDenied || status.code() == ErrorCode::kSignatureInvalid;
  std::cerr << "sealpkg inspect: " << (rejected ? "rejected: " : "error: ") << status.ToString()
            << "\n";
  return rejected ? kExitRejected : kExitError;
}

std::string Hex32(uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

void WriteJson(const InspectOptions& o, const archive::Archive& a, const archive::TorchRecords& t,
               const GlobGroup& filter) {
  const archive::ZipIndex& index = a.index();
  JsonWriter j(2);
  j.BeginObject();
  j.Key("path").String(o.path);
  j.Key("size").Uint(index.file_size());
  j.Key("archive_name").String(index.prefix());
  j.Key("zip64_end_record").Bool(index.has_zip64_end());
  j.Key("central_directory").BeginObject();
  j.Key("offset").Uint(index.central_directory_offset());
  j.Key("size").Uint(index.central_directory_size());
  j.EndObject();
  j.Key("entries").BeginArray();
  for (const auto& e : index.entries()) {
    if (!filter.Matches(e.record())) continue;
    j.BeginObject();
    j.Key("name").String(e.name);
    j.Key("record").String(e.record());
    j.Key("offset").Uint(e.header_offset);
    j.Key("data_offset").Uint(e.data_offset);
    j.Key("size").Uint(e.uncompressed_size);
    j.Key("compressed_size").Uint(e.compressed_size);
    j.Key("method").String(e.stored() ? "stored" : "deflate");
    j.Key("crc32").String(Hex32(e.crc32));
    j.EndObject();
  }
  j.EndArray();
  j.Key("framework").BeginObject();
  j.Key("format").String(archive::TorchFormatName(t.format));
  j.Key("version");
  t.version ? j.Uint(*t.version) : j.Null();
  j.Key("python_version");
  t.python_version ? j.String(*t.python_version) : j.Null();
  j.Key("extern_modules");
  if (t.extern_modules) {
    j.BeginArray();
    for (const auto& m : *t.extern_modules) j.String(m);
    j.EndArray();
  } else {
    j.Null();
  }
  j.Key("storages").BeginArray();
  for (const auto& s : t.storages) {
    j.BeginObject();
    j.Key("record").String(s.record);
    j.Key("key").String(s.key);
    j.Key("size").Uint(s.size);
    j.Key("data_offset").Uint(s.data_offset);
    j.Key("stored").Bool(s.stored);
    j.Key("aligned_64").Bool(s.aligned);
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  j.EndObject();
  std::cout << j.Take() << "\n";
}

int RunInspect(const InspectOptions& o) {
  const Limits limits;
  auto filter = GlobGroup::Create(o.include.empty() ? std::vector<std::string>{"**"} : o.include,
                                  o.exclude, "/");
  if (!filter.ok()) {
    std::cerr << "sealpkg inspect: error: bad --include/--exclude pattern: "
              << filter.status().message() << "\n";
    return kExitError;
  }
  auto archive = archive::Archive::Open(o.path, limits);
  if (!archive.ok()) return Report(archive.status());
  auto records = archive::ReadTorchRecords(*archive);
  if (!records.ok()) return Report(records.status());
  if (o.json) {
    WriteJson(o, *archive, *records, *filter);
    return kExitOk;
  }
  archive::FileTree tree(o.path);
  for (const auto& e : archive->index().entries()) {
    if (filter->Matches(e.record())) tree.AddFile(e.record());
  }
  std::cout << tree.Render();
  return kExitOk;
}

}  // namespace

void RegisterInspect(CLI::App& app, std::function<int()>& run) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Validate a package strictly and show its contents; nothing in it is run.");
  cmd->footer(
      "Prints the file tree exactly as torch.package's file_structure() does (root = PKG as\n"
      "given); --json prints the entry table (offsets, sizes, CRCs) and the framework records\n"
      "(.data/version, python_version, extern_modules, storages) instead.\n"
      "Exit codes: 0 valid, 1 rejected (the reason, entry and offset go to stderr), 2 error.");
  cmd->add_option("PKG", opts->path, "package archive (.pt) to inspect")->required();
  cmd->add_option("--include", opts->include,
                  "only show records matching this glob (torch GlobGroup, '/' separator); "
                  "repeatable")
      ->type_name("GLOB")
      ->allow_extra_args(false);
  cmd->add_option("--exclude", opts->exclude, "hide records matching this glob; repeatable")
      ->type_name("GLOB")
      ->allow_extra_args(false);
  cmd->add_flag("--json", opts->json, "print a JSON report (entries and framework records)");
  cmd->callback([&run, opts] { run = [opts] { return RunInspect(*opts); }; });
}

}  // namespace sealpkg::cli
