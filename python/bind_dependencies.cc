// Bindings for the exporter's dependency resolution (loader/dependencies.h).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "loader/dependencies.h"
#include "python/status_to_python.h"

namespace py = pybind11;

namespace sealpkg::python {
namespace {

class BufferView {
 public:
  explicit BufferView(const py::handle& obj) {
    if (PyObject_GetBuffer(obj.ptr(), &view_, PyBUF_SIMPLE) != 0) throw py::error_already_set();
  }
  ~BufferView() { PyBuffer_Release(&view_); }
  BufferView(const BufferView&) = delete;
  BufferView& operator=(const BufferView&) = delete;
  std::span<const uint8_t> span() const {
    return {static_cast<const uint8_t*>(view_.buf), static_cast<size_t>(view_.len)};
  }

 private:
  Py_buffer view_{};
};

const char* ClassificationKindName(loader::Classification::Kind kind) {
  switch (kind) {
    case loader::Classification::Kind::kSkip:
      return "skip";
    case loader::Classification::Kind::kRepackagedMockModule:
      return "repackaged_mock_module";
    case loader::Classification::Kind::kImplicitExtern:
      return "implicit_extern";
    case loader::Classification::Kind::kPattern:
      return "pattern";
    case loader::Classification::Kind::kNoMatch:
      return "no_match";
  }
  return "no_match";
}

}  // namespace

void BindDependencies(py::module_& m) {
  m.def(
      "pickle_dependencies",
      [](const py::object& data) {
        BufferView buffer(data);
        Result<loader::PickleDependencies> r = [&] {
          py::gil_scoped_release nogil;
          return loader::FindPickleDependencies(buffer.span(), loader::ExportLimits{});
        }();
        const loader::PickleDependencies deps = ValueOrThrow(std::move(r));
        py::list globals;
        for (const loader::PickleGlobal& g : deps.globals) {
          globals.append(py::make_tuple(g.module, g.name));
        }
        py::dict out;
        out["protocol"] = deps.protocol;
        out["globals"] = globals;
        out["modules"] = py::cast(deps.modules);
        return out;
      },
      py::arg("data"),
      "(module, name) of every global a pickle resolves, and its modules, in first-use order.");

  m.def(
      "source_dependencies",
      [](const py::str& source, const std::string& module_name, bool is_package) {
        PyObject* encoded = PyUnicode_AsEncodedString(source.ptr(), "utf-8", "surrogatepass");
        if (encoded == nullptr) throw py::error_already_set();
        const py::bytes bytes = py::reinterpret_steal<py::bytes>(encoded);
        BufferView buffer(bytes);
        Result<loader::SourceDependencies> r = [&] {
          py::gil_scoped_release nogil;
          return loader::FindSourceDependencies(buffer.span(), module_name, is_package,
                                                loader::ExportLimits{});
        }();
        const loader::SourceDependencies deps = ValueOrThrow(std::move(r));
        py::list candidates;
        for (const loader::SourceCandidate& c : deps.candidates) {
          candidates.append(
              py::make_tuple(c.module, c.name ? py::object(py::str(*c.name)) : py::none()));
        }
        py::list unresolved;
        for (const loader::UnresolvedImport& u : deps.unresolved) {
          unresolved.append(py::make_tuple(u.callee, u.module, u.line, u.column));
        }
        py::dict out;
        out["candidates"] = candidates;
        out["error"] = deps.resolution_error ? py::object(py::str(*deps.resolution_error))
                                             : py::object(py::none());
        out["unresolved"] = unresolved;
        return out;
      },
      py::arg("source"), py::arg("module_name"), py::arg("is_package"),
      "Import candidates of a Python source, its resolution error, and non-literal imports.");

  m.def(
      "is_stdlib_module", [](const std::string& name) { return loader::IsStdlibModule(name); },
      py::arg("module_name"));
  m.def(
      "is_implicit_extern", [](const std::string& name) { return loader::IsImplicitExtern(name); },
      py::arg("module_name"));
  m.def("stdlib_module_names", [] {
    std::vector<std::string> names;
    for (std::string_view n : loader::StdlibModuleNames()) names.emplace_back(n);
    return names;
  });

  py::class_<loader::ModuleClassifier>(m, "ModuleClassifier",
                                       "The exporter's module classification rules.")
      .def(py::init<>())
      .def(
          "add_pattern",
          [](loader::ModuleClassifier& c, const std::vector<std::string>& include,
             const std::vector<std::string>& exclude, int action) {
            if (action < 1 || action > 4) throw py::value_error("action must be 1..4");
            return ValueOrThrow(
                c.AddPattern(include, exclude, static_cast<loader::Action>(action)));
          },
          py::arg("include"), py::arg("exclude"), py::arg("action"))
      .def(
          "classify",
          [](const loader::ModuleClassifier& c, const std::string& name) {
            const loader::Classification k = c.Classify(name);
            return py::make_tuple(ClassificationKindName(k.kind), k.pattern,
                                  static_cast<int>(k.action));
          },
          py::arg("module_name"),
          "(kind, pattern index, action): kind is skip, repackaged_mock_module, "
          "implicit_extern, pattern or no_match.")
      .def("__len__", &loader::ModuleClassifier::size);
}

}  // namespace sealpkg::python
