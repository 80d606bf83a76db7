// sealpkg._native.sandbox: the launcher, sessions (RPC), the fork server, the seccomp policy table
// and zero-copy tensor arenas.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "core/file_bytes.h"
#include "python/status_to_python.h"
#include "sandbox/fork_server.h"
#include "sandbox/ipc.h"
#include "sandbox/launcher.h"
#include "sandbox/seccomp_policy.h"
#include "sandbox/session.h"
#include "sandbox/session_python.h"
#include "sandbox/tensor_transport.h"

namespace py = pybind11;

namespace sealpkg::python {
namespace {

using sandbox::Kind;
using sandbox::Value;

SandboxLimits LimitsFrom(const py::dict& d) {
  SandboxLimits l;
  for (auto [k, v] : d) {
    const std::string key = k.cast<std::string>();
    const uint64_t x = v.cast<uint64_t>();
    if (key == "wall_time_ms")
      l.wall_time_ms = x;
    else if (key == "cpu_seconds")
      l.cpu_seconds = x;
    else if (key == "address_space_bytes")
      l.address_space_bytes = x;
    else if (key == "file_size_bytes")
      l.file_size_bytes = x;
    else if (key == "open_files")
      l.open_files = x;
    else if (key == "max_output_bytes")
      l.max_output_bytes = x;
    else if (key == "max_tensor_bytes")
      l.max_tensor_bytes = x;
    else if (key == "max_message_bytes")
      l.max_message_bytes = x;
    else
      throw py::value_error("unknown sandbox limit '" + key + "'");
  }
  return l;
}

sandbox::LaunchOptions OptionsFrom(const std::string& worker, const std::string& python_path,
                                   const std::vector<std::string>& preload, int threads,
                                   bool require_full, bool allow_exec_memory, bool diagnose,
                                   bool no_torch, bool pretend_no_seccomp, const py::dict& limits) {
  sandbox::LaunchOptions o;
  o.worker_path = worker;
  o.python_path = python_path;
  o.preload = preload;
  o.threads = threads;
  o.require_full_isolation = require_full;
  o.allow_exec_memory = allow_exec_memory;  // the Python API spells it unsafe_allow_exec_memory
  o.diagnose = diagnose;
  o.no_torch = no_torch;
  if (pretend_no_seccomp) o.PretendNoSeccomp(sandbox::UnsafeTestPretendNoSeccomp{});
  o.limits = LimitsFrom(limits);
  return o;
}

// An outcome as a dict; tensors of a kOk value become make_tensor(...) views of the arenas.
py::dict OutcomeToPython(sandbox::LoadOutcome& out, const py::handle& make_tensor) {
  py::dict d;
  d["kind"] = std::string(sandbox::OutcomeName(out.kind));
  d["message"] = out.message;
  d["exit_code"] = out.exit_code;
  d["signal"] = out.signal;
  d["output"] = py::bytes(out.output);
  d["error_type"] = out.error_type;
  d["error_message"] = out.error_message;
  d["isolation"] = sandbox::ValueToPy(out.isolation, make_tensor, py::list());
  py::list arenas;
  for (size_t i = 0; i < out.fds.size(); ++i) {
    arenas.append(std::make_shared<sandbox::MappedArena>(
        ValueOrThrow(sandbox::MappedArena::Map(out.fds[i].get(), out.fd_sizes[i], /*cow=*/true))));
  }
  d["arenas"] = arenas;
  d["value"] = py::none();
  if (out.kind == sandbox::OutcomeKind::kOk) {
    d["value"] = sandbox::ValueToPy(out.value, make_tensor, arenas);
  }
  return d;
}

py::dict Checked(Result<sandbox::LoadOutcome> r, const py::handle& make_tensor) {
  if (!r.ok()) ThrowStatus(r.status());
  return OutcomeToPython(r.value(), make_tensor);
}

// A Python request (dict) -> Value, with its tensors copied once into one sealed memfd arena.
struct EncodedRequest {
  Value value;
  sandbox::UniqueFd arena;
};

EncodedRequest EncodeRequest(const py::dict& request, const SandboxLimits& limits) {
  EncodedRequest out;
  sandbox::PyToValue conv(limits, sandbox::TorchDtypes());
  const std::string error = conv.Convert(request, &out.value);
  if (!error.empty()) throw py::type_error("sandbox call arguments: " + error);
  if (!conv.chunks.empty()) {
    std::vector<uint64_t> offsets;
    out.arena = ValueOrThrow(sandbox::BuildSealedArena(conv.chunks, &offsets));
    conv.PlaceChunks(offsets);
  }
  return out;
}

}  // namespace

void BindSandbox(py::module_& m) {
  py::module_ s = m.def_submodule("sandbox", "Sandboxed loading (sealpkg-worker launcher)");

  s.def(
      "policy_table",
      [](bool allow_exec_memory) {
        sandbox::SeccompOptions o;
        o.allow_exec_memory =
            allow_exec_memory;  // the Python API spells it unsafe_allow_exec_memory
        return sandbox::SeccompPolicyTable(o);
      },
      py::arg("unsafe_allow_exec_memory") = false, "The worker's seccomp policy as a table.");

  py::class_<FileBytes, std::shared_ptr<FileBytes>>(s, "SealedBytes",
                                                    "Bytes copied once into a sealed memfd.")
      .def(py::init([](const py::buffer& data) {
        py::buffer_info info = data.request();
        std::span<const uint8_t> bytes(static_cast<const uint8_t*>(info.ptr),
                                       static_cast<size_t>(info.size * info.itemsize));
        return std::make_shared<FileBytes>(ValueOrThrow(FileBytes::SealedCopy(bytes)));
      }))
      .def_property_readonly("size", &FileBytes::size);

  py::class_<sandbox::MappedArena, std::shared_ptr<sandbox::MappedArena>>(
      s, "TensorArena", py::buffer_protocol(),
      "A checked, sealed memfd from the worker, mapped copy-on-write (zero copy).")
      .def_buffer([](sandbox::MappedArena& a) {
        return py::buffer_info(a.data(), 1, py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(a.size())}, {1}, !a.writable());
      })
      .def_property_readonly("size", &sandbox::MappedArena::size);

  s.def(
      "run_load",
      [](const std::string& worker, const std::string& python_path,
         const std::vector<std::string>& preload, int threads, bool require_full,
         bool allow_exec_memory, bool diagnose, bool no_torch, bool pretend_no_seccomp,
         const py::dict& limits, const FileBytes& archive, const std::string& op,
         const std::string& package, const std::string& resource, const py::function& make_tensor) {
        const sandbox::LaunchOptions o =
            OptionsFrom(worker, python_path, preload, threads, require_full, allow_exec_memory,
                        diagnose, no_torch, pretend_no_seccomp, limits);
        const Value request = Value::Dict({{"op", Value::Str(op)},
                                           {"package", Value::Str(package)},
                                           {"resource", Value::Str(resource)}});
        auto r = std::make_unique<Result<sandbox::LoadOutcome>>(Status());
        {
          py::gil_scoped_release nogil;
          *r = sandbox::RunSandboxedLoad(o, archive.sealed_fd(), request);
        }
        return Checked(std::move(*r), make_tensor);
      },
      py::arg("worker"), py::arg("python_path"), py::arg("preload"), py::arg("threads"),
      py::arg("require_full_isolation"), py::arg("unsafe_allow_exec_memory"), py::arg("diagnose"),
      py::arg("no_torch"), py::arg("unsafe_test_pretend_no_seccomp"), py::arg("limits"),
      py::arg("archive"), py::arg("op"), py::arg("package"), py::arg("resource"),
      py::arg("make_tensor"));

  py::class_<sandbox::ForkServer, std::shared_ptr<sandbox::ForkServer>>(
      s, "ForkServer", "A pre-warmed worker that forks one locked-down child per session.")
      .def(py::init([](const std::string& worker, const std::string& python_path,
                       const std::vector<std::string>& preload, int threads, bool require_full,
                       bool allow_exec_memory, bool diagnose, bool no_torch,
                       bool pretend_no_seccomp, const py::dict& limits, uint64_t recycle_after) {
             return std::make_shared<sandbox::ForkServer>(
                 OptionsFrom(worker, python_path, preload, threads, require_full, allow_exec_memory,
                             diagnose, no_torch, pretend_no_seccomp, limits),
                 recycle_after);
           }),
           py::arg("worker"), py::arg("python_path"), py::arg("preload"), py::arg("threads"),
           py::arg("require_full_isolation"), py::arg("unsafe_allow_exec_memory"),
           py::arg("diagnose"), py::arg("no_torch"), py::arg("unsafe_test_pretend_no_seccomp"),
           py::arg("limits"), py::arg("recycle_after"))
      .def("start",
           [](sandbox::ForkServer& f, const py::function& make_tensor) {
             auto r = std::make_unique<Result<sandbox::LoadOutcome>>(Status());
             {
               py::gil_scoped_release nogil;
               *r = f.Start();
             }
             return Checked(std::move(*r), make_tensor);
           })
      .def("close",
           [](sandbox::ForkServer& f) {
             py::gil_scoped_release nogil;
             f.Close();
           })
      .def_property_readonly("alive", &sandbox::ForkServer::alive)
      .def_property_readonly("pid", &sandbox::ForkServer::pid)
      .def_property_readonly("forks", &sandbox::ForkServer::forks)
      .def_property_readonly("restarts", &sandbox::ForkServer::restarts);

  py::class_<sandbox::Session>(s, "Session", "One sandboxed worker serving several requests.")
      .def(py::init([](const std::string& worker, const std::string& python_path,
                       const std::vector<std::string>& preload, int threads, bool require_full,
                       bool allow_exec_memory, bool diagnose, bool no_torch,
                       bool pretend_no_seccomp, const py::dict& limits) {
             return std::make_unique<sandbox::Session>(
                 OptionsFrom(worker, python_path, preload, threads, require_full, allow_exec_memory,
                             diagnose, no_torch, pretend_no_seccomp, limits));
           }),
           py::arg("worker"), py::arg("python_path"), py::arg("preload"), py::arg("threads"),
           py::arg("require_full_isolation"), py::arg("unsafe_allow_exec_memory"),
           py::arg("diagnose"), py::arg("no_torch"), py::arg("unsafe_test_pretend_no_seccomp"),
           py::arg("limits"))
      .def(
          "start",
          [](sandbox::Session& session, const FileBytes& archive,
             std::shared_ptr<sandbox::ForkServer> server, const py::function& make_tensor) {
            auto r = std::make_unique<Result<sandbox::LoadOutcome>>(Status());
            {
              py::gil_scoped_release nogil;
              *r = server != nullptr ? server->StartSession(&session, archive.sealed_fd())
                                     : session.Start(archive.sealed_fd());
            }
            return Checked(std::move(*r), make_tensor);
          },
          py::arg("archive"), py::arg("fork_server"), py::arg("make_tensor"),
          "Starts the worker (exec, or forked by fork_server) and waits for READY.")
      .def(
          "request",
          [](sandbox::Session& session, const py::dict& request, const py::function& make_tensor) {
            EncodedRequest enc = EncodeRequest(request, session.options().limits);
            std::vector<int> fds;
            if (enc.arena.valid()) fds.push_back(enc.arena.get());
            auto r = std::make_unique<Result<sandbox::LoadOutcome>>(Status());
            {
              py::gil_scoped_release nogil;
              *r = session.Request(enc.value, fds);
            }
            return Checked(std::move(*r), make_tensor);
          },
          py::arg("request"), py::arg("make_tensor"),
          "One request; tensors in it travel in a sealed memfd arena.")
      .def(
          "close",
          [](sandbox::Session& session, const py::function& make_tensor) {
            sandbox::LoadOutcome out;
            {
              py::gil_scoped_release nogil;
              out = session.Close();
            }
            return OutcomeToPython(out, make_tensor);
          },
          py::arg("make_tensor"))
      .def_property_readonly("alive", &sandbox::Session::alive)
      .def_property_readonly("pid", &sandbox::Session::pid);
}

}  // namespace sealpkg::python
