// Bindings for archive: the strict reader, the canonical writer, the tree renderer.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>

#include "archive/file_tree.h"
#include "archive/torch_records.h"
#include "archive/zip_reader.h"
#include "archive/zip_writer.h"
#include "python/status_to_python.h"

namespace py = pybind11;

namespace sealpkg::python {
namespace {

using archive::Archive;
using archive::ZipEntry;

// A read-only window on a STORED record; keeps the archive's sealed bytes alive.
struct RecordView {
  std::shared_ptr<const Archive> owner;
  std::span<const uint8_t> bytes;
};

// A C-contiguous byte view of any Python buffer (bytes, bytearray, memoryview, numpy...).
class ContiguousBytes {
 public:
  explicit ContiguousBytes(const py::handle& obj) {
    if (PyObject_GetBuffer(obj.ptr(), &view_, PyBUF_SIMPLE) != 0) throw py::error_already_set();
  }
  ~ContiguousBytes() { PyBuffer_Release(&view_); }
  ContiguousBytes(const ContiguousBytes&) = delete;
  ContiguousBytes& operator=(const ContiguousBytes&) = delete;
  std::span<const uint8_t> span() const {
    return {static_cast<const uint8_t*>(view_.buf), static_cast<size_t>(view_.len)};
  }

 private:
  Py_buffer view_{};
};

const ZipEntry& FindOrThrow(const Archive& a, const std::string& record) {
  const ZipEntry* e = a.index().Find(record);
  if (e == nullptr) {
    ThrowStatus(Malformed("zip.no-such-record", "archive has no record '" + record + "'"));
  }
  return *e;
}

py::dict EntryDict(const ZipEntry& e) {
  py::dict d;
  d["name"] = e.name;
  d["record"] = std::string(e.record());
  d["offset"] = e.header_offset;
  d["data_offset"] = e.data_offset;
  d["size"] = e.uncompressed_size;
  d["compressed_size"] = e.compressed_size;
  d["method"] = e.stored() ? "stored" : "deflate";
  d["crc32"] = e.crc32;
  return d;
}

py::dict FrameworkDict(const archive::TorchRecords& t) {
  py::dict d;
  d["format"] = std::string(archive::TorchFormatName(t.format));
  d["version"] = t.version ? py::object(py::int_(*t.version)) : py::none();
  d["python_version"] = t.python_version ? py::object(py::str(*t.python_version)) : py::none();
  d["extern_modules"] = t.extern_modules ? py::object(py::cast(*t.extern_modules)) : py::none();
  py::list storages;
  for (const auto& s : t.storages) {
    py::dict sd;
    sd["record"] = s.record;
    sd["key"] = s.key;
    sd["size"] = s.size;
    sd["data_offset"] = s.data_offset;
    sd["stored"] = s.stored;
    sd["aligned_64"] = s.aligned;
    storages.append(sd);
  }
  d["storages"] = storages;
  return d;
}

// Python names may hold lone surrogates; carry them through C++ as "surrogatepass" bytes.
std::string Utf8Bytes(const py::handle& text) {
  PyObject* b = PyUnicode_AsEncodedString(text.ptr(), "utf-8", "surrogatepass");
  if (b == nullptr) throw py::error_already_set();
  py::bytes owned = py::reinterpret_steal<py::bytes>(b);
  return std::string(owned);
}

// Converts a Python Directory (name, is_dir, children: dict) into FileTree nodes, iteratively,
// and renders it. Like torch, a file child prints under its dict key, a folder under its name.
py::str RenderPythonDirectory(const py::handle& root) {
  archive::FileTree::Node top;
  struct Work {
    py::handle obj;
    archive::FileTree::Node* node;
    py::handle key;  // null for the root
  };
  std::vector<Work> stack{{root, &top, py::handle()}};
  while (!stack.empty()) {
    Work w = stack.back();
    stack.pop_back();
    w.node->is_dir = py::bool_(w.obj.attr("is_dir"));
    const bool use_key = w.key && !w.node->is_dir;
    const py::object name =
        use_key ? py::reinterpret_borrow<py::object>(w.key) : py::object(w.obj.attr("name"));
    w.node->name = Utf8Bytes(name);
    for (auto item : py::dict(w.obj.attr("children"))) {
      auto child = std::make_unique<archive::FileTree::Node>();
      archive::FileTree::Node* raw = child.get();
      w.node->children[Utf8Bytes(item.first)] = std::move(child);
      stack.push_back({item.second, raw, item.first});
    }
  }
  const std::string text = archive::RenderTree(top);
  PyObject* out =
      PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "surrogatepass");
  if (out == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(out);
}

}  // namespace

void BindArchive(py::module_& m) {
  py::class_<RecordView>(m, "_RecordView", py::buffer_protocol()).def_buffer([](RecordView& v) {
    return py::buffer_info(const_cast<uint8_t*>(v.bytes.data()), 1,
                           py::format_descriptor<uint8_t>::format(), 1,
                           {static_cast<py::ssize_t>(v.bytes.size())}, {1}, /*readonly=*/true);
  });

  py::class_<Archive, std::shared_ptr<Archive>>(m, "ArchiveReader",
                                                "A strictly validated, immutable package archive.")
      .def_static(
          "open",
          [](const std::string& path) {
            Result<Archive> r = [&] {
              py::gil_scoped_release nogil;
              return Archive::Open(path, Limits{});
            }();
            return std::make_shared<Archive>(ValueOrThrow(std::move(r)));
          },
          py::arg("path"), "Read the file once into sealed memory and validate it.")
      .def_static(
          "from_bytes",
          [](const py::object& data) {
            ContiguousBytes buffer(data);
            const std::span<const uint8_t> bytes = buffer.span();
            Result<Archive> r = [&]() -> Result<Archive> {
              py::gil_scoped_release nogil;
              SEALPKG_ASSIGN_OR_RETURN(FileBytes sealed, FileBytes::SealedCopy(bytes));
              return Archive::FromBytes(std::move(sealed), Limits{});
            }();
            return std::make_shared<Archive>(ValueOrThrow(std::move(r)));
          },
          py::arg("data"), "Copy a buffer into sealed memory and validate it.")
      .def_property_readonly("archive_name", [](const Archive& a) { return a.index().prefix(); })
      .def_property_readonly("size", [](const Archive& a) { return a.index().file_size(); })
      .def("records",
           [](const Archive& a) {
             std::vector<std::string> out;
             for (const auto& e : a.index().entries()) out.emplace_back(e.record());
             return out;
           })
      .def("entries",
           [](const Archive& a) {
             py::list out;
             for (const auto& e : a.index().entries()) out.append(EntryDict(e));
             return out;
           })
      .def(
          "has_record",
          [](const Archive& a, const std::string& r) { return a.index().Find(r) != nullptr; },
          py::arg("record"))
      .def(
          "read",
          [](const Archive& a, const std::string& record) {
            const ZipEntry& e = FindOrThrow(a, record);
            // Fill a fresh bytes object in place: one copy (or one inflate), no staging vector.
            PyObject* raw =
                PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(e.uncompressed_size));
            if (raw == nullptr) throw py::error_already_set();
            py::bytes out = py::reinterpret_steal<py::bytes>(raw);
            std::span<uint8_t> dst(reinterpret_cast<uint8_t*>(PyBytes_AS_STRING(raw)),
                                   e.uncompressed_size);
            Status st = [&] {
              py::gil_scoped_release nogil;
              return a.ReadInto(e, dst);
            }();
            OkOrThrow(st);
            return out;
          },
          py::arg("record"), "The record's bytes (inflated if compressed), CRC-checked.")
      .def(
          "view",
          [](const std::shared_ptr<Archive>& a, const std::string& record) {
            const ZipEntry& e = FindOrThrow(*a, record);
            Result<std::span<const uint8_t>> r = [&] {
              py::gil_scoped_release nogil;
              return a->StoredView(e);
            }();
            RecordView v{a, ValueOrThrow(std::move(r))};
            return py::memoryview(py::cast(std::move(v)));
          },
          py::arg("record"), "Zero-copy read-only memoryview of a STORED record, CRC-checked.")
      .def(
          "data_offset",
          [](const Archive& a, const std::string& record) {
            return FindOrThrow(a, record).data_offset;
          },
          py::arg("record"))
      .def("framework", [](const Archive& a) {
        return FrameworkDict(ValueOrThrow(archive::ReadTorchRecords(a)));
      });

  py::class_<archive::ZipWriter>(m, "ArchiveWriter", "Canonical torch-compatible archive writer.")
      .def(py::init([](std::optional<std::string> path, std::optional<std::string> name) {
             archive::WriterOptions options;
             if (name) options.archive_name = *name;
             return path ? ValueOrThrow(archive::ZipWriter::CreateFile(*path, options))
                         : ValueOrThrow(archive::ZipWriter::CreateInMemory(options));
           }),
           py::arg("path"), py::arg("archive_name") = py::none())
      .def_property_readonly("archive_name", &archive::ZipWriter::archive_name)
      .def(
          "write_record",
          [](archive::ZipWriter& w, const std::string& record, const py::object& data) {
            ContiguousBytes buffer(data);
            const std::span<const uint8_t> bytes = buffer.span();
            Status st = [&] {
              py::gil_scoped_release nogil;
              return w.AddRecord(record, bytes);
            }();
            OkOrThrow(st);
          },
          py::arg("record"), py::arg("data"))
      .def("has_record", &archive::ZipWriter::HasRecord, py::arg("record"))
      .def("records", &archive::ZipWriter::Records)
      .def("finish",
           [](archive::ZipWriter& w) -> py::object {
             Status st = [&] {
               py::gil_scoped_release nogil;
               return w.Finish();
             }();
             OkOrThrow(st);
             std::vector<uint8_t> buffer = w.TakeBuffer();
             if (buffer.empty()) return py::none();
             return py::bytes(reinterpret_cast<const char*>(buffer.data()), buffer.size());
           })
      .def("abort", &archive::ZipWriter::Abort);

  m.def("render_tree", &RenderPythonDirectory, py::arg("directory"),
        "Render a Directory tree exactly as torch.package prints it.");
  m.def(
      "archive_name_for_path",
      [](const std::string& path) { return ValueOrThrow(archive::ArchiveNameForPath(path)); },
      py::arg("path"));
}

}  // namespace sealpkg::python
