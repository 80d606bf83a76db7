// A symbolic pickle machine: runs a pickle stream the way CPython's unpickler would, without
// importing or calling anything, and records every name it would resolve and every call it
// would make.
//
// RunPickle() decodes every opcode of protocols 0-5 with CPython's argument rules, keeps the
// stack, the mark stack (fence semantics) and the memo (PUT/BINPUT/LONG_BINPUT by index,
// MEMOIZE at the number of memo entries) exactly, enforces FRAME boundaries (an opcode that
// straddles a frame is a differential between CPython's C and Python unpicklers: rejected),
// applies `_compat_pickle` renames for protocol < 3 and dotted names for protocol >= 4, and stops
// at STOP. Values are symbolic: literals keep their content, containers their items, and every
// GLOBAL/STACK_GLOBAL/INST yields a Global value while REDUCE/NEWOBJ/NEWOBJ_EX/OBJ/INST, BUILD,
// container mutations on non-containers and persistent_load are recorded as call sites with the
// value ids of their callee and arguments, so a policy can inspect arguments ("functools.partial
// only of an allowed callable"). Anything CPython would fail on is a structural finding; the
// first one stops the run (what ran before it is still reported: payload-then-garbage streams).
// Pure, iterative, bounded by PickleLimits.
//
//   PickleRun run = RunPickle(bytes, limits.pickle);
//   for (const CallSite& c : run.calls) ... run.values[c.callee] ...
//   if (run.error) ... run.error->code ...
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "verifier/finding.h"

namespace sealpkg::verifier {

// Pickle opcodes (their byte values).
enum class Op : uint8_t {
  kMark = '(',
  kStop = '.',
  kPop = '0',
  kPopMark = '1',
  kDup = '2',
  kFloat = 'F',
  kInt = 'I',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kLong = 'L',
  kBinInt2 = 'M',
  kNone = 'N',
  kPersId = 'P',
  kBinPersId = 'Q',
  kReduce = 'R',
  kString = 'S',
  kBinString = 'T',
  kShortBinString = 'U',
  kUnicode = 'V',
  kBinUnicode = 'X',
  kAppend = 'a',
  kBuild = 'b',
  kGlobal = 'c',
  kDict = 'd',
  kEmptyDict = '}',
  kAppends = 'e',
  kGet = 'g',
  kBinGet = 'h',
  kInst = 'i',
  kLongBinGet = 'j',
  kList = 'l',
  kEmptyList = ']',
  kObj = 'o',
  kPut = 'p',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kSetItem = 's',
  kTuple = 't',
  kEmptyTuple = ')',
  kSetItems = 'u',
  kBinFloat = 'G',
  kProto = 0x80,
  kNewObj = 0x81,
  kExt1 = 0x82,
  kExt2 = 0x83,
  kExt4 = 0x84,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kLong4 = 0x8b,
  kBinBytes = 'B',
  kShortBinBytes = 'C',
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kBinBytes8 = 0x8e,
  kEmptySet = 0x8f,
  kAddItems = 0x90,
  kFrozenSet = 0x91,
  kNewObjEx = 0x92,
  kStackGlobal = 0x93,
  kMemoize = 0x94,
  kFrame = 0x95,
  kByteArray8 = 0x96,
  kNextBuffer = 0x97,
  kReadOnlyBuffer = 0x98,
};

// pickletools' name for an opcode ("STACK_GLOBAL"), or "" if `byte` is not an opcode.
std::string_view OpName(uint8_t byte);
// Lowest protocol that defines the opcode (0 for protocol-0/1 opcodes).
int OpProtocol(Op op);

enum class ValueKind : uint8_t {
  kNone,
  kBool,
  kInt,
  kFloat,
  kStr,
  kBytes,
  kByteArray,
  kTuple,
  kList,
  kDict,
  kSet,
  kFrozenSet,
  kGlobal,      // a resolved name (class, function, module attribute)
  kCallResult,  // the object a call site produced
  kPersistent,  // the object persistent_load returned
};

std::string_view ValueKindName(ValueKind kind);

struct Value {
  uint64_t offset = 0;  // opcode that created it
  int64_t integer = 0;  // kInt, kBool: the value; kStr/kBytes/kByteArray: byte length
  uint32_t ref = 0;     // kGlobal: index in globals; kCallResult/kPersistent: index in calls;
                        // containers: index in containers; kStr/kBytes: index in texts
  ValueKind kind = ValueKind::kNone;
  bool big = false;  // kInt: does not fit in int64; kStr/kBytes: content not kept

  uint64_t length() const { return static_cast<uint64_t>(integer); }
};

// A container's items live in PickleRun::item_arena[begin, begin + size).
struct ContainerSlot {
  uint32_t begin = 0;
  uint32_t size = 0;
  uint32_t capacity = 0;
};

struct GlobalRef {
  std::string module;    // after _compat_pickle renames
  std::string name;      // qualified name; may contain dots for protocol >= 4
  bool renamed = false;  // a protocol < 3 rename applied
  std::string written;   // "module name" as written in the stream (before renames)
  uint64_t offset = 0;
  Op op = Op::kGlobal;  // GLOBAL, STACK_GLOBAL or INST
  std::string full;     // module + "." + name, the name policies match
  const std::string& full_name() const { return full; }
};

struct CallSite {
  enum class Kind : uint8_t {
    kCall,            // REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST: callee(args...)
    kBuild,           // BUILD: target.__setstate__(args) / attribute update
    kMutate,          // APPEND(S)/SETITEM(S)/ADDITEMS on a value that is not that container
    kPersistentLoad,  // PERSID/BINPERSID: persistent_load(args)
  };
  Kind kind = Kind::kCall;
  Op op = Op::kReduce;
  uint64_t offset = 0;
  uint32_t callee = 0;  // value id: the callable (kCall) or the object acted on (kBuild/kMutate)
  uint32_t args = 0;    // value id: args tuple / BUILD state / pid / first mutation item
  std::optional<uint32_t> kwargs;  // NEWOBJ_EX
  uint32_t result = 0;             // value id of what the call produced (kCall, kPersistentLoad)
};

struct PickleRun {
  int protocol = 0;          // the latest PROTO (0 if none): what find_class uses
  int highest_protocol = 0;  // the highest PROTO seen
  uint64_t end_offset = 0;   // one past STOP (or where the run stopped)
  bool stopped = false;      // reached STOP
  uint64_t opcodes = 0;
  std::optional<uint32_t> result;  // value id STOP returned
  std::vector<Value> values;
  std::vector<ContainerSlot> containers;  // items (dicts: key, value, key, value, ...)
  std::vector<uint32_t> item_arena;       // every container's items, in one allocation
  // str/bytes contents (kept up to kMaxKeptText). Views point into the input bytes, or into
  // `decoded` for text that escapes had to decode: a PickleRun must not outlive its input.
  std::vector<std::string_view> texts;
  std::deque<std::string> decoded;
  std::vector<GlobalRef> globals;
  std::vector<CallSite> calls;
  std::vector<uint8_t> opcodes_used;           // distinct opcode bytes in order of first use
  std::vector<uint64_t> opcodes_first_offset;  // where each of opcodes_used first appears
  // Every executed opcode as (offset, byte), only when RunPickle's `trace` is set.
  std::vector<std::pair<uint64_t, uint8_t>> trace;
  std::optional<Finding> error;  // first structural/limit finding; the run stopped there
  // The error is one of sealpkg's strict rules where CPython's unpicklers may carry on (limits,
  // FRAME and buffer rules, non-canonical numbers they parse, ...): the bytes must be treated
  // as a pickle even if nothing was resolved before the error.
  bool cpython_may_continue = false;

  const Value& value(uint32_t id) const { return values[id]; }
  // The text of a kStr/kBytes value (empty if not kept, see Value::big).
  std::string_view text(uint32_t id) const;
  // Items of a container value (empty for other kinds).
  std::span<const uint32_t> items(uint32_t id) const;
};

// Longest str/bytes content kept per value (names, keys, pids are far shorter).
inline constexpr uint64_t kMaxKeptText = 1u << 16;

// Runs one pickle starting at `start` in `bytes`. Never fails: problems are in `error`. The
// result refers to `bytes` (see PickleRun::texts): keep them alive while it is used.
PickleRun RunPickle(std::span<const uint8_t> bytes, const PickleLimits& limits, uint64_t start = 0,
                    bool trace = false);

}  // namespace sealpkg::verifier
