// sealpkg._native.sandbox: the launcher, the seccomp policy table and zero-copy tensor arenas.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "core/file_bytes.h"
#include "python/status_to_python.h"
#include "sandbox/ipc.h"
#include "sandbox/launcher.h"
#include "sandbox/seccomp_policy.h"
#include "sandbox/tensor_transport.h"

namespace py = pybind11;

namespace sealpkg::python {
namespace {

using sandbox::Kind;
using sandbox::Value;

// Value -> Python with an explicit stack; each tensor becomes make_tensor(...)'s return value.
py::object ToPython(const Value& root, const py::function& make_tensor, const py::list& arenas) {
  struct Item {
    const Value* v;
    py::object* slot;
  };
  py::object result;
  std::vector<std::unique_ptr<py::object>> holders;
  std::vector<Item> todo{{&root, &result}};
  // Containers are filled after their children exist: (container value, python list, child objs)
  struct Pending {
    const Value* v;
    py::object* slot;
    std::vector<std::unique_ptr<py::object>> children;
  };
  std::vector<std::unique_ptr<Pending>> pending;
  while (!todo.empty()) {
    Item it = todo.back();
    todo.pop_back();
    const Value& v = *it.v;
    switch (v.kind) {
      case Kind::kNone:
        *it.slot = py::none();
        break;
      case Kind::kFalse:
        *it.slot = py::bool_(false);
        break;
      case Kind::kTrue:
        *it.slot = py::bool_(true);
        break;
      case Kind::kInt:
        *it.slot = py::int_(v.i);
        break;
      case Kind::kFloat:
        *it.slot = py::float_(v.f);
        break;
      case Kind::kStr:
        *it.slot = py::str(v.s);
        break;
      case Kind::kBytes:
        *it.slot = py::bytes(v.s);
        break;
      case Kind::kTensor: {
        const auto& t = v.tensor;
        *it.slot = make_tensor(
            arenas, std::string(sandbox::DTypeName(static_cast<uint8_t>(t.dtype))), t.shape,
            t.strides, t.storage_offset, t.fd_index, t.storage_byte_offset, t.storage_nbytes);
        break;
      }
      case Kind::kList:
      case Kind::kTuple:
      case Kind::kDict: {
        auto p = std::make_unique<Pending>();
        p->v = &v;
        p->slot = it.slot;
        const size_t n = v.kind == Kind::kDict ? v.entries.size() : v.items.size();
        for (size_t i = 0; i < n; ++i) p->children.push_back(std::make_unique<py::object>());
        for (size_t i = 0; i < n; ++i) {
          todo.push_back(
              {v.kind == Kind::kDict ? &v.entries[i].second : &v.items[i], p->children[i].get()});
        }
        pending.push_back(std::move(p));
        break;
      }
    }
  }
  // Children were created after their parents were queued: build containers innermost first.
  for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
    Pending& p = **it;
    if (p.v->kind == Kind::kDict) {
      py::dict d;
      for (size_t i = 0; i < p.children.size(); ++i)
        d[py::str(p.v->entries[i].first)] = *p.children[i];
      *p.slot = d;
    } else {
      py::list l(p.children.size());
      for (size_t i = 0; i < p.children.size(); ++i) l[i] = *p.children[i];
      *p.slot = p.v->kind == Kind::kTuple ? py::object(py::tuple(l)) : py::object(l);
    }
  }
  return result;
}

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

}  // namespace

void BindSandbox(py::module_& m) {
  py::module_ s = m.def_submodule("sandbox", "Sandboxed loading (sealpkg-worker launcher)");

  s.def(
      "policy_table",
      [](bool allow_exec_memory) {
        sandbox::SeccompOptions o;
        if (allow_exec_memory) o.AllowExecMemory(sandbox::UnsafeAllowExecMemory{});
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
         bool allow_exec_memory, bool diagnose, bool no_torch, const py::dict& limits,
         const FileBytes& archive, const std::string& op, const std::string& package,
         const std::string& resource, const py::function& make_tensor) {
        sandbox::LaunchOptions o;
        o.worker_path = worker;
        o.python_path = python_path;
        o.preload = preload;
        o.threads = threads;
        o.require_full_isolation = require_full;
        o.allow_exec_memory = allow_exec_memory;
        o.diagnose = diagnose;
        o.no_torch = no_torch;
        o.limits = LimitsFrom(limits);
        const Value request = Value::Dict({{"op", Value::Str(op)},
                                           {"package", Value::Str(package)},
                                           {"resource", Value::Str(resource)}});
        auto r = std::make_unique<Result<sandbox::LoadOutcome>>(Status());
        {
          py::gil_scoped_release nogil;
          *r = sandbox::RunSandboxedLoad(o, archive.sealed_fd(), request);
        }
        if (!r->ok()) ThrowStatus(r->status());
        sandbox::LoadOutcome& out = r->value();
        py::dict d;
        d["kind"] = std::string(sandbox::OutcomeName(out.kind));
        d["message"] = out.message;
        d["exit_code"] = out.exit_code;
        d["signal"] = out.signal;
        d["output"] = py::bytes(out.output);
        d["error_type"] = out.error_type;
        d["error_message"] = out.error_message;
        d["isolation"] = ToPython(out.isolation, make_tensor, py::list());
        py::list arenas;
        for (size_t i = 0; i < out.fds.size(); ++i) {
          arenas.append(std::make_shared<sandbox::MappedArena>(ValueOrThrow(
              sandbox::MappedArena::Map(out.fds[i].get(), out.fd_sizes[i], /*cow=*/true))));
        }
        d["arenas"] = arenas;
        d["value"] = py::none();
        if (out.kind == sandbox::OutcomeKind::kOk) {
          d["value"] = ToPython(out.value, make_tensor, arenas);
        }
        return d;
      },
      py::arg("worker"), py::arg("python_path"), py::arg("preload"), py::arg("threads"),
      py::arg("require_full_isolation"), py::arg("unsafe_allow_exec_memory"), py::arg("diagnose"),
      py::arg("no_torch"), py::arg("limits"), py::arg("archive"), py::arg("op"), py::arg("package"),
      py::arg("resource"), py::arg("make_tensor"));
}

}  // namespace sealpkg::python
