// Bindings for verifier: the pickle machine's raw facts (for tests and tooling).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core/file_bytes.h"
#include "core/limits.h"
#include "python/status_to_python.h"
#include "verifier/package_verifier.h"
#include "verifier/pickle_machine.h"
#include "verifier/policy.h"
#include "verifier/report.h"

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

verifier::Policy PolicyOrThrow(const std::string& spec) {
  return ValueOrThrow(verifier::LoadPolicySpec(spec, PolicyLimits{}));
}

void BindVerifier(py::module_& m) {
  using verifier::Finding;
  using verifier::VerifyReport;
  py::class_<Finding>(m, "Finding", "One verifier finding (stable code, location, rule).")
      .def_readonly("code", &Finding::code)
      .def_property_readonly("kind", [](const Finding& f) { return ErrorCodeName(f.kind); })
      .def_property_readonly("severity",
                             [](const Finding& f) {
                               return f.severity == verifier::Severity::kError ? "error"
                                                                               : "warning";
                             })
      .def_readonly("entry", &Finding::entry)
      .def_readonly("offset", &Finding::offset)
      .def_readonly("line", &Finding::line)
      .def_readonly("column", &Finding::column)
      .def_readonly("construct", &Finding::construct)
      .def_readonly("name", &Finding::name)
      .def_readonly("rule", &Finding::rule)
      .def_readonly("message", &Finding::message)
      .def("__repr__", [](const Finding& f) {
        return "<Finding " + f.code + " " + f.entry + " " + f.name + ">";
      });
  py::class_<VerifyReport>(m, "Report", "The result of verifying one input against a policy.")
      .def_readonly("path", &VerifyReport::path)
      .def_readonly("format", &VerifyReport::format)
      .def_readonly("policy", &VerifyReport::policy)
      .def_readonly("accepted", &VerifyReport::accepted)
      .def_readonly("findings", &VerifyReport::findings)
      .def_readonly("pickles", &VerifyReport::pickles)
      .def_readonly("sources", &VerifyReport::sources)
      .def_readonly("storages", &VerifyReport::storages)
      .def_readonly("globals", &VerifyReport::globals)
      .def_readonly("externs", &VerifyReport::externs,
                    "the package's .data/extern_modules (allowed by the policy when accepted)")
      .def("to_text", [](const VerifyReport& r) { return verifier::RenderText({r}, false); })
      .def("to_json", [](const VerifyReport& r) { return verifier::RenderJson({r}); })
      .def("to_sarif",
           [](const VerifyReport& r) { return verifier::RenderSarif({r}, SEALPKG_VERSION); })
      .def("__repr__", [](const VerifyReport& r) {
        return std::string("<Report ") + (r.accepted ? "accepted " : "rejected ") + r.path + " (" +
               std::to_string(r.findings.size()) + " findings)>";
      });

  m.def(
      "verify_path",
      [](const std::string& path, const std::string& policy_spec) {
        const verifier::Policy policy = PolicyOrThrow(policy_spec);
        py::gil_scoped_release nogil;
        return verifier::VerifyPath(path, policy, Limits{});
      },
      py::arg("path"), py::arg("policy"));
  m.def(
      "verify_bytes",
      [](const py::bytes& data, const std::string& name, const std::string& policy_spec) {
        const verifier::Policy policy = PolicyOrThrow(policy_spec);
        const std::string_view view = data;
        const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(view.data()),
                                             view.size());
        py::gil_scoped_release nogil;
        return verifier::VerifyBytes(bytes, name, policy, Limits{});
      },
      py::arg("data"), py::arg("name"), py::arg("policy"));
  m.def(
      "infer_policy",
      [](const std::string& path, const std::string& name) {
        const Limits limits;
        FileBytes bytes = ValueOrThrow(FileBytes::Snapshot(path, limits.archive));
        const verifier::PackageFacts facts = verifier::CollectFacts(bytes.span(), path, limits);
        if (!facts.problems.empty()) {
          ThrowStatus(PolicyDenied(
              "policy.infer-rejected",
              "cannot infer a policy from a rejected input: " + facts.problems.front().code + " " +
                  facts.problems.front().message));
        }
        return verifier::InferPolicy(facts, name);
      },
      py::arg("path"), py::arg("name"));
  m.def("builtin_policies", [] {
    std::vector<std::string> out;
    for (auto n : verifier::BuiltinPolicyNames()) out.emplace_back(n);
    return out;
  });

  m.def("run_pickle", &RunPickleForPython, py::arg("data"), py::arg("start") = 0,
        py::arg("trace") = false,
        "Run the symbolic pickle machine over one pickle; returns its facts as a dict.");
}

}  // namespace sealpkg::python
