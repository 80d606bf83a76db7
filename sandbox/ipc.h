// The wire format between the parent and the sandboxed worker (never pickle).
//
// Every message is a 16-byte header {magic "SPKI", version, type, payload length, reserved 0}
// followed by the payload: one value in a strict binary schema. The parent checks the header
// (magic, version, known type, length <= SandboxLimits::max_message_bytes) before it allocates
// anything, then decodes the payload with an explicit stack (no recursion) under caps on depth,
// value count, tensor count and dimensions. Strings must be valid UTF-8; dict keys are strings
// and unique; tensors are references into sealed memfds passed alongside (see
// tensor_transport.h), their dtype from a fixed allow-list.
//
//   SEALPKG_ASSIGN_OR_RETURN(sandbox::Message m,
//                            sandbox::DecodeMessage(bytes, /*fd_count=*/fds.size(), limits));
//   if (m.type == sandbox::MessageType::kResult) Use(m.value);
//
// Encoding and decoding are pure: bytes in, values out.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "core/status.h"

namespace sealpkg::sandbox {

inline constexpr uint32_t kMagic = 0x494B5053;  // "SPKI" little-endian
inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr size_t kHeaderBytes = 16;

enum class MessageType : uint16_t {
  kReady = 1,    // worker -> parent: locked down; value = dict of active layers
  kRequest = 2,  // parent -> worker: dict {"op", "package", "resource"}
  kResult = 3,   // worker -> parent: the result value; tensors reference the attached fds
  kError = 4,    // worker -> parent: dict {"type", "message"}
};

// Tensor element types accepted across the boundary (torch 1.13 names). Anything else
// (complex, quantized, bits...) is refused by both sides.
enum class DType : uint8_t {
  kFloat32 = 1,
  kFloat64 = 2,
  kFloat16 = 3,
  kBFloat16 = 4,
  kInt8 = 5,
  kUInt8 = 6,
  kInt16 = 7,
  kInt32 = 8,
  kInt64 = 9,
  kBool = 10,
};
// Bytes per element, or 0 for a value outside the allow-list.
uint64_t DTypeSize(uint8_t dtype);
// "float32", ... or "" for a value outside the allow-list.
std::string_view DTypeName(uint8_t dtype);

struct TensorRef {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;      // in elements, as torch reports them
  int64_t storage_offset = 0;        // in elements from the start of the storage
  uint32_t fd_index = 0;             // which attached fd holds the storage
  uint64_t storage_byte_offset = 0;  // where the storage starts in that fd (64-byte aligned)
  uint64_t storage_nbytes = 0;       // size of the storage in bytes
};

enum class Kind : uint8_t {
  kNone = 0,
  kFalse = 1,
  kTrue = 2,
  kInt = 3,
  kFloat = 4,
  kStr = 5,
  kBytes = 6,
  kList = 7,
  kTuple = 8,
  kDict = 9,
  kTensor = 10,
};

struct DictEntry;  // {key, value}: defined below, once Value is complete

struct Value {
  Kind kind = Kind::kNone;
  int64_t i = 0;
  double f = 0;
  std::string s;                   // kStr (UTF-8) and kBytes
  std::vector<Value> items;        // kList, kTuple
  std::vector<DictEntry> entries;  // kDict, in wire order
  TensorRef tensor;                // kTensor

  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t v);
  static Value Float(double v);
  static Value Str(std::string v);
  static Value Bytes(std::string v);
  static Value List(std::vector<Value> v);
  static Value Tuple(std::vector<Value> v);
  static Value Dict(std::vector<DictEntry> v);
  static Value Tensor(TensorRef t);

  // Dict lookup (first match); nullptr when absent or not a dict.
  const Value* Find(std::string_view key) const;
};

// A dict item. Not std::pair<std::string, Value>: a pair needs Value complete where Value's own
// members are declared, which libstdc++ tolerates and clang rejects.
struct DictEntry {
  std::string first;
  Value second;
};

inline Value Value::None() {
  return Value{};
}

struct Header {
  MessageType type = MessageType::kReady;
  uint32_t length = 0;
};

struct Message {
  MessageType type = MessageType::kReady;
  Value value;
};

// Checks a header: magic, version, known type, reserved zero, length within the cap.
Result<Header> DecodeHeader(std::span<const uint8_t> bytes, const SandboxLimits& limits);
// Decodes one payload value. `fd_count` is the number of fds that came with the message; every
// tensor's fd_index must be below it.
Result<Value> DecodeValue(std::span<const uint8_t> payload, uint32_t fd_count,
                          const SandboxLimits& limits);
// A whole message: header, then exactly `length` payload bytes and nothing more.
Result<Message> DecodeMessage(std::span<const uint8_t> bytes, uint32_t fd_count,
                              const SandboxLimits& limits);

// Encodes header + value. Fails (kLimitExceeded / kMalformed) on what the decoder would refuse,
// so a healthy peer never sends what the other side rejects.
Result<std::vector<uint8_t>> EncodeMessage(MessageType type, const Value& value,
                                           const SandboxLimits& limits);

}  // namespace sealpkg::sandbox
