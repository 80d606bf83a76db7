// sealpkg._native: the C++ core as seen from Python. Bindings only; no logic lives here.
#include <pybind11/pybind11.h>

#include "core/memory_advice.h"

namespace sealpkg::python {
void BindCore(pybind11::module_& m);
void BindArchive(pybind11::module_& m);
void BindSourceScan(pybind11::module_& m);
void BindVerifier(pybind11::module_& m);
void BindLoader(pybind11::module_& m);
void BindSigning(pybind11::module_& m);
void BindDependencies(pybind11::module_& m);
void BindSandbox(pybind11::module_& m);
}  // namespace sealpkg::python

PYBIND11_MODULE(_native, m) {
  m.doc() = "sealpkg native core (strict archive reader/writer, glob matching)";
  m.attr("__version__") = SEALPKG_VERSION;
  sealpkg::KeepFreedMemoryForReuse();  // see core/memory_advice.h
  sealpkg::python::BindCore(m);
  sealpkg::python::BindArchive(m);
  sealpkg::python::BindSourceScan(m);
  sealpkg::python::BindVerifier(m);
  sealpkg::python::BindLoader(m);
  sealpkg::python::BindSigning(m);
  sealpkg::python::BindDependencies(m);
  sealpkg::python::BindSandbox(m);
}
