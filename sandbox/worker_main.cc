// sealpkg-worker: serves one sandbox session (session.h) inside the sandbox and sends back plain
// data and tensors (never pickle). Two ways to start:
//
// serve (exec mode): started by the launcher with the IPC socket on fd 3 and the archive as a
//   sealed memfd on fd 4. Start-up order (shared/reference/sandboxing.md): fds 0-4 only ->
//   setsid + PDEATHSIG -> drop root -> namespaces -> rlimits -> Landlock -> isolated CPython,
//   pre-import torch/numpy/sealpkg + warm-up -> NO_NEW_PRIVS + seccomp (TSYNC) -> READY ->
//   requests from fd 3 until "close" or EOF -> _exit.
// forkserver: the same layers up to the warm-up (torch with one thread), then the seccomp policy
//   compiled ONCE to BPF, READY, and a loop over control requests on fd 3: "fork" carries a fresh
//   socket, the sealed archive and an output pipe; the server checks it is single-threaded,
//   forks, and the child (PyOS_AfterFork_Child, PDEATHSIG, fds moved to 1-4, everything else
//   closed) installs the pre-compiled filter with the raw seccomp(2) call and runs the same
//   session loop as exec mode. The server replies {"pid"}; it reaps a child only when the
//   parent asks ("wait" -> {"pid", "status": raw wait status}), so the parent's pidfd names that
//   child until then, and never interprets what a child says. No package code ever runs in the
//   server itself.
//
// Requests in a session: load_pickle / state_dict (the result), load (the object stays here
// under an int handle; reply {"handle", "type", "methods"}), call (a public method of a handle
// with args/kwargs; tensor args arrive in a sealed memfd the worker checks exactly as the parent
// checks ours, mapped copy-on-write; run under torch.no_grad() unless "no_grad" is false),
// release, close. A Python exception becomes an error reply and the session goes on.
//
//   sealpkg-worker serve --parent PID --python-path DIR [--preload a,b] [--threads N] ...
//   sealpkg-worker forkserver --parent PID ...  # same options
//   sealpkg-worker selftest     # applies every layer without Python and prints which are active
//   sealpkg-worker policy       # prints the seccomp policy table
#include <Python.h>
#include <dirent.h>
#include <fcntl.h>
#include <pybind11/embed.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/channel.h"
#include "sandbox/ipc.h"
#include "sandbox/isolation.h"
#include "sandbox/seccomp_policy.h"
#include "sandbox/session_python.h"
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
  bool pretend_no_seccomp = false;  // test hook: behave as if seccomp were unavailable
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
  if (argc < 2) Die(2, "usage: sealpkg-worker serve|forkserver|selftest|policy [options]");
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
    else if (a == "--unsafe-test-pretend-no-seccomp")
      o.pretend_no_seccomp = true;
    else
      Die(2, "unknown option " + a);
  }
  return o;
}

// Diagnose mode only: the blocked syscall's number reaches stderr, then the worker dies of the
// SIGSYS itself, so the parent's verdict still comes from the wait status (the text is a hint).
// Async-signal-safe: write, sigaction, sigprocmask and tgkill on itself (all allowed).
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
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGSYS, &dfl, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGSYS);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  ::syscall(SYS_tgkill, ::getpid(), ::syscall(SYS_gettid), SIGSYS);
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

void InstallSigsysHandler(const Options& o) {
  if (!o.diagnose) return;
  struct sigaction sa {};
  sa.sa_sigaction = OnSigsys;
  sa.sa_flags = SA_SIGINFO;
  ::sigaction(SIGSYS, &sa, nullptr);
}

// `compiled`: the fork server's pre-compiled filter (child side), else libseccomp compiles now.
void LockDown(const Options& o, IsolationReport* report, CompiledSeccompPolicy* compiled) {
  if (o.pretend_no_seccomp) {
    // Test hook (--unsafe-test-pretend-no-seccomp): the degraded path of a kernel without
    // seccomp, so require_full_isolation's refusal and the report can be tested.
    report->seccomp = false;
    report->notes.push_back("seccomp: unavailable (pretended by --unsafe-test-pretend-no-seccomp)");
    return;
  }
  InstallSigsysHandler(o);
  const Status s = compiled != nullptr ? InstallCompiledSeccompPolicy(compiled, ::getpid())
                                       : InstallSeccompPolicy(PolicyOptions(o));
  if (!s.ok()) Die(42, s.ToString());
  report->seccomp = true;
}

// Installed last before lockdown: after it nothing can be read from disk, so a module that was
// not pre-imported is simply missing. Without this the path finder's stat/getcwd calls hit the
// errno tier and `import x` raises PermissionError, which `try: import accimage / except
// ImportError` in real packages (torchvision) does not catch. Built-in and frozen modules need no
// file and stay importable.
constexpr const char* kNothingFromDiskPy = R"PY(
import sys

class NothingFromDiskFinder:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        raise ModuleNotFoundError(
            f"No module named {name!r} (sealpkg sandbox: only modules imported before lockdown "
            f"exist in the worker; preload= adds one)", name=name)

    @classmethod
    def invalidate_caches(cls):
        pass

sys.meta_path[:] = [f for f in sys.meta_path
                    if getattr(f, "__name__", "") in ("BuiltinImporter", "FrozenImporter")]
sys.meta_path.append(NothingFromDiskFinder)
sys.path_importer_cache.clear()
)PY";

// The Python side of a session, compiled before lockdown.
constexpr const char* kWorkerPy = R"PY(
import sealpkg
from sealpkg import _mangling

_state = {"importer": None, "next": 1}
_handles = {}

def _importer(buffer):
    if _state["importer"] is None:
        _state["importer"] = sealpkg.PackageImporter(buffer)
    return _state["importer"]

def _type_name(obj):
    t = type(obj)
    module = t.__module__ or ""
    if _mangling.is_mangled(module):
        module = _mangling.demangle(module)
    return f"{module}.{t.__qualname__}"

def _methods(obj):
    out = []
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            attr = getattr(obj, name)
        except Exception:
            continue
        if callable(attr):
            out.append(name)
    return out

def _handle(req):
    handle = req.get("handle")
    if type(handle) is not int or handle not in _handles:
        raise LookupError(f"no loaded object with handle {handle!r}")
    return handle

def dispatch(buffer, req, torch):
    op = req.get("op")
    if op in ("load_pickle", "state_dict", "load"):
        obj = _importer(buffer).load_pickle(req["package"], req["resource"])
        if op == "state_dict":
            if not hasattr(obj, "state_dict"):
                raise TypeError(f"{type(obj).__name__} has no state_dict()")
            return obj.state_dict()
        if op == "load":
            handle = _state["next"]
            _state["next"] += 1
            _handles[handle] = obj
            return {"handle": handle, "type": _type_name(obj), "methods": _methods(obj)}
        return obj
    if op == "call":
        obj = _handles[_handle(req)]
        method = req.get("method")
        if type(method) is not str or method.startswith("_"):
            raise AttributeError(f"method {method!r} refused: only public methods can be called")
        if method not in _methods(obj):
            raise AttributeError(f"{_type_name(obj)} has no public method {method!r}")
        args = req.get("args", [])
        kwargs = req.get("kwargs", {})
        if type(args) not in (list, tuple) or type(kwargs) is not dict:
            raise TypeError("call needs args as a list and kwargs as a dict")
        fn = getattr(obj, method)
        if torch is not None and req.get("no_grad", True) is not False:
            with torch.no_grad():
                return fn(*args, **kwargs)
        return fn(*args, **kwargs)
    if op == "release":
        del _handles[_handle(req)]
        return None
    raise ValueError(f"unknown request op {op!r}")

def make_tensor(arenas, dtype, shape, strides, storage_offset, fd_index, byte_offset, nbytes):
    import torch
    tdtype = getattr(torch, dtype)
    if nbytes == 0:
        return torch.empty(shape, dtype=tdtype)
    # Checked by C++ (seals, sizes, offsets, dtype); a view of the copy-on-write mapping.
    raw = torch.frombuffer(arenas[fd_index], dtype=torch.uint8, count=nbytes, offset=byte_offset)
    return raw.view(tdtype).as_strided(shape, strides, storage_offset)

def describe(exc):
    import traceback
    text = "".join(traceback.format_exception(exc))
    return type(exc).__name__, str(exc), text
)PY";

constexpr const char* kWarmUpPy = R"PY(
import io, torch
torch.set_num_threads(THREADS)
# oneDNN (mkldnn) JIT-compiles kernels into new executable memory, which the policy refuses
# (no PROT_EXEC) unless --unsafe-allow-exec-memory: use torch's native CPU kernels instead.
torch.backends.mkldnn.enabled = MKLDNN
a = torch.randn(64, 64)
b = a @ a
buf = io.BytesIO()
torch.save({"a": a, "b": b}, buf)
buf.seek(0)
torch.load(buf)
torch.frombuffer(bytearray(16), dtype=torch.float32)
(a.half().float() + a.to(torch.bfloat16).float()).sum().item()
with torch.no_grad():
    torch.nn.functional.conv2d(torch.randn(1, 3, 8, 8), torch.randn(4, 3, 3, 3)).relu().mean()
)PY";

}  // namespace

struct WorkerArena {
  explicit WorkerArena(MappedArena a) : arena(std::move(a)) {}
  MappedArena arena;
};

namespace {

// The interpreter and what every request needs, prepared before lockdown.
struct Runtime {
  py::dict ns;
  py::object torch = py::none();
  TorchTypes torch_types;
};

bool IsDottedIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  bool start = true;
  for (const char c : name) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (c == '.') {
      if (start) return false;
      start = true;
    } else if (alpha || (digit && !start)) {
      start = false;
    } else {
      return false;
    }
  }
  return !start;
}

// `--preload` entries: "name" must import (start-up fails otherwise); "?name" is one of the
// package's policy-allowed externs and is imported if this machine has it (a missing optional
// dependency such as torchvision's accimage stays missing, as it would be in-process).
void PreloadModule(const std::string& entry) {
  const bool optional = !entry.empty() && entry.front() == '?';
  const std::string name = optional ? entry.substr(1) : entry;
  if (!IsDottedIdentifier(name)) Die(35, "preload: not a module name: " + name);
  if (!optional) {
    py::module_::import(name.c_str());
    return;
  }
  try {
    py::module_::import(name.c_str());
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_ImportError)) throw;
  }
}

Runtime StartPython(const Options& o, int threads) {
  // Isolated CPython with site (dist-packages holds torch). Never finalized: we _exit.
  PyConfig config;
  PyConfig_InitIsolatedConfig(&config);
  config.site_import = 1;
  config.install_signal_handlers = 0;
  new py::scoped_interpreter(&config);
  Runtime rt;
  try {
    py::module_ sys = py::module_::import("sys");
    if (!o.python_path.empty()) sys.attr("path").attr("insert")(0, o.python_path);
    for (const char* m : {"pickle", "io", "traceback", "linecache", "zipfile", "collections",
                          "inspect", "importlib", "importlib.resources", "sealpkg",
                          "sealpkg.package_importer", "sealpkg._mangling", "_sealpkg_worker"}) {
      py::module_::import(m);
    }
    if (!o.no_torch) {
      rt.torch = py::module_::import("torch");
      py::module_::import("numpy");
      std::string warm = kWarmUpPy;
      warm.replace(warm.find("THREADS"), 7, std::to_string(threads));
      warm.replace(warm.find("MKLDNN"), 6, o.allow_exec_memory ? "True" : "False");
      py::exec(warm);
    } else {
      // A stdlib-only worker: `import torch` must fail as ImportError (a missing module), not
      // as the PermissionError the errno tier gives a path search after lockdown.
      sys.attr("modules")["torch"] = py::none();
    }
    rt.torch_types = TorchDtypes();
    for (const std::string& entry : o.preload) PreloadModule(entry);
    py::exec(kWorkerPy, rt.ns);
    py::dict finder_ns;
    py::exec(kNothingFromDiskPy, finder_ns);
  } catch (const std::exception& e) {
    Die(35, std::string("start-up import failed: ") + e.what());
  }
  return rt;
}

std::string CapUtf8(std::string s, uint64_t cap) {
  if (s.size() > cap) s.resize(cap);
  // Cut inside a UTF-8 sequence? Drop trailing continuation bytes and the lead byte.
  while (!s.empty() && (static_cast<uint8_t>(s.back()) & 0xC0) == 0x80) s.pop_back();
  if (!s.empty() && static_cast<uint8_t>(s.back()) >= 0xC0) s.pop_back();
  return s;
}

void SendError(const std::string& type, const std::string& message, const SandboxLimits& limits) {
  const Value v = Value::Dict({{"type", Value::Str(CapUtf8(type, limits.max_error_bytes))},
                               {"message", Value::Str(CapUtf8(message, limits.max_error_bytes))}});
  const Status s = SendMessage(kSocketFd, MessageType::kError, v, {}, limits);
  if (!s.ok()) Die(43, s.ToString());
}

void SendPythonError(Runtime& rt, py::error_already_set& e, const SandboxLimits& limits) {
  std::string type = "Exception", message;
  try {
    py::tuple d = rt.ns["describe"](e.value());
    type = d[0].cast<std::string>();
    message = d[1].cast<std::string>() + "\n" + d[2].cast<std::string>();
  } catch (...) {
    message = e.what();
  }
  SendError(type, message, limits);
}

// Maps the tensor-argument fds of a request after checking them exactly as the parent checks
// ours: sealed unlinked memfds, every tensor inside its fd, the total within budget.
std::string MapArguments(const Value& request, const std::vector<UniqueFd>& fds,
                         const SandboxLimits& limits, py::list* arenas) {
  std::vector<uint64_t> sizes;
  for (const UniqueFd& fd : fds) {
    auto size = CheckReceivedFd(fd.get());
    if (!size.ok()) return size.status().ToString();
    sizes.push_back(*size);
  }
  const Status fit = CheckTensorsFit(request, sizes, limits);
  if (!fit.ok()) return fit.ToString();
  for (size_t i = 0; i < fds.size(); ++i) {
    auto arena = MappedArena::Map(fds[i].get(), sizes[i], /*copy_on_write=*/true);
    if (!arena.ok()) return arena.status().ToString();
    arenas->append(py::cast(std::make_shared<WorkerArena>(std::move(arena).value())));
  }
  return "";
}

void HandleRequest(const Options& o, Runtime& rt, const py::object& archive, const Value& request,
                   const std::vector<UniqueFd>& fds) {
  py::list arenas;
  const std::string bad = MapArguments(request, fds, o.limits, &arenas);
  if (!bad.empty()) {
    SendError("SandboxArgumentError", bad, o.limits);
    return;
  }
  Value result;
  PyToValue conv(o.limits, rt.torch_types);
  try {
    py::object req = ValueToPy(request, rt.ns["make_tensor"], arenas);
    py::object obj = rt.ns["dispatch"](archive, req, rt.torch);
    const std::string error = conv.Convert(obj, &result);
    if (!error.empty()) {
      SendError("TypeError", "the result: " + error, o.limits);
      return;
    }
  } catch (py::error_already_set& e) {
    SendPythonError(rt, e, o.limits);
    return;
  } catch (const std::exception& e) {
    SendError("Exception", e.what(), o.limits);
    return;
  }
  std::vector<uint64_t> offsets;
  auto arena = BuildSealedArena(conv.chunks, &offsets);
  if (!arena.ok()) {
    SendError("MemoryError", arena.status().ToString(), o.limits);
    return;
  }
  conv.PlaceChunks(offsets);
  const int out_fds[] = {arena->get()};
  const Status s = SendMessage(kSocketFd, MessageType::kResult, result, out_fds, o.limits);
  if (!s.ok()) SendError("ResultTooLarge", s.ToString(), o.limits);
}

[[noreturn]] void Exit(int code) {
  // Skip Py_Finalize and destructors: they need syscalls the policy does not allow.
  std::fflush(nullptr);
  ::_exit(code);
}

// Requests until "close" or EOF on fd 3.
[[noreturn]] void ServeSession(const Options& o, Runtime& rt, const void* archive,
                               uint64_t archive_size) {
  py::object view = archive_size == 0
                        ? py::object(py::bytes(""))
                        : py::object(py::memoryview::from_memory(const_cast<void*>(archive),
                                                                 static_cast<ssize_t>(archive_size),
                                                                 /*readonly=*/true));
  for (;;) {
    auto received = ReceiveMessage(kSocketFd, o.limits);
    if (!received.ok()) {
      if (received.status().reason() == "io.peer-closed") Exit(0);
      Die(38, received.status().ToString());
    }
    auto request =
        DecodeMessage(received->bytes, static_cast<uint32_t>(received->fds.size()), o.limits);
    if (!request.ok() || request->type != MessageType::kRequest) Die(39, "bad request");
    const Value* op = request->value.Find("op");
    if (op == nullptr || op->kind != Kind::kStr) Die(39, "request lacks op");
    if (op->s == "close") Exit(0);
    HandleRequest(o, rt, view, request->value, received->fds);
  }
}

const void* MapArchive(uint64_t size) {
  if (size == 0) return nullptr;
  // The bytes are sealed, so nothing can change them under the mapping.
  void* archive = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, kArchiveFd, 0);
  if (archive == MAP_FAILED) Die(34, std::string("mmap archive: ") + std::strerror(errno));
  return archive;
}

// After lockdown: refuse a degraded sandbox when asked to, else report READY.
void ReportReady(const Options& o, const IsolationReport& report) {
  if (o.require_full && !report.full()) {
    SendError("SandboxDegraded", report.ToText(), o.limits);
    ::_exit(36);
  }
  const Status s = SendMessage(kSocketFd, MessageType::kReady, report.ToValue(), {}, o.limits);
  if (!s.ok()) Die(37, s.ToString());
}

void StartCommon(const Options& o) {
  // Only fds 0-4 survive; fd 3 must be our socket.
  if (!SanitizeFds(kArchiveFd).ok()) Die(30, "close_range failed");
  struct stat st {};
  if (::fstat(kSocketFd, &st) != 0 || !S_ISSOCK(st.st_mode)) Die(31, "fd 3 is not a socket");
  const Status detached = DetachFromParent(o.parent);
  if (!detached.ok()) Die(33, detached.ToString());
  ::clearenv();
}

int Serve(const Options& o) {
  auto archive_size = CheckReceivedFd(kArchiveFd);
  if (!archive_size.ok()) Die(32, "fd 4: " + archive_size.status().ToString());
  StartCommon(o);
  ::setenv("OMP_NUM_THREADS", std::to_string(o.threads).c_str(), 1);
  IsolationReport report = Isolate(o);
  const void* archive = MapArchive(*archive_size);
  Runtime rt = StartPython(o, o.threads);
  LockDown(o, &report, nullptr);
  ReportReady(o, report);
  ServeSession(o, rt, archive, *archive_size);
}

// ---- fork server ----------------------------------------------------------------------------

// A duplicate of `fd` at 10 or above (not CLOEXEC: nothing is exec'd), or -1.
int HighFdForChild(int fd) {
  return ::fcntl(fd, F_DUPFD, 10);
}

int ThreadCount() {
  DIR* d = ::opendir("/proc/self/task");
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

// In the child right after fork: only the child's own fds at 1-4, then the usual lockdown.
[[noreturn]] void RunForkedChild(const Options& o, Runtime& rt, pid_t server, int sock,
                                 int archive_fd, int output, CompiledSeccompPolicy* bpf,
                                 IsolationReport report) {
  PyOS_AfterFork_Child();
  // The server dying must take its children along (it is their parent).
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != server) ::_exit(33);
  // The server put the received fds at 10 and above, so these dup2s cannot clobber each other;
  // the control socket (fd 3) is replaced by this child's own socket.
  if (::dup2(sock, kSocketFd) < 0 || ::dup2(archive_fd, kArchiveFd) < 0 || ::dup2(output, 1) < 0 ||
      ::dup2(output, 2) < 0) {
    ::_exit(30);
  }
  if (::syscall(SYS_close_range, kArchiveFd + 1, ~0U, 0) != 0) ::_exit(30);
  auto archive_size = CheckReceivedFd(kArchiveFd);
  if (!archive_size.ok()) Die(32, "fd 4: " + archive_size.status().ToString());
  const void* archive = MapArchive(*archive_size);
  if (o.threads != 1 && !rt.torch.is_none()) rt.torch.attr("set_num_threads")(o.threads);
  // The CPU limit is per child (fork reset the CPU clock); the server itself has none that a
  // long life of forking could reach.
  const rlimit cpu{static_cast<rlim_t>(o.limits.cpu_seconds),
                   static_cast<rlim_t>(o.limits.cpu_seconds + 1)};
  if (::setrlimit(RLIMIT_CPU, &cpu) != 0) Die(41, "setrlimit RLIMIT_CPU failed");
  LockDown(o, &report, bpf);
  ReportReady(o, report);
  ServeSession(o, rt, archive, *archive_size);
}

Value ServerError(const std::string& type, const std::string& message) {
  return Value::Dict({{"type", Value::Str(type)}, {"message", Value::Str(message)}});
}

// RLIMIT_CPU of the fork server itself (a year): it runs no package code; each child gets the
// configured limit right after fork.
constexpr uint64_t kServerCpuSeconds = 365ull * 24 * 3600;

int ForkServerMain(const Options& o) {
  StartCommon(o);
  ::setenv("OMP_NUM_THREADS", "1", 1);
  Options server_options = o;
  server_options.limits.cpu_seconds = kServerCpuSeconds;
  IsolationReport report = Isolate(server_options);
  // One thread: fork copies only the calling thread, so a pool thread's locks would stay held
  // in every child forever.
  Runtime rt = StartPython(o, /*threads=*/1);
  auto bpf = CompileSeccompPolicy(PolicyOptions(o));
  if (!bpf.ok()) Die(42, bpf.status().ToString());
  const pid_t self = ::getpid();
  {
    IsolationReport server = report;
    server.notes.push_back("fork server: seccomp is installed in each child");
    const Status s = SendMessage(kSocketFd, MessageType::kReady, server.ToValue(), {}, o.limits);
    if (!s.ok()) Die(37, s.ToString());
  }
  std::set<pid_t> children;
  for (;;) {
    auto received = ReceiveMessage(kSocketFd, o.limits);
    if (!received.ok()) {
      // The parent closed: our children die with us (PDEATHSIG).
      if (received.status().reason() == "io.peer-closed") Exit(0);
      Die(38, received.status().ToString());
    }
    auto request =
        DecodeMessage(received->bytes, static_cast<uint32_t>(received->fds.size()), o.limits);
    if (!request.ok() || request->type != MessageType::kRequest) Die(39, "bad control request");
    const Value* op = request->value.Find("op");
    if (op == nullptr || op->kind != Kind::kStr) Die(39, "control request lacks op");
    Status sent;
    if (op->s == "close") {
      Exit(0);
    } else if (op->s == "fork") {
      if (received->fds.size() != 3) Die(39, "fork needs socket, archive and output fds");
      std::vector<UniqueFd> high;
      for (const UniqueFd& fd : received->fds) {
        auto h = HighFdForChild(fd.get());
        if (h < 0) Die(30, "fcntl F_DUPFD failed");
        high.emplace_back(h);
      }
      received->fds.clear();
      const int threads = ThreadCount();
      if (threads != 1) {
        sent = SendMessage(
            kSocketFd, MessageType::kError,
            ServerError("ForkServerThreads", "refusing to fork: the server has " +
                                                 std::to_string(threads) + " threads, not 1"),
            {}, o.limits);
      } else {
        PyOS_BeforeFork();
        const pid_t pid = ::fork();
        if (pid == 0) {
          RunForkedChild(o, rt, self, high[0].get(), high[1].get(), high[2].get(), &*bpf, report);
        }
        PyOS_AfterFork_Parent();
        if (pid < 0) {
          sent =
              SendMessage(kSocketFd, MessageType::kError,
                          ServerError("ForkFailed", std::string("fork: ") + std::strerror(errno)),
                          {}, o.limits);
        } else {
          children.insert(pid);
          sent = SendMessage(kSocketFd, MessageType::kResult,
                             Value::Dict({{"pid", Value::Int(pid)}}), {}, o.limits);
        }
      }
    } else if (op->s == "wait") {
      const Value* pid = request->value.Find("pid");
      if (pid == nullptr || pid->kind != Kind::kInt ||
          children.count(static_cast<pid_t>(pid->i)) == 0) {
        sent = SendMessage(kSocketFd, MessageType::kError,
                           ServerError("NoSuchChild", "not a child of this fork server"), {},
                           o.limits);
      } else {
        // Only now is the child reaped: until this point the parent's pidfd named it.
        int status = 0;
        while (::waitpid(static_cast<pid_t>(pid->i), &status, 0) < 0 && errno == EINTR) {
        }
        children.erase(static_cast<pid_t>(pid->i));
        sent =
            SendMessage(kSocketFd, MessageType::kResult,
                        Value::Dict({{"pid", Value::Int(pid->i)}, {"status", Value::Int(status)}}),
                        {}, o.limits);
      }
    } else {
      Die(39, "unknown control op " + op->s);
    }
    if (!sent.ok()) Die(43, sent.ToString());
  }
}

int SelfTest(const Options& o) {
  IsolationReport report = Isolate(o);
  LockDown(o, &report, nullptr);
  const std::string text = report.ToText();
  if (::write(1, text.data(), text.size()) < 0) ::_exit(1);
  ::_exit(report.full() ? 0 : 3);
}

}  // namespace

// Tensor-argument arenas in the worker: a checked memfd mapped copy-on-write, exposed to
// torch.frombuffer through the buffer protocol (Python's mmap module would dup() the fd, which
// the policy forbids). Its own type: sealpkg._native binds MappedArena itself, and pybind11
// registers a C++ type once per process.
PYBIND11_EMBEDDED_MODULE(_sealpkg_worker, m) {
  py::class_<WorkerArena, std::shared_ptr<WorkerArena>>(m, "Arena", py::buffer_protocol())
      .def_buffer([](WorkerArena& a) {
        return py::buffer_info(a.arena.data(), 1, py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(a.arena.size())}, {1},
                               !a.arena.writable());
      })
      .def_property_readonly("size", [](const WorkerArena& a) { return a.arena.size(); });
}

namespace {

// Signal dispositions and the mask survive execve: a Python parent hands over SIG_IGN for SIGXFSZ
// and SIGPIPE, which would turn the file-size limit into a plain EFBIG. Start from the defaults
// (SIGPIPE stays ignored: a closed output pipe is an EPIPE, as in any CPython process).
void ResetSignals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::signal(sig, sig == SIGPIPE ? SIG_IGN : SIG_DFL);  // EINVAL for reserved RT signals: fine
  }
}

}  // namespace

int main(int argc, char** argv) {
  ResetSignals();
  const Options o = Parse(argc, argv);
  if (o.mode == "policy") {
    SeccompOptions s = PolicyOptions(o);
    std::fputs(SeccompPolicyTable(s).c_str(), stdout);
    return 0;
  }
  if (o.mode == "selftest") return SelfTest(o);
  if (o.mode == "serve") return Serve(o);
  if (o.mode == "forkserver") return ForkServerMain(o);
  Die(2, "unknown mode " + o.mode);
}
