#include "sandbox/ipc.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string_view>

#include "core/byte_reader.h"
#include "core/printable.h"

namespace sealpkg::sandbox {
namespace {

constexpr uint64_t kStorageAlignment = 64;

Status Truncated(const ByteReader& r) {
  return Malformed("ipc.truncated", "message ends inside a value").WithOffset(r.error_offset());
}

// (max element index + 1) * itemsize, or an error. All arithmetic is checked: a hostile peer
// chooses shape, strides and offset freely.
Status CheckExtent(const TensorRef& t, uint64_t offset_in_payload) {
  const uint64_t item = DTypeSize(static_cast<uint8_t>(t.dtype));
  bool empty = false;
  for (int64_t d : t.shape) empty = empty || d == 0;
  if (empty) return OkStatus();  // no element is ever read
  unsigned __int128 last = static_cast<uint64_t>(t.storage_offset);
  for (size_t i = 0; i < t.shape.size(); ++i) {
    last += static_cast<unsigned __int128>(static_cast<uint64_t>(t.shape[i]) - 1) *
            static_cast<uint64_t>(t.strides[i]);
    if (last > std::numeric_limits<uint64_t>::max()) break;  // already far too big
  }
  if (last >= std::numeric_limits<uint64_t>::max() || (last + 1) * item > t.storage_nbytes) {
    return Malformed("ipc.tensor-out-of-storage",
                     "tensor elements reach past the end of their storage")
        .WithOffset(offset_in_payload);
  }
  return OkStatus();
}

class Decoder {
 public:
  Decoder(std::span<const uint8_t> payload, uint32_t fd_count, const SandboxLimits& limits)
      : r_(payload), fd_count_(fd_count), limits_(limits) {}

  Result<Value> Run() {
    Value root;
    SEALPKG_RETURN_IF_ERROR(ReadOne(&root));
    while (!stack_.empty()) {
      Frame& top = stack_.back();
      if (top.remaining == 0) {
        if (top.v->kind == Kind::kDict) SEALPKG_RETURN_IF_ERROR(CheckUniqueKeys(*top.v));
        stack_.pop_back();
        continue;
      }
      --top.remaining;
      Value* container = top.v;
      Value* slot = nullptr;
      if (container->kind == Kind::kDict) {
        SEALPKG_ASSIGN_OR_RETURN(std::string key, ReadText());
        container->entries.push_back(DictEntry{std::move(key), Value{}});
        slot = &container->entries.back().second;
      } else {
        container->items.emplace_back();
        slot = &container->items.back();
      }
      SEALPKG_RETURN_IF_ERROR(ReadOne(slot));  // may push: `top` is not used after this
    }
    if (r_.remaining() != 0) {
      return Malformed("ipc.trailing-bytes", "bytes after the value").WithOffset(r_.position());
    }
    return root;
  }

 private:
  struct Frame {
    Value* v;
    uint64_t remaining;
  };

  Result<std::string> ReadText() {
    const uint64_t at = r_.position();
    const uint32_t n = r_.U32();
    std::string_view text = r_.Chars(n);
    if (!r_.ok()) return Truncated(r_);
    if (!IsValidUtf8(text)) {
      return Malformed("ipc.bad-utf8", "string is not valid UTF-8").WithOffset(at);
    }
    return std::string(text);
  }

  Status CheckUniqueKeys(const Value& dict) {
    std::vector<std::string_view> keys;
    keys.reserve(dict.entries.size());
    for (const auto& [k, v] : dict.entries) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
      return Malformed("ipc.duplicate-key", "dict has a key twice");
    }
    return OkStatus();
  }

  Status ReadOne(Value* out) {
    const uint64_t at = r_.position();
    if (++values_ > limits_.max_values) {
      return LimitExceeded("ipc.too-many-values", "more values than SandboxLimits::max_values")
          .WithOffset(at);
    }
    const uint8_t tag = r_.U8();
    if (!r_.ok()) return Truncated(r_);
    switch (tag) {
      case static_cast<uint8_t>(Kind::kNone):
      case static_cast<uint8_t>(Kind::kFalse):
      case static_cast<uint8_t>(Kind::kTrue):
        out->kind = static_cast<Kind>(tag);
        return OkStatus();
      case static_cast<uint8_t>(Kind::kInt):
        out->kind = Kind::kInt;
        out->i = static_cast<int64_t>(r_.U64());
        return r_.ok() ? OkStatus() : Truncated(r_);
      case static_cast<uint8_t>(Kind::kFloat): {
        out->kind = Kind::kFloat;
        out->f = std::bit_cast<double>(r_.U64());
        return r_.ok() ? OkStatus() : Truncated(r_);
      }
      case static_cast<uint8_t>(Kind::kStr): {
        out->kind = Kind::kStr;
        SEALPKG_ASSIGN_OR_RETURN(out->s, ReadText());
        return OkStatus();
      }
      case static_cast<uint8_t>(Kind::kBytes): {
        out->kind = Kind::kBytes;
        const uint32_t n = r_.U32();
        std::string_view data = r_.Chars(n);
        if (!r_.ok()) return Truncated(r_);
        out->s.assign(data);
        return OkStatus();
      }
      case static_cast<uint8_t>(Kind::kList):
      case static_cast<uint8_t>(Kind::kTuple):
      case static_cast<uint8_t>(Kind::kDict): {
        out->kind = static_cast<Kind>(tag);
        const uint32_t count = r_.U32();
        if (!r_.ok()) return Truncated(r_);
        // Each element needs at least one byte (a dict entry five): a count beyond the bytes
        // left is a lie, found before anything is reserved.
        const uint64_t min_bytes = out->kind == Kind::kDict ? 5ull * count : count;
        if (min_bytes > r_.remaining()) {
          return Malformed("ipc.truncated", "container count exceeds the bytes left")
              .WithOffset(at);
        }
        if (count == 0) return OkStatus();
        if (stack_.size() >= limits_.max_depth) {
          return LimitExceeded("ipc.too-deep", "containers nested deeper than max_depth")
              .WithOffset(at);
        }
        stack_.push_back(Frame{out, count});
        return OkStatus();
      }
      case static_cast<uint8_t>(Kind::kTensor):
        out->kind = Kind::kTensor;
        return ReadTensor(&out->tensor, at);
      default:
        return Malformed("ipc.unknown-tag", "unknown value tag " + std::to_string(tag))
            .WithOffset(at);
    }
  }

  Status ReadTensor(TensorRef* t, uint64_t at) {
    if (++tensors_ > limits_.max_tensors) {
      return LimitExceeded("ipc.too-many-tensors", "more tensors than max_tensors").WithOffset(at);
    }
    const uint8_t dtype = r_.U8();
    const uint8_t ndim = r_.U8();
    if (!r_.ok()) return Truncated(r_);
    if (DTypeSize(dtype) == 0) {
      return Malformed("ipc.bad-dtype", "dtype " + std::to_string(dtype) + " is not allowed")
          .WithOffset(at);
    }
    if (ndim > limits_.max_tensor_dims) {
      return LimitExceeded("ipc.too-many-dims", "tensor has more than max_tensor_dims dims")
          .WithOffset(at);
    }
    t->dtype = static_cast<DType>(dtype);
    t->shape.resize(ndim);
    t->strides.resize(ndim);
    for (auto& d : t->shape) d = static_cast<int64_t>(r_.U64());
    for (auto& s : t->strides) s = static_cast<int64_t>(r_.U64());
    t->storage_offset = static_cast<int64_t>(r_.U64());
    t->fd_index = r_.U32();
    t->storage_byte_offset = r_.U64();
    t->storage_nbytes = r_.U64();
    if (!r_.ok()) return Truncated(r_);
    for (int64_t d : t->shape) {
      if (d < 0) return Malformed("ipc.negative-dim", "negative dimension").WithOffset(at);
    }
    for (int64_t s : t->strides) {
      if (s < 0) return Malformed("ipc.negative-stride", "negative stride").WithOffset(at);
    }
    if (t->storage_offset < 0) {
      return Malformed("ipc.negative-offset", "negative storage offset").WithOffset(at);
    }
    if (t->fd_index >= fd_count_) {
      return Malformed("ipc.bad-fd-index", "tensor refers to an fd that was not sent")
          .WithOffset(at);
    }
    if (t->storage_byte_offset % kStorageAlignment != 0) {
      return Malformed("ipc.misaligned-storage", "storage offset is not 64-byte aligned")
          .WithOffset(at);
    }
    return CheckExtent(*t, at);
  }

  ByteReader r_;
  uint32_t fd_count_;
  const SandboxLimits& limits_;
  std::vector<Frame> stack_;
  uint64_t values_ = 0;
  uint64_t tensors_ = 0;
};

void PutU8(std::vector<uint8_t>& o, uint8_t v) {
  o.push_back(v);
}
void PutU16(std::vector<uint8_t>& o, uint16_t v) {
  for (int i = 0; i < 2; ++i) o.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutU32(std::vector<uint8_t>& o, uint32_t v) {
  for (int i = 0; i < 4; ++i) o.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutU64(std::vector<uint8_t>& o, uint64_t v) {
  for (int i = 0; i < 8; ++i) o.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Status PutText(std::vector<uint8_t>& o, std::string_view s, bool utf8) {
  if (s.size() > std::numeric_limits<uint32_t>::max()) {
    return LimitExceeded("ipc.message-too-large", "string longer than 4 GiB");
  }
  if (utf8 && !IsValidUtf8(s)) return Malformed("ipc.bad-utf8", "string is not valid UTF-8");
  PutU32(o, static_cast<uint32_t>(s.size()));
  o.insert(o.end(), s.begin(), s.end());
  return OkStatus();
}

class Encoder {
 public:
  explicit Encoder(const SandboxLimits& limits) : limits_(limits) {}

  Status Run(const Value& root, std::vector<uint8_t>& out) {
    SEALPKG_RETURN_IF_ERROR(WriteOne(root, out));
    while (!stack_.empty()) {
      Frame& top = stack_.back();
      const Value& v = *top.v;
      const size_t n = v.kind == Kind::kDict ? v.entries.size() : v.items.size();
      if (top.next == n) {
        stack_.pop_back();
        continue;
      }
      const size_t i = top.next++;
      if (v.kind == Kind::kDict) {
        SEALPKG_RETURN_IF_ERROR(PutText(out, v.entries[i].first, true));
        SEALPKG_RETURN_IF_ERROR(WriteOne(v.entries[i].second, out));
      } else {
        SEALPKG_RETURN_IF_ERROR(WriteOne(v.items[i], out));
      }
      if (out.size() > limits_.max_message_bytes) {
        return LimitExceeded("ipc.message-too-large", "result exceeds max_message_bytes");
      }
    }
    return OkStatus();
  }

 private:
  struct Frame {
    const Value* v;
    size_t next;
  };

  Status WriteOne(const Value& v, std::vector<uint8_t>& o) {
    if (++values_ > limits_.max_values) {
      return LimitExceeded("ipc.too-many-values", "more values than max_values");
    }
    PutU8(o, static_cast<uint8_t>(v.kind));
    switch (v.kind) {
      case Kind::kNone:
      case Kind::kFalse:
      case Kind::kTrue:
        return OkStatus();
      case Kind::kInt:
        PutU64(o, static_cast<uint64_t>(v.i));
        return OkStatus();
      case Kind::kFloat:
        PutU64(o, std::bit_cast<uint64_t>(v.f));
        return OkStatus();
      case Kind::kStr:
        return PutText(o, v.s, true);
      case Kind::kBytes:
        return PutText(o, v.s, false);
      case Kind::kList:
      case Kind::kTuple:
      case Kind::kDict: {
        const size_t n = v.kind == Kind::kDict ? v.entries.size() : v.items.size();
        if (n > std::numeric_limits<uint32_t>::max()) {
          return LimitExceeded("ipc.too-many-values", "container too large");
        }
        PutU32(o, static_cast<uint32_t>(n));
        if (n == 0) return OkStatus();
        if (stack_.size() >= limits_.max_depth) {
          return LimitExceeded("ipc.too-deep", "containers nested deeper than max_depth");
        }
        stack_.push_back(Frame{&v, 0});
        return OkStatus();
      }
      case Kind::kTensor: {
        const TensorRef& t = v.tensor;
        if (++tensors_ > limits_.max_tensors) {
          return LimitExceeded("ipc.too-many-tensors", "more tensors than max_tensors");
        }
        if (DTypeSize(static_cast<uint8_t>(t.dtype)) == 0) {
          return Malformed("ipc.bad-dtype", "dtype is not allowed");
        }
        if (t.shape.size() != t.strides.size()) {
          return Malformed("ipc.bad-strides", "shape and strides differ in length");
        }
        if (t.shape.size() > limits_.max_tensor_dims) {
          return LimitExceeded("ipc.too-many-dims", "tensor has more than max_tensor_dims dims");
        }
        PutU8(o, static_cast<uint8_t>(t.dtype));
        PutU8(o, static_cast<uint8_t>(t.shape.size()));
        for (int64_t d : t.shape) PutU64(o, static_cast<uint64_t>(d));
        for (int64_t s : t.strides) PutU64(o, static_cast<uint64_t>(s));
        PutU64(o, static_cast<uint64_t>(t.storage_offset));
        PutU32(o, t.fd_index);
        PutU64(o, t.storage_byte_offset);
        PutU64(o, t.storage_nbytes);
        return OkStatus();
      }
    }
    return Malformed("ipc.unknown-tag", "unknown value kind");
  }

  const SandboxLimits& limits_;
  std::vector<Frame> stack_;
  uint64_t values_ = 0;
  uint64_t tensors_ = 0;
};

}  // namespace

uint64_t DTypeSize(uint8_t dtype) {
  switch (static_cast<DType>(dtype)) {
    case DType::kFloat64:
    case DType::kInt64:
      return 8;
    case DType::kFloat32:
    case DType::kInt32:
      return 4;
    case DType::kFloat16:
    case DType::kBFloat16:
    case DType::kInt16:
      return 2;
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kBool:
      return 1;
  }
  return 0;
}

std::string_view DTypeName(uint8_t dtype) {
  switch (static_cast<DType>(dtype)) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kFloat16:
      return "float16";
    case DType::kBFloat16:
      return "bfloat16";
    case DType::kInt8:
      return "int8";
    case DType::kUInt8:
      return "uint8";
    case DType::kInt16:
      return "int16";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
    case DType::kBool:
      return "bool";
  }
  return "";
}

Value Value::Bool(bool b) {
  Value v;
  v.kind = b ? Kind::kTrue : Kind::kFalse;
  return v;
}
Value Value::Int(int64_t x) {
  Value v;
  v.kind = Kind::kInt;
  v.i = x;
  return v;
}
Value Value::Float(double x) {
  Value v;
  v.kind = Kind::kFloat;
  v.f = x;
  return v;
}
Value Value::Str(std::string x) {
  Value v;
  v.kind = Kind::kStr;
  v.s = std::move(x);
  return v;
}
Value Value::Bytes(std::string x) {
  Value v;
  v.kind = Kind::kBytes;
  v.s = std::move(x);
  return v;
}
Value Value::List(std::vector<Value> x) {
  Value v;
  v.kind = Kind::kList;
  v.items = std::move(x);
  return v;
}
Value Value::Tuple(std::vector<Value> x) {
  Value v;
  v.kind = Kind::kTuple;
  v.items = std::move(x);
  return v;
}
Value Value::Dict(std::vector<DictEntry> x) {
  Value v;
  v.kind = Kind::kDict;
  v.entries = std::move(x);
  return v;
}
Value Value::Tensor(TensorRef t) {
  Value v;
  v.kind = Kind::kTensor;
  v.tensor = std::move(t);
  return v;
}

const Value* Value::Find(std::string_view key) const {
  if (kind != Kind::kDict) return nullptr;
  for (const auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

Result<Header> DecodeHeader(std::span<const uint8_t> bytes, const SandboxLimits& limits) {
  ByteReader r(bytes);
  const uint32_t magic = r.U32();
  const uint16_t version = r.U16();
  const uint16_t type = r.U16();
  const uint32_t length = r.U32();
  const uint32_t reserved = r.U32();
  if (!r.ok()) return Malformed("ipc.truncated-header", "message shorter than its header");
  if (magic != kMagic) return Malformed("ipc.bad-magic", "not a sealpkg sandbox message");
  if (version != kProtocolVersion) {
    return Malformed("ipc.bad-version", "protocol version " + std::to_string(version));
  }
  if (type < static_cast<uint16_t>(MessageType::kReady) ||
      type > static_cast<uint16_t>(MessageType::kError)) {
    return Malformed("ipc.unknown-type", "message type " + std::to_string(type));
  }
  if (reserved != 0) return Malformed("ipc.reserved-nonzero", "reserved header field is set");
  if (length > limits.max_message_bytes) {
    return LimitExceeded("ipc.message-too-large",
                         "payload of " + std::to_string(length) + " bytes exceeds the cap");
  }
  return Header{static_cast<MessageType>(type), length};
}

Result<Value> DecodeValue(std::span<const uint8_t> payload, uint32_t fd_count,
                          const SandboxLimits& limits) {
  if (payload.size() > limits.max_message_bytes) {
    return LimitExceeded("ipc.message-too-large", "payload exceeds max_message_bytes");
  }
  return Decoder(payload, fd_count, limits).Run();
}

Result<Message> DecodeMessage(std::span<const uint8_t> bytes, uint32_t fd_count,
                              const SandboxLimits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(Header h, DecodeHeader(bytes, limits));
  if (bytes.size() - kHeaderBytes != h.length) {
    return Malformed("ipc.length-mismatch", "payload length differs from the header");
  }
  SEALPKG_ASSIGN_OR_RETURN(Value v, DecodeValue(bytes.subspan(kHeaderBytes), fd_count, limits));
  return Message{h.type, std::move(v)};
}

Result<std::vector<uint8_t>> EncodeMessage(MessageType type, const Value& value,
                                           const SandboxLimits& limits) {
  std::vector<uint8_t> out;
  PutU32(out, kMagic);
  PutU16(out, kProtocolVersion);
  PutU16(out, static_cast<uint16_t>(type));
  PutU32(out, 0);  // length, patched below
  PutU32(out, 0);
  Encoder enc(limits);
  SEALPKG_RETURN_IF_ERROR(enc.Run(value, out));
  const uint64_t length = out.size() - kHeaderBytes;
  if (length > limits.max_message_bytes) {
    return LimitExceeded("ipc.message-too-large", "result exceeds max_message_bytes");
  }
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<uint8_t>(length >> (8 * i));
  return out;
}

}  // namespace sealpkg::sandbox
