// Bindings for loader: copy-on-write storage maps and policy checks over an opened archive.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "archive/zip_reader.h"
#include "core/limits.h"
#include "loader/storage_map.h"
#include "python/status_to_python.h"
#include "verifier/package_verifier.h"
#include "verifier/policy.h"

namespace py = pybind11;

namespace sealpkg::python {
namespace {

using archive::Archive;
using loader::StorageMap;

// The whole sealed snapshot, read-only; keeps the archive alive.
struct SnapshotView {
  std::shared_ptr<const Archive> owner;
};

}  // namespace

void BindLoader(py::module_& m) {
  py::class_<SnapshotView>(m, "_SnapshotView", py::buffer_protocol())
      .def_buffer([](SnapshotView& v) {
        const auto bytes = v.owner->bytes();
        return py::buffer_info(const_cast<uint8_t*>(bytes.data()), 1,
                               py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(bytes.size())}, {1}, /*readonly=*/true);
      });
  m.def(
      "archive_snapshot",
      [](const std::shared_ptr<Archive>& archive) {
        return py::memoryview(py::cast(SnapshotView{archive}));
      },
      py::arg("archive"),
      "Read-only memoryview of the archive's whole sealed snapshot (the bytes that are loaded).");

  py::class_<StorageMap, std::shared_ptr<StorageMap>>(
      m, "StorageMap", py::buffer_protocol(),
      "A private copy-on-write mapping of an archive's sealed snapshot; storages are "
      "located and validated in C++ and then viewed in place.")
      .def_static(
          "create",
          [](const std::shared_ptr<Archive>& archive) {
            return std::make_shared<StorageMap>(
                ValueOrThrow(StorageMap::Create(std::shared_ptr<const Archive>(archive))));
          },
          py::arg("archive"))
      .def("sibling",
           [](const StorageMap& map) {
             return std::make_shared<StorageMap>(ValueOrThrow(map.Sibling()));
           })
      .def_property_readonly("size", [](const StorageMap& map) { return map.bytes().size(); })
      .def_property_readonly(
          "address",
          [](const StorageMap& map) { return reinterpret_cast<uintptr_t>(map.bytes().data()); })
      .def(
          "locate",
          [](StorageMap& map, const std::string& key, const std::string& storage_type,
             uint64_t numel) {
            Result<loader::StorageSlice> r = [&] {
              py::gil_scoped_release nogil;  // may CRC-check a large record
              return map.Locate(key, storage_type, numel);
            }();
            loader::StorageSlice s = ValueOrThrow(std::move(r));
            return py::make_tuple(s.record, s.offset, s.nbytes, s.element_size, s.mapped);
          },
          py::arg("key"), py::arg("storage_type"), py::arg("numel"),
          "(record, offset, nbytes, element_size, mapped) for a storage id; raises "
          "MalformedError for a bad key, unknown type, missing record or oversized numel.")
      .def_buffer([](StorageMap& map) {
        const auto bytes = map.bytes();
        return py::buffer_info(bytes.data(), 1, py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(bytes.size())}, {1},
                               /*readonly=*/false);
      });

  m.def(
      "storage_record_name",
      [](const std::string& key) { return ValueOrThrow(loader::StorageRecordName(key)); },
      py::arg("key"), "'.data/<key>.storage' for a valid decimal key; raises otherwise.");

  m.def(
      "storage_element_size",
      [](const std::string& storage_type) {
        return ValueOrThrow(loader::StorageElementSize(storage_type));
      },
      py::arg("storage_type"), "Bytes per element of 'torch.<T>Storage'; raises if unknown.");

  m.def(
      "verify_archive",
      [](const std::shared_ptr<Archive>& archive, const std::string& policy_spec,
         const std::string& name) {
        const verifier::Policy policy =
            ValueOrThrow(verifier::LoadPolicySpec(policy_spec, PolicyLimits{}));
        py::gil_scoped_release nogil;
        // The very bytes the importer will load from: no second read of the file.
        return verifier::VerifyBytes(archive->bytes(), name, policy, Limits{});
      },
      py::arg("archive"), py::arg("policy"), py::arg("name"));
}

}  // namespace sealpkg::python
