// Python <-> IPC Value conversion, shared by both ends of a sandbox session (header-only, needs
// pybind11): the worker converts results and decodes call arguments, the parent (the Python
// binding) encodes call arguments and decodes results.
//
// PyToValue walks a Python object with an explicit stack under SandboxLimits (values, depth) and
// accepts only None, bool, int (64-bit), float, str, bytes, list, tuple, dict with str keys and
// CPU tensors of allow-listed dtypes; each distinct tensor storage becomes one chunk for
// BuildSealedArena. ValueToPy rebuilds the object, each tensor through a Python callable
// make_tensor(arenas, dtype, shape, strides, storage_offset, fd_index, byte_offset, nbytes).
//
//   sandbox::PyToValue conv(limits, sandbox::TorchDtypes());
//   if (std::string err = conv.Convert(obj, &value); !err.empty()) Fail(err);
//   conv.PlaceChunks(offsets);  // after BuildSealedArena(conv.chunks, &offsets)
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // make_tensor(shape, strides) takes std::vector

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "sandbox/ipc.h"

// pybind11's types are hidden; so are these, which hold them.
#pragma GCC visibility push(hidden)

namespace sealpkg::sandbox {

// torch.Tensor and {torch dtype: DType} when torch is imported in this interpreter, else None
// and an empty dict (then no value can be a tensor). Never imports torch itself.
struct TorchTypes {
  pybind11::object tensor_type = pybind11::none();
  pybind11::dict dtypes;
};

inline TorchTypes TorchDtypes() {
  namespace py = pybind11;
  TorchTypes t;
  py::dict modules = py::module_::import("sys").attr("modules");
  if (!modules.contains("torch")) return t;
  py::object torch = modules["torch"];
  if (torch.is_none()) return t;  // blocked on purpose (a stdlib-only worker)
  t.tensor_type = torch.attr("Tensor");
  const std::pair<const char*, DType> names[] = {
      {"float32", DType::kFloat32},   {"float64", DType::kFloat64}, {"float16", DType::kFloat16},
      {"bfloat16", DType::kBFloat16}, {"int8", DType::kInt8},       {"uint8", DType::kUInt8},
      {"int16", DType::kInt16},       {"int32", DType::kInt32},     {"int64", DType::kInt64},
      {"bool", DType::kBool}};
  for (const auto& [name, d] : names) t.dtypes[torch.attr(name)] = static_cast<int>(d);
  return t;
}

class PyToValue {
 public:
  PyToValue(const SandboxLimits& limits, TorchTypes torch) : limits_(limits), torch_(torch) {}

  // Storages to copy into the arena, in fd order of first use.
  std::vector<std::span<const uint8_t>> chunks;

  // Python object -> Value. Returns an error text, or "" on success.
  std::string Convert(pybind11::handle root, Value* out) {
    namespace py = pybind11;
    struct Item {
      py::handle obj;
      Value* slot;
      uint64_t depth;
    };
    std::vector<Item> todo{{root, out, 0}};
    uint64_t count = 0;
    while (!todo.empty()) {
      Item it = todo.back();
      todo.pop_back();
      if (++count > limits_.max_values) return "more values than max_values";
      if (it.depth > limits_.max_depth) return "nested deeper than max_depth";
      PyObject* o = it.obj.ptr();
      Value* v = it.slot;
      if (o == Py_None) {
        v->kind = Kind::kNone;
      } else if (PyBool_Check(o)) {
        *v = Value::Bool(o == Py_True);
      } else if (PyLong_Check(o)) {
        int overflow = 0;
        const long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow != 0) return "integer does not fit in 64 bits";
        if (x == -1 && PyErr_Occurred() != nullptr) {
          PyErr_Clear();
          return "integer conversion failed";
        }
        *v = Value::Int(x);
      } else if (PyFloat_Check(o)) {
        *v = Value::Float(PyFloat_AsDouble(o));
      } else if (PyUnicode_Check(o)) {
        Py_ssize_t n = 0;
        const char* s = PyUnicode_AsUTF8AndSize(o, &n);
        if (s == nullptr) {
          PyErr_Clear();
          return "string is not encodable as UTF-8";
        }
        *v = Value::Str(std::string(s, static_cast<size_t>(n)));
      } else if (PyBytes_Check(o)) {
        *v = Value::Bytes(std::string(PyBytes_AsString(o), static_cast<size_t>(PyBytes_Size(o))));
      } else if (PyList_Check(o) || PyTuple_Check(o)) {
        // A tuple snapshot owned by keep_: Python code that runs later in the conversion (a
        // tensor attribute) cannot free the items under us by mutating the list.
        py::object snap = py::reinterpret_steal<py::object>(PySequence_Tuple(o));
        if (!snap) {
          PyErr_Clear();
          return "cannot read a sequence";
        }
        v->kind = PyList_Check(o) ? Kind::kList : Kind::kTuple;
        v->items.resize(static_cast<size_t>(PyTuple_GET_SIZE(snap.ptr())));
        for (size_t i = 0; i < v->items.size(); ++i) {
          todo.push_back({PyTuple_GET_ITEM(snap.ptr(), static_cast<Py_ssize_t>(i)), &v->items[i],
                          it.depth + 1});
        }
        keep_.push_back(std::move(snap));
      } else if (PyDict_Check(o)) {
        py::object items = py::reinterpret_steal<py::object>(PyDict_Items(o));
        if (!items) {
          PyErr_Clear();
          return "cannot read a dict";
        }
        v->kind = Kind::kDict;
        v->entries.resize(static_cast<size_t>(PyList_GET_SIZE(items.ptr())));
        for (size_t i = 0; i < v->entries.size(); ++i) {
          PyObject* pair = PyList_GET_ITEM(items.ptr(), static_cast<Py_ssize_t>(i));
          PyObject* key = PyTuple_GET_ITEM(pair, 0);
          if (!PyUnicode_Check(key)) return "dict key is not a str";
          Py_ssize_t n = 0;
          const char* k = PyUnicode_AsUTF8AndSize(key, &n);
          if (k == nullptr) {
            PyErr_Clear();
            return "dict key is not encodable as UTF-8";
          }
          v->entries[i].first.assign(k, static_cast<size_t>(n));
          todo.push_back({PyTuple_GET_ITEM(pair, 1), &v->entries[i].second, it.depth + 1});
        }
        keep_.push_back(std::move(items));
      } else if (!torch_.tensor_type.is_none() && py::isinstance(it.obj, torch_.tensor_type)) {
        std::string err = ConvertTensor(it.obj, v);
        if (!err.empty()) return err;
      } else {
        return "cannot send a " + std::string(Py_TYPE(o)->tp_name) +
               " across the sandbox (plain data and tensors only)";
      }
    }
    return "";
  }

  // Sets each tensor's storage_byte_offset once the arena placed the chunks at `offsets`.
  void PlaceChunks(const std::vector<uint64_t>& offsets) {
    for (auto& [ref, chunk] : fixups_) ref->storage_byte_offset = offsets[chunk];
  }

 private:
  std::string ConvertTensor(pybind11::handle o, Value* v) {
    namespace py = pybind11;
    py::object t = o.attr("detach")();
    if (t.attr("device").attr("type").cast<std::string>() != "cpu") {
      return "only CPU tensors cross the sandbox";
    }
    if (t.attr("is_sparse").cast<bool>() || t.attr("is_quantized").cast<bool>()) {
      return "only dense tensors cross the sandbox";
    }
    py::object dtype = t.attr("dtype");
    if (!torch_.dtypes.contains(dtype))
      return "tensor dtype " + py::str(dtype).cast<std::string>() + " is not on the allow-list";
    py::object storage = t.attr("storage")();
    const uintptr_t ptr = storage.attr("data_ptr")().cast<uintptr_t>();
    const uint64_t nbytes = storage.attr("nbytes")().cast<uint64_t>();
    TensorRef r;
    r.dtype = static_cast<DType>(torch_.dtypes[dtype].cast<int>());
    for (auto d : t.attr("shape")) r.shape.push_back(d.cast<int64_t>());
    for (auto s : t.attr("stride")()) r.strides.push_back(s.cast<int64_t>());
    r.storage_offset = t.attr("storage_offset")().cast<int64_t>();
    r.storage_nbytes = nbytes;
    // Storages of size 0 share data_ptr 0: each gets its own (empty) chunk.
    auto [pos, inserted] = chunk_of_.emplace(nbytes == 0 ? 0 : ptr, chunks.size());
    if (inserted || nbytes == 0) {
      if (!inserted) pos->second = chunks.size();
      chunks.emplace_back(reinterpret_cast<const uint8_t*>(ptr), nbytes);
    }
    // Keep the detached view alive: its storage backs the chunk until the arena is built.
    keep_.push_back(t);
    *v = Value::Tensor(std::move(r));
    fixups_.emplace_back(&v->tensor, pos->second);
    return "";
  }

  const SandboxLimits& limits_;
  TorchTypes torch_;
  std::map<uintptr_t, size_t> chunk_of_;  // storage data pointer -> chunk
  std::vector<std::pair<TensorRef*, size_t>> fixups_;
  std::vector<pybind11::object> keep_;
};

// Value -> Python with an explicit stack; each tensor becomes make_tensor(...)'s return value.
inline pybind11::object ValueToPy(const Value& root, const pybind11::handle& make_tensor,
                                  const pybind11::list& arenas) {
  namespace py = pybind11;
  struct Item {
    const Value* v;
    py::object* slot;
  };
  struct Pending {
    const Value* v;
    py::object* slot;
    std::vector<std::unique_ptr<py::object>> children;
  };
  py::object result;
  std::vector<Item> todo{{&root, &result}};
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
        *it.slot = make_tensor(arenas, std::string(DTypeName(static_cast<uint8_t>(t.dtype))),
                               t.shape, t.strides, t.storage_offset, t.fd_index,
                               t.storage_byte_offset, t.storage_nbytes);
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
  // Children were queued after their parents: build containers innermost first.
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

}  // namespace sealpkg::sandbox

#pragma GCC visibility pop
