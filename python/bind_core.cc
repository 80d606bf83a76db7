// Bindings for core: GlobGroup.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core/glob.h"
#include "python/status_to_python.h"

namespace py = pybind11;

namespace sealpkg::python {

void BindCore(py::module_& m) {
  py::class_<GlobGroup>(m, "GlobGroup", "Compiled torch.package glob patterns (C++).")
      .def(py::init([](const std::vector<std::string>& include,
                       const std::vector<std::string>& exclude, const std::string& separator) {
             auto group = GlobGroup::Create(include, exclude, separator);
             // torch raises a plain ValueError with exactly this text for bad patterns.
             if (!group.ok()) throw py::value_error(std::string(group.status().message()));
             return std::move(group).value();
           }),
           py::arg("include"), py::arg("exclude"), py::arg("separator"))
      .def("matches", &GlobGroup::Matches, py::arg("candidate"));
}

}  // namespace sealpkg::python
