// Bindings for verifier: the pickle machine's raw facts (for tests and tooling).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core/limits.h"
#include "verifier/pickle_machine.h"

namespace py = pybind11;

namespace sealpkg::python {
namespace {

using verifier::CallSite;
using verifier::PickleRun;

py::dict FindingDict(const verifier::Finding& f) {
  py::dict d;
  d["code"] = f.code;
  d["kind"] = std::string(ErrorCodeName(f.kind));
  d["offset"] = f.offset ? py::object(py::int_(*f.offset)) : py::none();
  d["construct"] = f.construct;
  d["message"] = f.message;
  return d;
}

std::string_view CallKindName(CallSite::Kind kind) {
  switch (kind) {
    case CallSite::Kind::kCall:
      return "call";
    case CallSite::Kind::kBuild:
      return "build";
    case CallSite::Kind::kMutate:
      return "mutate";
    case CallSite::Kind::kPersistentLoad:
      return "persistent_load";
  }
  return "?";
}

// Describes a value one level deep: a global's name, a literal's kind, a call's callee.
py::object Describe(const PickleRun& run, uint32_t id) {
  const verifier::Value& v = run.value(id);
  switch (v.kind) {
    case verifier::ValueKind::kGlobal:
      return py::str("global:" + run.globals[v.ref].full_name());
    case verifier::ValueKind::kCallResult:
      return py::str("object:" + std::to_string(v.ref));
    default:
      return py::str(std::string(verifier::ValueKindName(v.kind)));
  }
}

py::dict RunPickleForPython(const py::bytes& data, uint64_t start, bool trace) {
  const std::string_view view = data;
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(view.data()), view.size());
  PickleRun run = [&] {
    py::gil_scoped_release nogil;
    return verifier::RunPickle(bytes, PickleLimits{}, start, trace);
  }();
  py::dict d;
  d["protocol"] = run.protocol;
  d["highest_protocol"] = run.highest_protocol;
  d["stopped"] = run.stopped;
  d["end_offset"] = run.end_offset;
  d["opcodes"] = run.opcodes;
  py::list ops;
  for (const auto& [offset, byte] : run.trace) {
    ops.append(py::make_tuple(std::string(verifier::OpName(byte)), offset));
  }
  d["trace"] = ops;
  py::list globals;
  for (const auto& g : run.globals) {
    globals.append(py::make_tuple(g.module, g.name, g.offset,
                                  std::string(verifier::OpName(static_cast<uint8_t>(g.op))),
                                  g.renamed));
  }
  d["globals"] = globals;
  py::list calls;
  for (const auto& c : run.calls) {
    py::dict cd;
    cd["kind"] = std::string(CallKindName(c.kind));
    cd["op"] = std::string(verifier::OpName(static_cast<uint8_t>(c.op)));
    cd["offset"] = c.offset;
    cd["callee"] = Describe(run, c.callee);
    cd["args"] = Describe(run, c.args);
    calls.append(cd);
  }
  d["calls"] = calls;
  d["error"] = run.error ? py::object(FindingDict(*run.error)) : py::none();
  return d;
}

}  // namespace

void BindVerifier(py::module_& m) {
  m.def("run_pickle", &RunPickleForPython, py::arg("data"), py::arg("start") = 0,
        py::arg("trace") = false,
        "Run the symbolic pickle machine over one pickle; returns its facts as a dict.");
}

}  // namespace sealpkg::python
