#include "python/status_to_python.h"

#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace sealpkg::python {

namespace {
// Names from hostile archives may be invalid UTF-8: keep every byte (surrogateescape).
py::object Text(std::string_view text) {
  PyObject* obj =
      PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "surrogateescape");
  if (obj == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(obj);
}

const char* ExceptionName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMalformed:
      return "MalformedError";
    case ErrorCode::kLimitExceeded:
      return "LimitExceededError";
    case ErrorCode::kPolicyDenied:
      return "PolicyDeniedError";
    case ErrorCode::kSignatureInvalid:
      return "SignatureError";
    case ErrorCode::kIo:
      return "SealpkgIOError";
    case ErrorCode::kOk:
    case ErrorCode::kInternal:
      break;
  }
  return "InternalError";
}
}  // namespace

void ThrowStatus(const Status& status) {
  py::object errors = py::module_::import("sealpkg.errors");
  py::object type = errors.attr(ExceptionName(status.code()));
  py::object offset = status.offset() ? py::object(py::int_(*status.offset())) : py::none();
  py::object exc = type(status.ToString(), py::str(std::string(ErrorCodeName(status.code()))),
                        py::str(std::string(status.reason())), Text(status.entry()), offset);
  PyErr_SetObject(type.ptr(), exc.ptr());
  throw py::error_already_set();
}

}  // namespace sealpkg::python
