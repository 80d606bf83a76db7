// ipc_decoder: arbitrary bytes -> sealpkg::sandbox::DecodeMessage (the parent's view of what a
// hostile worker sends).
//
// Input: byte 0 is the number of fds that "came with" the message (mod 4); the rest is the
// message, header included. Limits are the defaults except a 1 MiB message cap, so that the
// caps are reachable.
//
// Invariants (each violation calls abort()):
//   - DecodeMessage never returns kInternal, only kMalformed or kLimitExceeded;
//   - an accepted message is a fixed point: EncodeMessage(type, value) reproduces the input
//     bytes exactly (the schema has a single encoding), and decodes again;
//   - every accepted tensor has an allowed dtype, non-negative dims/strides/offset, an fd index
//     below the fd count and a 64-byte aligned storage offset.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "core/limits.h"
#include "core/status.h"
#include "sandbox/ipc.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "ipc_decoder_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

void CheckTensors(const sealpkg::sandbox::Value& root, uint32_t fd_count) {
  std::vector<const sealpkg::sandbox::Value*> todo{&root};
  while (!todo.empty()) {
    const auto* v = todo.back();
    todo.pop_back();
    if (v->kind == sealpkg::sandbox::Kind::kTensor) {
      const auto& t = v->tensor;
      if (sealpkg::sandbox::DTypeSize(static_cast<uint8_t>(t.dtype)) == 0) Fail("bad dtype");
      for (auto d : t.shape) {
        if (d < 0) Fail("negative dim");
      }
      for (auto s : t.strides) {
        if (s < 0) Fail("negative stride");
      }
      if (t.storage_offset < 0 || t.fd_index >= fd_count || t.storage_byte_offset % 64 != 0) {
        Fail("tensor reference accepted out of range");
      }
    }
    for (const auto& i : v->items) todo.push_back(&i);
    for (const auto& [k, i] : v->entries) todo.push_back(&i);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint32_t fd_count = data[0] % 4;
  const std::span<const uint8_t> bytes(data + 1, size - 1);
  sealpkg::SandboxLimits limits;
  limits.max_message_bytes = 1u << 20;
  auto m = sealpkg::sandbox::DecodeMessage(bytes, fd_count, limits);
  if (!m.ok()) {
    const auto code = m.status().code();
    if (code != sealpkg::ErrorCode::kMalformed && code != sealpkg::ErrorCode::kLimitExceeded) {
      Fail("decoder returned neither kMalformed nor kLimitExceeded");
    }
    return 0;
  }
  CheckTensors(m->value, fd_count);
  auto again = sealpkg::sandbox::EncodeMessage(m->type, m->value, limits);
  if (!again.ok()) Fail("accepted value does not encode");
  if (again->size() != bytes.size() || !std::equal(again->begin(), again->end(), bytes.begin())) {
    Fail("re-encoding differs from the accepted input");
  }
  if (!sealpkg::sandbox::DecodeMessage(*again, fd_count, limits).ok()) Fail("re-decode failed");
  return 0;
}
