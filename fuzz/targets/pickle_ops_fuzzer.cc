// pickle_ops: arbitrary bytes -> sealpkg::verifier::RunPickle (verifier/pickle_machine.h) with
// small PickleLimits -> EvaluatePickle against builtin:weights-only (verifier/policy.h). When the
// first pickle stops before the end of the input, the rest is run as a stacked pickle (the
// `start` argument), as the package verifier does.
//
// Invariants (each violation calls abort()):
//   - no kInternal anywhere: neither the run's error nor any policy finding;
//   - every value id referenced by call sites (callee, args, kwargs, result), container items
//     and the result is < values.size(); every value's `ref` is in range for its kind (globals,
//     calls, containers, texts), container slots lie inside the item arena, a call result's
//     call site points back at it, and kept text has the value's length;
//   - start <= end_offset <= size; a run that stopped ends right after a STOP byte; the error
//     offset and every finding offset lie inside the input;
//   - every GlobalRef has a non-empty module and name (checked for every run, not only clean
//     ones: a global is recorded only after its name is validated);
//   - opcodes <= max_opcodes, values <= max_values, every container <= max_values items;
//   - opcodes_used is duplicate-free with one first offset each, in increasing order;
//   - a traced run equals the untraced one, and its trace has one (offset, byte) per opcode at
//     increasing offsets, each naming the byte found there;
//   - error and finding codes are "pickle.*" codes; structural errors are kMalformed or
//     kLimitExceeded (EXT1/2/4: kPolicyDenied).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/printable.h"
#include "core/status.h"
#include "verifier/finding.h"
#include "verifier/pickle_machine.h"
#include "verifier/policy.h"

namespace {

using sealpkg::ErrorCode;
using sealpkg::verifier::CallSite;
using sealpkg::verifier::Finding;
using sealpkg::verifier::PickleRun;
using sealpkg::verifier::Value;
using sealpkg::verifier::ValueKind;

[[noreturn]] void Fail(const char* what, std::span<const uint8_t> input, std::string_view detail) {
  const std::string_view text(reinterpret_cast<const char*>(input.data()),
                              input.size() < 512 ? input.size() : 512);
  std::fprintf(stderr, "pickle_ops_fuzzer: invariant violated: %s\n  input: '%s'\n  detail: '%s'\n",
               what, sealpkg::Printable(text).c_str(), sealpkg::Printable(detail).c_str());
  std::abort();
}

sealpkg::PickleLimits SmallLimits() {
  sealpkg::PickleLimits l;
  l.max_opcodes = 1u << 14;
  l.max_stack = 1u << 10;
  l.max_marks = 64;
  l.max_memo = 1u << 10;
  l.max_argument_bytes = 1u << 16;
  l.max_values = 1u << 15;
  return l;
}

const sealpkg::verifier::Policy& WeightsOnly() {
  static const sealpkg::verifier::Policy* policy = [] {
    auto p = sealpkg::verifier::LoadBuiltinPolicy("builtin:weights-only");
    if (!p.ok()) Fail("builtin:weights-only does not load", {}, p.status().ToString());
    return new sealpkg::verifier::Policy(std::move(p).value());
  }();
  return *policy;
}

void CheckFinding(const Finding& f, std::span<const uint8_t> input, const char* where) {
  if (f.kind == ErrorCode::kInternal) Fail("kInternal finding", input, f.code + ": " + f.message);
  if (f.code.rfind("pickle.", 0) != 0) Fail(where, input, "code " + f.code);
  if (f.offset && *f.offset > input.size()) {
    Fail("finding offset outside the input", input, f.code + " @" + std::to_string(*f.offset));
  }
}

void CheckRun(const PickleRun& run, std::span<const uint8_t> input, uint64_t start,
              const sealpkg::PickleLimits& limits) {
  const size_t n = run.values.size();
  const auto id_ok = [&](uint32_t id) { return id < n; };

  if (run.error) {
    const Finding& e = *run.error;
    CheckFinding(e, input, "structural error with a non-pickle code");
    const bool ext = e.code == sealpkg::verifier::code::kPickleExtension;
    if (!(e.kind == ErrorCode::kMalformed || e.kind == ErrorCode::kLimitExceeded ||
          (ext && e.kind == ErrorCode::kPolicyDenied))) {
      Fail("structural error of an unexpected kind", input, e.code);
    }
    if (!e.offset || *e.offset < start || *e.offset > input.size()) {
      Fail("structural error without an offset inside the run", input, e.code);
    }
  }
  if (run.end_offset < start || run.end_offset > input.size()) {
    Fail("end_offset outside [start, size]", input, std::to_string(run.end_offset));
  }
  if (run.stopped) {
    if (run.end_offset == start || input[run.end_offset - 1] != '.') {
      Fail("stopped run does not end after a STOP byte", input, std::to_string(run.end_offset));
    }
    if (!run.error && (!run.result || !id_ok(*run.result))) {
      Fail("clean run without a valid result", input, "");
    }
  }
  if (run.result && !id_ok(*run.result)) Fail("result id out of range", input, "");
  if (run.opcodes > limits.max_opcodes) Fail("opcode limit exceeded", input, "");
  if (n > limits.max_values) Fail("value limit exceeded", input, std::to_string(n));
  if (run.protocol < 0 || run.protocol > 5 || run.highest_protocol < run.protocol ||
      run.highest_protocol > 5) {
    Fail("protocol out of range", input, std::to_string(run.highest_protocol));
  }

  for (uint32_t id = 0; id < n; ++id) {
    const Value& v = run.values[id];
    if (v.offset < start || v.offset >= input.size()) Fail("value offset outside", input, "");
    switch (v.kind) {
      case ValueKind::kGlobal:
        if (v.ref >= run.globals.size()) Fail("global ref out of range", input, "");
        break;
      case ValueKind::kCallResult:
      case ValueKind::kPersistent: {
        if (v.ref >= run.calls.size()) Fail("call ref out of range", input, "");
        const CallSite& c = run.calls[v.ref];
        if (c.result != id) Fail("call site does not point back at its result", input, "");
        const bool persistent = c.kind == CallSite::Kind::kPersistentLoad;
        if (persistent != (v.kind == ValueKind::kPersistent)) {
          Fail("result kind does not match its call site", input, "");
        }
        break;
      }
      case ValueKind::kTuple:
      case ValueKind::kList:
      case ValueKind::kDict:
      case ValueKind::kSet:
      case ValueKind::kFrozenSet:
        if (v.ref >= run.containers.size()) Fail("container ref out of range", input, "");
        break;
      case ValueKind::kStr:
      case ValueKind::kBytes:
      case ValueKind::kByteArray:
        if (v.ref >= run.texts.size()) Fail("text ref out of range", input, "");
        if (v.big ? !run.texts[v.ref].empty() : run.texts[v.ref].size() != v.length()) {
          Fail("kept text does not match its length", input, std::to_string(v.length()));
        }
        if (v.big != (v.length() > sealpkg::verifier::kMaxKeptText)) {
          Fail("text kept or dropped against kMaxKeptText", input, std::to_string(v.length()));
        }
        break;
      default:
        break;
    }
  }
  for (const auto& slot : run.containers) {
    if (slot.size > slot.capacity || uint64_t{slot.begin} + slot.capacity > run.item_arena.size()) {
      Fail("container slot outside the item arena", input, "");
    }
    if (slot.size > limits.max_values) Fail("container over the value limit", input, "");
    for (uint32_t i = 0; i < slot.size; ++i) {
      const uint32_t item = run.item_arena[slot.begin + i];
      if (!id_ok(item)) Fail("container item out of range", input, std::to_string(item));
    }
  }
  for (uint32_t id = 0; id < n; ++id) {
    for (uint32_t item : run.items(id)) {
      if (!id_ok(item)) Fail("items() returns an id out of range", input, std::to_string(item));
    }
  }
  for (const CallSite& c : run.calls) {
    if (!id_ok(c.callee) || !id_ok(c.args) || (c.kwargs && !id_ok(*c.kwargs))) {
      Fail("call site refers to a missing value", input, "");
    }
    const bool produces =
        c.kind == CallSite::Kind::kCall || c.kind == CallSite::Kind::kPersistentLoad;
    if (produces && !id_ok(c.result)) Fail("call result out of range", input, "");
    if (c.offset < start || c.offset >= input.size()) Fail("call offset outside", input, "");
  }
  for (const auto& g : run.globals) {
    if (g.module.empty() || g.name.empty()) {
      Fail("global with an empty module or name", input, g.written);
    }
  }
  if (run.opcodes_used.size() != run.opcodes_first_offset.size()) {
    Fail("opcodes_used and opcodes_first_offset differ in size", input, "");
  }
  bool seen[256] = {};
  for (size_t i = 0; i < run.opcodes_used.size(); ++i) {
    const uint8_t op = run.opcodes_used[i];
    if (seen[op]) Fail("opcode listed twice in opcodes_used", input, std::to_string(op));
    seen[op] = true;
    if (sealpkg::verifier::OpName(op).empty()) Fail("unknown opcode recorded", input, "");
    const uint64_t at = run.opcodes_first_offset[i];
    if (at < start || at >= input.size() || input[at] != op) {
      Fail("first offset does not hold its opcode", input, std::to_string(at));
    }
    if (i > 0 && at <= run.opcodes_first_offset[i - 1]) {
      Fail("first offsets not increasing", input, "");
    }
  }
}

void CheckTrace(const PickleRun& plain, const PickleRun& traced, std::span<const uint8_t> input) {
  if (traced.opcodes != plain.opcodes || traced.end_offset != plain.end_offset ||
      traced.stopped != plain.stopped || traced.values.size() != plain.values.size() ||
      traced.globals.size() != plain.globals.size() || traced.calls.size() != plain.calls.size() ||
      traced.error.has_value() != plain.error.has_value() ||
      (traced.error && traced.error->code != plain.error->code)) {
    Fail("traced run differs from the untraced one", input, "");
  }
  if (!plain.trace.empty()) Fail("untraced run has a trace", input, "");
  if (traced.trace.size() != traced.opcodes) {
    Fail("trace length differs from the opcode count", input,
         std::to_string(traced.trace.size()) + " vs " + std::to_string(traced.opcodes));
  }
  for (size_t i = 0; i < traced.trace.size(); ++i) {
    const auto [offset, byte] = traced.trace[i];
    if (offset >= input.size() || input[offset] != byte) {
      Fail("trace entry does not name the byte at its offset", input, std::to_string(offset));
    }
    if (i > 0 && offset <= traced.trace[i - 1].first) Fail("trace not increasing", input, "");
  }
}

void RunOne(std::span<const uint8_t> input, uint64_t start, const sealpkg::PickleLimits& limits,
            PickleRun* out) {
  PickleRun run = sealpkg::verifier::RunPickle(input, limits, start);
  CheckRun(run, input, start, limits);
  const PickleRun traced = sealpkg::verifier::RunPickle(input, limits, start, /*trace=*/true);
  CheckTrace(run, traced, input);
  const auto verdict = sealpkg::verifier::EvaluatePickle(run, WeightsOnly(), "fuzz.pkl");
  for (const Finding& f : verdict.findings) CheckFinding(f, input, "policy finding code");
  for (const auto& s : verdict.storages) {
    if (s.key.empty() || s.offset < start || s.offset >= input.size()) {
      Fail("storage reference without a key or offset", input, s.key);
    }
  }
  *out = std::move(run);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  const sealpkg::PickleLimits limits = SmallLimits();
  PickleRun first;
  RunOne(input, 0, limits, &first);
  // A stacked second pickle, as plain files and legacy torch files are read.
  if (first.stopped && !first.error && first.end_offset < size) {
    PickleRun second;
    RunOne(input, first.end_offset, limits, &second);
  }
  return 0;
}
