// sealpkg-worker: loads one package resource inside the sandbox and sends back plain data and
// tensors (never pickle). Started by the launcher (launcher.h) with the IPC socket on fd 3 and
// the archive as a sealed memfd on fd 4. Start-up order (shared/reference/sandboxing.md):
//   fds 0-4 only -> setsid + PDEATHSIG -> drop root -> namespaces -> rlimits -> Landlock ->
//   isolated CPython, pre-import torch/numpy/sealpkg + warm-up -> NO_NEW_PRIVS + seccomp
//   (TSYNC) -> READY -> request from fd 3 -> sealpkg.PackageImporter over the memfd ->
//   load_pickle -> result (tensors in one sealed memfd arena) -> _exit.
//
//   sealpkg-worker serve --parent PID --python-path DIR [--preload a,b] [--threads N] ...
//   sealpkg-worker selftest     # applies every layer without Python and prints which are active
//   sealpkg-worker policy       # prints the seccomp policy table
#include <pybind11/embed.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "sandbox/channel.h"
#include "sandbox/ipc.h"
#include "sandbox/isolation.h"
#include "sandbox/seccomp_policy.h"
#include "sandbox/tensor_transport.h"

namespace py = pybind11;
using namespace sealpkg;           // NOLINT
using namespace sealpkg::sandbox;  // NOLINT

namespace {

constexpr int kSocketFd = 3;
constexpr int kArchiveFd = 4;

struct Options {
  std::string mode;
  pid_t parent = 0;
  std::string python_path;
  std::vector<std::string> preload;
  int threads = 1;
  bool allow_exec_memory = false;
  bool require_full = false;
  bool diagnose = false;
  bool no_torch = false;
  SandboxLimits limits;
};

[[noreturn]] void Die(int code, const std::string& what) {
  std::fprintf(stderr, "sealpkg-worker: %s\n", what.c_str());
  std::fflush(stderr);
  ::_exit(code);
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const std::string part =
        s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Options Parse(int argc, char** argv) {
  Options o;
  if (argc < 2) Die(2, "usage: sealpkg-worker serve|selftest|policy [options]");
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(2, "missing value for " + a);
      return argv[++i];
    };
    auto num = [&]() { return std::strtoull(next().c_str(), nullptr, 10); };
    if (a == "--parent")
      o.parent = static_cast<pid_t>(num());
    else if (a == "--python-path")
      o.python_path = next();
    else if (a == "--preload")
      o.preload = Split(next());
    else if (a == "--threads")
      o.threads = static_cast<int>(num());
    else if (a == "--cpu-seconds")
      o.limits.cpu_seconds = num();
    else if (a == "--address-space")
      o.limits.address_space_bytes = num();
    else if (a == "--file-size")
      o.limits.file_size_bytes = num();
    else if (a == "--open-files")
      o.limits.open_files = num();
    else if (a == "--unsafe-allow-exec-memory")
      o.allow_exec_memory = true;
    else if (a == "--require-full-isolation")
      o.require_full = true;
    else if (a == "--diagnose")
      o.diagnose = true;
    else if (a == "--no-torch")
      o.no_torch = true;
    else
      Die(2, "unknown option " + a);
  }
  return o;
}

// Diagnose mode only: the blocked syscall's number reaches stderr before the process exits.
void OnSigsys(int, siginfo_t* info, void*) {
  char buf[64];
  int n = 0;
  const char prefix[] = "seccomp: blocked syscall ";
  for (char c : prefix) {
    if (c != 0) buf[n++] = c;
  }
  int nr = info->si_syscall;
  char digits[12];
  int d = 0;
  do {
    digits[d++] = static_cast<char>('0' + nr % 10);
    nr /= 10;
  } while (nr > 0 && d < 11);
  while (d > 0) buf[n++] = digits[--d];
  buf[n++] = '\n';
  if (::write(2, buf, static_cast<size_t>(n)) < 0) ::_exit(159);
  ::_exit(159);
}

SeccompOptions PolicyOptions(const Options& o) {
  SeccompOptions s;
  s.ipc_fd = kSocketFd;
  s.self_pid = ::getpid();
  s.diagnose = o.diagnose;
  if (o.allow_exec_memory) s.AllowExecMemory(UnsafeAllowExecMemory{});
  return s;
}

std::vector<std::string> ReadablePaths(const Options& o) {
  std::vector<std::string> paths = {"/usr",  "/lib", "/lib64",       "/etc",
                                    "/proc", "/sys", "/dev/urandom", "/dev/null"};
  if (!o.python_path.empty()) paths.push_back(o.python_path);
  return paths;
}

IsolationReport Isolate(const Options& o) {
  IsolationReport report;
  Status s = DropRoot(&report);
  if (!s.ok()) Die(40, s.ToString());
  EnterNamespaces(&report);
  s = ApplyRlimits(o.limits, &report);
  if (!s.ok()) Die(41, s.ToString());
  ApplyLandlock(ReadablePaths(o), &report);
  return report;
}

void LockDown(const Options& o, IsolationReport* report) {
  if (o.diagnose) {
    struct sigaction sa {};
    sa.sa_sigaction = OnSigsys;
    sa.sa_flags = SA_SIGINFO;
    ::sigaction(SIGSYS, &sa, nullptr);
  }
  const Status s = InstallSeccompPolicy(PolicyOptions(o));
  if (!s.ok()) Die(42, s.ToString());
  report->seccomp = true;
}

// The Python side of one load, compiled before lockdown.
constexpr const char* kWorkerPy = R"PY(
import sealpkg

def load(buffer, op, package, resource):
    importer = sealpkg.PackageImporter(buffer)
    obj = importer.load_pickle(package, resource)
    if op == "state_dict":
        if not hasattr(obj, "state_dict"):
            raise TypeError(f"{type(obj).__name__} has no state_dict()")
        obj = obj.state_dict()
    return obj

def describe(exc):
    import traceback
    text = "".join(traceback.format_exception(exc))
    return type(exc).__name__, str(exc), text
)PY";

constexpr const char* kWarmUpPy = R"PY(
import io, torch
torch.set_num_threads(THREADS)
a = torch.randn(64, 64)
b = a @ a
buf = io.BytesIO()
torch.save({"a": a, "b": b}, buf)
buf.seek(0)
torch.load(buf)
torch.frombuffer(bytearray(16), dtype=torch.float32)
(a.half().float() + a.to(torch.bfloat16).float()).sum().item()
)PY";

struct Converter {
  py::object torch_tensor;  // torch.Tensor, or None without torch
  py::dict dtypes;          // torch dtype -> DType value
  std::vector<std::span<const uint8_t>> chunks;
  std::map<uintptr_t, size_t> chunk_of;  // storage data pointer -> chunk
  std::vector<std::pair<TensorRef*, size_t>> fixups;
  const SandboxLimits& limits;

  explicit Converter(const SandboxLimits& l) : limits(l) {}

  // Python object -> Value, with an explicit stack. Returns an error text or "".
  std::string Convert(py::handle root, Value* out) {
    struct Item {
      py::handle obj;
      Value* slot;
      size_t depth;
    };
    std::vector<Item> todo{{root, out, 0}};
    uint64_t count = 0;
    while (!todo.empty()) {
      Item it = todo.back();
      todo.pop_back();
      if (++count > limits.max_values) return "result has more values than max_values";
      if (it.depth > limits.max_depth) return "result nested deeper than max_depth";
      py::handle o = it.obj;
      Value* v = it.slot;
      if (o.is_none()) {
        v->kind = Kind::kNone;
      } else if (PyBool_Check(o.ptr())) {
        *v = Value::Bool(o.ptr() == Py_True);
      } else if (PyLong_Check(o.ptr())) {
        int overflow = 0;
        const long long x = PyLong_AsLongLongAndOverflow(o.ptr(), &overflow);
        if (overflow != 0) return "integer does not fit in 64 bits";
        *v = Value::Int(x);
      } else if (PyFloat_Check(o.ptr())) {
        *v = Value::Float(PyFloat_AsDouble(o.ptr()));
      } else if (PyUnicode_Check(o.ptr())) {
        Py_ssize_t n = 0;
        const char* s = PyUnicode_AsUTF8AndSize(o.ptr(), &n);
        if (s == nullptr) {
          PyErr_Clear();
          return "string is not encodable as UTF-8";
        }
        *v = Value::Str(std::string(s, static_cast<size_t>(n)));
      } else if (PyBytes_Check(o.ptr())) {
        *v = Value::Bytes(
            std::string(PyBytes_AsString(o.ptr()), static_cast<size_t>(PyBytes_Size(o.ptr()))));
      } else if (PyList_Check(o.ptr()) || PyTuple_Check(o.ptr())) {
        const bool is_list = PyList_Check(o.ptr());
        py::sequence seq = py::reinterpret_borrow<py::sequence>(o);
        v->kind = is_list ? Kind::kList : Kind::kTuple;
        v->items.resize(seq.size());
        for (size_t i = 0; i < v->items.size(); ++i) {
          todo.push_back({seq[i].ptr(), &v->items[i], it.depth + 1});
        }
      } else if (PyDict_Check(o.ptr())) {
        py::dict d = py::reinterpret_borrow<py::dict>(o);
        v->kind = Kind::kDict;
        v->entries.resize(d.size());
        size_t i = 0;
        for (auto [k, val] : d) {
          if (!PyUnicode_Check(k.ptr())) return "dict key is not a str";
          v->entries[i].first = k.cast<std::string>();
          todo.push_back({val.ptr(), &v->entries[i].second, it.depth + 1});
          ++i;
        }
      } else if (!torch_tensor.is_none() && py::isinstance(o, torch_tensor)) {
        std::string err = ConvertTensor(o, v);
        if (!err.empty()) return err;
      } else {
        return "cannot return a " + std::string(Py_TYPE(o.ptr())->tp_name) +
               " from the sandbox (plain data and tensors only)";
      }
    }
    return "";
  }

  std::string ConvertTensor(py::handle o, Value* v) {
    py::object t = o.attr("detach")();
    if (!t.attr("device").attr("type").cast<std::string>().empty() &&
        t.attr("device").attr("type").cast<std::string>() != "cpu") {
      return "only CPU tensors cross the sandbox";
    }
    py::object dtype = t.attr("dtype");
    if (!dtypes.contains(dtype))
      return "tensor dtype " + py::str(dtype).cast<std::string>() + " is not on the allow-list";
    py::object storage = t.attr("storage")();
    const uintptr_t ptr = storage.attr("data_ptr")().cast<uintptr_t>();
    const uint64_t nbytes = storage.attr("nbytes")().cast<uint64_t>();
    TensorRef r;
    r.dtype = static_cast<DType>(dtypes[dtype].cast<int>());
    for (auto d : t.attr("shape")) r.shape.push_back(d.cast<int64_t>());
    for (auto s : t.attr("stride")()) r.strides.push_back(s.cast<int64_t>());
    r.storage_offset = t.attr("storage_offset")().cast<int64_t>();
    r.storage_nbytes = nbytes;
    auto [pos, inserted] = chunk_of.emplace(ptr, chunks.size());
    if (inserted) {
      chunks.emplace_back(reinterpret_cast<const uint8_t*>(ptr), nbytes);
    }
    *v = Value::Tensor(std::move(r));
    fixups.emplace_back(&v->tensor, pos->second);
    return "";
  }
};

void SendError(const std::string& type, const std::string& message, const SandboxLimits& limits) {
  auto cap = [&](std::string s) {
    if (s.size() > limits.max_error_bytes) s.resize(limits.max_error_bytes);
    // Cut inside a UTF-8 sequence? Drop trailing continuation bytes.
    while (!s.empty() && (static_cast<uint8_t>(s.back()) & 0xC0) == 0x80) s.pop_back();
    if (!s.empty() && static_cast<uint8_t>(s.back()) >= 0xC0) s.pop_back();
    return s;
  };
  const Value v =
      Value::Dict({{"type", Value::Str(cap(type))}, {"message", Value::Str(cap(message))}});
  const Status s = SendMessage(kSocketFd, MessageType::kError, v, {}, limits);
  if (!s.ok()) Die(43, s.ToString());
}

int Serve(const Options& o) {
  // 1. Only fds 0-4 survive; fd 3 must be our socket, fd 4 the sealed archive.
  if (!SanitizeFds(kArchiveFd).ok()) Die(30, "close_range failed");
  struct stat st {};
  if (::fstat(kSocketFd, &st) != 0 || !S_ISSOCK(st.st_mode)) Die(31, "fd 3 is not a socket");
  auto archive_size = CheckReceivedFd(kArchiveFd);
  if (!archive_size.ok()) Die(32, "fd 4: " + archive_size.status().ToString());
  const Status detached = DetachFromParent(o.parent);
  if (!detached.ok()) Die(33, detached.ToString());
  ::clearenv();
  ::setenv("OMP_NUM_THREADS", std::to_string(o.threads).c_str(), 1);

  // 2-4. Identity, namespaces, rlimits, Landlock.
  IsolationReport report = Isolate(o);

  // The archive mapping is made now; the bytes are sealed, so nothing can change them.
  void* archive = nullptr;
  if (*archive_size > 0) {
    archive = ::mmap(nullptr, *archive_size, PROT_READ, MAP_SHARED, kArchiveFd, 0);
    if (archive == MAP_FAILED) Die(34, std::string("mmap archive: ") + std::strerror(errno));
  }

  // 5. Isolated CPython with site (dist-packages holds torch), pre-import and warm-up.
  PyConfig config;
  PyConfig_InitIsolatedConfig(&config);
  config.site_import = 1;
  config.install_signal_handlers = 0;
  py::scoped_interpreter guard(&config);
  py::module_ sys = py::module_::import("sys");
  if (!o.python_path.empty()) sys.attr("path").attr("insert")(0, o.python_path);
  py::dict ns;
  Converter conv(o.limits);
  try {
    for (const char* m :
         {"pickle", "io", "traceback", "linecache", "zipfile", "collections", "inspect",
          "importlib", "importlib.resources", "sealpkg", "sealpkg.package_importer"}) {
      py::module_::import(m);
    }
    if (!o.no_torch) {
      py::module_ torch = py::module_::import("torch");
      py::module_::import("numpy");
      py::exec(std::string(kWarmUpPy).replace(std::string(kWarmUpPy).find("THREADS"), 7,
                                              std::to_string(o.threads)));
      conv.torch_tensor = torch.attr("Tensor");
      const std::pair<const char*, DType> names[] = {
          {"float32", DType::kFloat32}, {"float64", DType::kFloat64},
          {"float16", DType::kFloat16}, {"bfloat16", DType::kBFloat16},
          {"int8", DType::kInt8},       {"uint8", DType::kUInt8},
          {"int16", DType::kInt16},     {"int32", DType::kInt32},
          {"int64", DType::kInt64},     {"bool", DType::kBool}};
      for (const auto& [name, d] : names) conv.dtypes[torch.attr(name)] = static_cast<int>(d);
    } else {
      conv.torch_tensor = py::none();
    }
    for (const std::string& m : o.preload) py::module_::import(m.c_str());
    py::exec(kWorkerPy, ns);
  } catch (const std::exception& e) {
    Die(35, std::string("start-up import failed: ") + e.what());
  }

  // 6. Lockdown.
  LockDown(o, &report);
  if (o.require_full && !report.full()) {
    SendError("SandboxDegraded", report.ToText(), o.limits);
    ::_exit(36);
  }
  Status s = SendMessage(kSocketFd, MessageType::kReady, report.ToValue(), {}, o.limits);
  if (!s.ok()) Die(37, s.ToString());

  // 7. One request.
  auto received = ReceiveMessage(kSocketFd, o.limits);
  if (!received.ok()) Die(38, received.status().ToString());
  auto request = DecodeMessage(received->bytes, 0, o.limits);
  if (!request.ok() || request->type != MessageType::kRequest) Die(39, "bad request");
  const Value* op = request->value.Find("op");
  const Value* package = request->value.Find("package");
  const Value* resource = request->value.Find("resource");
  if (op == nullptr || package == nullptr || resource == nullptr || op->kind != Kind::kStr ||
      package->kind != Kind::kStr || resource->kind != Kind::kStr) {
    Die(39, "request lacks op/package/resource");
  }

  Value result;
  std::string error;
  try {
    py::memoryview view = py::memoryview::from_memory(archive, static_cast<ssize_t>(*archive_size),
                                                      /*readonly=*/true);
    py::object obj = ns["load"](view, op->s, package->s, resource->s);
    error = conv.Convert(obj, &result);
    if (!error.empty()) {
      SendError("TypeError", error, o.limits);
      ::_exit(0);
    }
  } catch (py::error_already_set& e) {
    std::string type = "Exception", message, text;
    try {
      py::tuple d = ns["describe"](e.value());
      type = d[0].cast<std::string>();
      message = d[1].cast<std::string>() + "\n" + d[2].cast<std::string>();
    } catch (...) {
      message = e.what();
    }
    SendError(type, message, o.limits);
    ::_exit(0);
  }
  std::vector<uint64_t> offsets;
  auto arena = BuildSealedArena(conv.chunks, &offsets);
  if (!arena.ok()) {
    SendError("MemoryError", arena.status().ToString(), o.limits);
    ::_exit(0);
  }
  for (auto& [ref, chunk] : conv.fixups) ref->storage_byte_offset = offsets[chunk];
  const int fds[] = {arena->get()};
  s = SendMessage(kSocketFd, MessageType::kResult, result, fds, o.limits);
  if (!s.ok()) {
    SendError("ResultTooLarge", s.ToString(), o.limits);
    ::_exit(0);
  }
  // Skip Py_Finalize and destructors: they need syscalls the policy does not allow.
  std::fflush(nullptr);
  ::_exit(0);
}

int SelfTest(const Options& o) {
  IsolationReport report = Isolate(o);
  LockDown(o, &report);
  const std::string text = report.ToText();
  if (::write(1, text.data(), text.size()) < 0) ::_exit(1);
  ::_exit(report.full() ? 0 : 3);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  if (o.mode == "policy") {
    SeccompOptions s = PolicyOptions(o);
    std::fputs(SeccompPolicyTable(s).c_str(), stdout);
    return 0;
  }
  if (o.mode == "selftest") return SelfTest(o);
  if (o.mode == "serve") return Serve(o);
  Die(2, "unknown mode " + o.mode);
}
