// Bindings for the verifier's Python import scanner (used by the differential tests).
#include <pybind11/pybind11.h>

#include <cstdint>
#include <span>
#include <string>

#include "core/limits.h"
#include "python/status_to_python.h"
#include "verifier/import_scanner.h"

namespace py = pybind11;

namespace sealpkg::python {

void BindSourceScan(py::module_& m) {
  m.def(
      "scan_python_source",
      [](py::bytes source, const std::string& module_name, bool is_package) {
        char* data = nullptr;
        Py_ssize_t size = 0;
        if (PyBytes_AsStringAndSize(source.ptr(), &data, &size) != 0) throw py::error_already_set();
        const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(data),
                                             static_cast<size_t>(size));
        Result<verifier::SourceScan> result = [&] {
          py::gil_scoped_release nogil;  // `source` stays referenced by the caller
          return verifier::ScanPythonSource(bytes, module_name, is_package, SourceLimits{});
        }();
        const verifier::SourceScan scan = ValueOrThrow(std::move(result));
        py::list imports;
        for (const verifier::ImportRef& i : scan.imports) {
          py::dict d;
          d["kind"] = std::string(verifier::ImportKindName(i.kind));
          d["module"] = i.module;
          d["name"] = i.name ? py::object(py::str(*i.name)) : py::object(py::none());
          d["level"] = i.level;
          d["line"] = i.pos.line;
          d["column"] = i.pos.column;
          imports.append(d);
        }
        py::list uses;
        for (const verifier::DynamicUse& u : scan.uses) {
          py::dict d;
          d["kind"] = std::string(verifier::DynamicUseKindName(u.kind));
          d["module"] = u.module;
          d["name"] = u.name;
          d["line"] = u.pos.line;
          d["column"] = u.pos.column;
          uses.append(d);
        }
        py::dict out;
        out["imports"] = imports;
        out["uses"] = uses;
        return out;
      },
      py::arg("source"), py::arg("module_name"), py::arg("is_package"),
      "Scan Python source bytes for imports and dynamic constructs (verifier/import_scanner.h).");
}

}  // namespace sealpkg::python
