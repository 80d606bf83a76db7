#include "sandbox/safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "core/json_writer.h"
#include "core/printable.h"
#include "signing/json.h"

namespace sealpkg::sandbox {
namespace {

// Tensor data is written and read as raw host bytes; the format is little-endian.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

struct DTypeNameRow {
  DType dtype;
  std::string_view name;
};
constexpr std::array<DTypeNameRow, 10> kDTypeNames = {{
    {DType::kFloat32, "F32"},
    {DType::kFloat64, "F64"},
    {DType::kFloat16, "F16"},
    {DType::kBFloat16, "BF16"},
    {DType::kInt8, "I8"},
    {DType::kUInt8, "U8"},
    {DType::kInt16, "I16"},
    {DType::kInt32, "I32"},
    {DType::kInt64, "I64"},
    {DType::kBool, "BOOL"},
}};

constexpr std::string_view kMetadataKey = "__metadata__";
// Members of __metadata__ budgeted on top of the tensors (real files carry one to ten).
constexpr uint64_t kMetadataMembers = 4096;

std::string Quoted(std::string_view name) {
  return "'" + Printable(name) + "'";
}

// numel x itemsize, or nullopt on overflow. Dimensions are non-negative.
std::optional<uint64_t> ByteSize(std::span<const int64_t> shape, uint64_t itemsize) {
  uint64_t n = itemsize;
  for (const int64_t d : shape) {
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return std::nullopt;
  }
  return n;
}

Result<SafetensorsTensor> ParseEntry(const std::string& name, const signing::JsonValue& value,
                                     const SafetensorsLimits& limits) {
  const std::string where = "tensor " + Quoted(name);
  auto schema = [&](std::string_view what) {
    return Malformed("safetensors.schema", where + ": " + std::string(what));
  };
  if (!value.is_object()) return schema("expected an object");
  const signing::JsonValue* dtype = value.Find("dtype");
  const signing::JsonValue* shape = value.Find("shape");
  const signing::JsonValue* offsets = value.Find("data_offsets");
  if (dtype == nullptr || shape == nullptr || offsets == nullptr) {
    return schema("needs exactly dtype, shape and data_offsets");
  }
  if (value.members().size() != 3) return schema("has members besides dtype, shape, data_offsets");
  if (!dtype->is_string()) return schema("dtype is not a string");
  if (!shape->is_array()) return schema("shape is not an array");
  if (!offsets->is_array()) return schema("data_offsets is not an array");

  SafetensorsTensor t;
  t.name = name;
  const auto dt = SafetensorsDTypeFromName(dtype->string_value());
  if (!dt) {
    return Malformed("safetensors.dtype",
                     where + ": unknown dtype " + Quoted(dtype->string_value()));
  }
  t.dtype = *dt;
  if (shape->items().size() > limits.max_dims) {
    return LimitExceeded("safetensors.dims-limit",
                         where + ": " + std::to_string(shape->items().size()) +
                             " dimensions, limit " + std::to_string(limits.max_dims));
  }
  t.shape.reserve(shape->items().size());
  for (const auto& d : shape->items()) {
    if (!d.is_integer() || d.integer_value() < 0) {
      return Malformed("safetensors.shape", where + ": dimensions must be integers >= 0");
    }
    t.shape.push_back(d.integer_value());
  }
  const auto& off = offsets->items();
  if (off.size() != 2 || !off[0].is_integer() || !off[1].is_integer() ||
      off[0].integer_value() < 0 || off[1].integer_value() < off[0].integer_value()) {
    return Malformed("safetensors.offsets",
                     where + ": data_offsets must be [begin, end] with 0 <= begin <= end");
  }
  t.begin = static_cast<uint64_t>(off[0].integer_value());
  t.end = static_cast<uint64_t>(off[1].integer_value());
  const auto nbytes = ByteSize(t.shape, DTypeSize(static_cast<uint8_t>(t.dtype)));
  if (!nbytes || *nbytes > limits.max_data_bytes) {
    return LimitExceeded("safetensors.size-limit",
                         where + ": shape x itemsize overflows or exceeds " +
                             std::to_string(limits.max_data_bytes) + " bytes");
  }
  if (t.end - t.begin != *nbytes) {
    return Malformed("safetensors.size-mismatch",
                     where + ": data_offsets span " + std::to_string(t.end - t.begin) +
                         " bytes, shape x itemsize is " + std::to_string(*nbytes));
  }
  return t;
}

// A tensor's largest element offset plus one, in elements, or nullopt when it overflows or a
// stride is negative. 0 for a tensor without elements.
std::optional<uint64_t> ElementExtent(const TensorRef& t) {
  if (t.storage_offset < 0) return std::nullopt;
  uint64_t last = static_cast<uint64_t>(t.storage_offset);
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (t.shape[i] < 0 || t.strides[i] < 0) return std::nullopt;
    if (t.shape[i] == 0) return 0;
  }
  for (size_t i = 0; i < t.shape.size(); ++i) {
    uint64_t step = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(t.shape[i] - 1),
                               static_cast<uint64_t>(t.strides[i]), &step) ||
        __builtin_add_overflow(last, step, &last)) {
      return std::nullopt;
    }
  }
  if (last == UINT64_MAX) return std::nullopt;
  return last + 1;
}

bool IsCContiguous(const TensorRef& t) {
  int64_t expected = 1;
  for (size_t i = t.shape.size(); i-- > 0;) {
    if (t.shape[i] != 1 && t.strides[i] != expected) return false;
    expected *= t.shape[i];  // bounded: the byte size was checked for overflow first
  }
  return true;
}

// Streams a checked tensor's elements in C order through a bounded buffer.
class StridedCopier {
 public:
  explicit StridedCopier(const ByteSink& sink) : sink_(sink) { buffer_.reserve(kBufferBytes); }

  Status Copy(const SafetensorsSource& s, uint64_t itemsize) {
    const TensorRef& t = s.tensor;
    const size_t dims = t.shape.size();
    // Innermost run: contiguous elements when the last stride is 1.
    const uint64_t inner = dims == 0 ? 1 : static_cast<uint64_t>(t.shape[dims - 1]);
    const bool inner_contiguous = dims == 0 || t.strides[dims - 1] == 1;
    const size_t outer_dims = dims == 0 ? 0 : dims - 1;
    std::vector<int64_t> index(outer_dims, 0);
    uint64_t outer_count = 1;
    for (size_t i = 0; i < outer_dims; ++i) outer_count *= static_cast<uint64_t>(t.shape[i]);
    uint64_t base = static_cast<uint64_t>(t.storage_offset);  // element offset of the run
    for (uint64_t run = 0; run < outer_count; ++run) {
      if (inner_contiguous) {
        SEALPKG_RETURN_IF_ERROR(Put(s.storage.subspan(base * itemsize, inner * itemsize)));
      } else {
        const uint64_t stride = static_cast<uint64_t>(t.strides[dims - 1]);
        for (uint64_t k = 0; k < inner; ++k) {
          SEALPKG_RETURN_IF_ERROR(Put(s.storage.subspan((base + k * stride) * itemsize, itemsize)));
        }
      }
      // Odometer over the outer dimensions, last fastest.
      for (size_t d = outer_dims; d-- > 0;) {
        base += static_cast<uint64_t>(t.strides[d]);
        if (++index[d] < t.shape[d]) break;
        base -= static_cast<uint64_t>(t.strides[d]) * static_cast<uint64_t>(t.shape[d]);
        index[d] = 0;
      }
    }
    return OkStatus();
  }

  Status Flush() {
    if (buffer_.empty()) return OkStatus();
    Status s = sink_(buffer_);
    buffer_.clear();
    return s;
  }

 private:
  static constexpr size_t kBufferBytes = 1u << 20;

  Status Put(std::span<const uint8_t> bytes) {
    if (bytes.size() >= kBufferBytes) {
      SEALPKG_RETURN_IF_ERROR(Flush());
      return sink_(bytes);
    }
    if (buffer_.size() + bytes.size() > kBufferBytes) SEALPKG_RETURN_IF_ERROR(Flush());
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    return OkStatus();
  }

  const ByteSink& sink_;
  std::vector<uint8_t> buffer_;
};

}  // namespace

std::string_view SafetensorsDTypeName(DType dtype) {
  for (const auto& row : kDTypeNames) {
    if (row.dtype == dtype) return row.name;
  }
  return "";
}

std::optional<DType> SafetensorsDTypeFromName(std::string_view name) {
  for (const auto& row : kDTypeNames) {
    if (row.name == name) return row.dtype;
  }
  return std::nullopt;
}

const SafetensorsTensor* SafetensorsFile::Find(std::string_view name) const {
  auto it =
      std::lower_bound(tensors.begin(), tensors.end(), name,
                       [](const SafetensorsTensor& t, std::string_view n) { return t.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

Result<SafetensorsFile> ParseSafetensors(std::span<const uint8_t> bytes,
                                         const SafetensorsLimits& limits) {
  if (bytes.size() < 8) {
    return Malformed("safetensors.truncated", "shorter than the 8-byte header length");
  }
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  // The cap comes before any use of n: a hostile length must not size an allocation.
  if (n > limits.max_header_bytes) {
    return LimitExceeded("safetensors.header-limit", "header of " + std::to_string(n) +
                                                         " bytes, limit " +
                                                         std::to_string(limits.max_header_bytes));
  }
  if (n > bytes.size() - 8) {
    return Malformed("safetensors.truncated",
                     "header of " + std::to_string(n) + " bytes runs past the end of the file");
  }
  const std::span<const uint8_t> header = bytes.subspan(8, n);
  // The format requires '{' first; leading whitespace would be a second way to spell a header.
  if (header.empty() || header[0] != '{') {
    return Malformed("safetensors.header-start", "the JSON header must start with '{'")
        .WithOffset(8);
  }
  SigningLimits json_limits;
  json_limits.max_json_bytes = limits.max_header_bytes;
  json_limits.max_json_depth = 3;  // {name: {shape: [..]}}: anything deeper is not safetensors
  // A tensor entry is 7 values plus one per dimension; 16 per tensor covers real files (<= 8
  // dims) and keeps a hostile header from building a huge tree. Metadata gets kMetadataMembers.
  json_limits.max_json_values = 16 * limits.max_tensors + 2 * kMetadataMembers;
  json_limits.max_json_members = limits.max_tensors + kMetadataMembers;
  json_limits.max_json_string_bytes = limits.max_header_bytes;
  auto doc = signing::ParseJson(header, json_limits);
  if (!doc.ok()) {
    if (doc.status().code() == ErrorCode::kLimitExceeded) {
      return LimitExceeded("safetensors.json-limit", doc.status().ToString()).WithOffset(8);
    }
    return Malformed("safetensors.header-json", doc.status().ToString()).WithOffset(8);
  }
  if (!doc->is_object()) {
    return Malformed("safetensors.schema", "the header is not a JSON object");
  }

  SafetensorsFile file;
  file.header_bytes = n;
  file.data_start = 8 + n;
  const auto& members = doc->members();
  const bool has_metadata = doc->Find(kMetadataKey) != nullptr;
  const uint64_t tensor_count = members.size() - (has_metadata ? 1 : 0);
  if (tensor_count > limits.max_tensors) {
    return LimitExceeded(
        "safetensors.tensor-limit",
        std::to_string(tensor_count) + " tensors, limit " + std::to_string(limits.max_tensors));
  }
  file.tensors.reserve(tensor_count);
  for (const auto& m : members) {
    if (m.key == kMetadataKey) {
      if (!m.value.is_object()) {
        return Malformed("safetensors.metadata", "__metadata__ is not an object");
      }
      for (const auto& kv : m.value.members()) {
        if (!kv.value.is_string()) {
          return Malformed("safetensors.metadata",
                           "__metadata__ " + Quoted(kv.key) + " is not a string");
        }
        file.metadata.emplace_back(kv.key, kv.value.string_value());
      }
      continue;
    }
    SEALPKG_ASSIGN_OR_RETURN(SafetensorsTensor t, ParseEntry(m.key, m.value, limits));
    file.tensors.push_back(std::move(t));
  }

  // The tensors, in offset order, must tile the data section: no gap a second reader could
  // interpret, no overlap (two names for the same bytes), nothing after the last one.
  std::vector<const SafetensorsTensor*> by_offset;
  by_offset.reserve(file.tensors.size());
  for (const auto& t : file.tensors) by_offset.push_back(&t);
  std::stable_sort(by_offset.begin(), by_offset.end(),
                   [](const SafetensorsTensor* a, const SafetensorsTensor* b) {
                     return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
                   });
  uint64_t expected = 0;
  for (const SafetensorsTensor* t : by_offset) {
    if (t->begin != expected) {
      return Malformed("safetensors.offsets", "tensor " + Quoted(t->name) + " starts at " +
                                                  std::to_string(t->begin) + ", expected " +
                                                  std::to_string(expected) +
                                                  (t->begin < expected ? " (overlap)" : " (gap)"));
    }
    expected = t->end;
  }
  const uint64_t data_size = bytes.size() - file.data_start;
  if (data_size > limits.max_data_bytes) {
    return LimitExceeded("safetensors.size-limit", "data section of " + std::to_string(data_size) +
                                                       " bytes, limit " +
                                                       std::to_string(limits.max_data_bytes));
  }
  if (data_size != expected) {
    return Malformed("safetensors.data-size", "data section is " + std::to_string(data_size) +
                                                  " bytes, the tensors cover " +
                                                  std::to_string(expected));
  }
  std::sort(file.tensors.begin(), file.tensors.end(),
            [](const SafetensorsTensor& a, const SafetensorsTensor& b) { return a.name < b.name; });
  return file;
}

Result<uint64_t> WriteSafetensors(std::span<const SafetensorsSource> tensors,
                                  std::span<const std::pair<std::string, std::string>> metadata,
                                  const SafetensorsLimits& limits, const ByteSink& sink) {
  if (tensors.size() > limits.max_tensors) {
    return LimitExceeded(
        "safetensors.tensor-limit",
        std::to_string(tensors.size()) + " tensors, limit " + std::to_string(limits.max_tensors));
  }
  std::vector<const SafetensorsSource*> sorted;
  sorted.reserve(tensors.size());
  for (const auto& s : tensors) sorted.push_back(&s);
  std::sort(
      sorted.begin(), sorted.end(),
      [](const SafetensorsSource* a, const SafetensorsSource* b) { return a->name < b->name; });

  // Every check before the first byte goes out.
  std::vector<uint64_t> sizes;
  sizes.reserve(sorted.size());
  uint64_t total = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const SafetensorsSource& s = *sorted[i];
    const TensorRef& t = s.tensor;
    const std::string where = "tensor " + Quoted(s.name);
    if (i > 0 && sorted[i - 1]->name == s.name) {
      return Malformed("safetensors.duplicate-name", where + " appears twice");
    }
    // JsonWriter would replace invalid UTF-8, silently renaming the tensor.
    if (s.name == kMetadataKey || !IsValidUtf8(s.name)) {
      return Malformed("safetensors.name", where + " is reserved or not valid UTF-8");
    }
    const uint64_t itemsize = DTypeSize(static_cast<uint8_t>(t.dtype));
    if (itemsize == 0 || SafetensorsDTypeName(t.dtype).empty()) {
      return Malformed("safetensors.dtype", where + ": dtype outside the allow-list");
    }
    if (t.shape.size() != t.strides.size() || t.shape.size() > limits.max_dims) {
      return Malformed("safetensors.shape",
                       where + ": shape and strides disagree or too many dims");
    }
    for (const int64_t d : t.shape) {
      if (d < 0) return Malformed("safetensors.shape", where + ": negative dimension");
    }
    const auto nbytes = ByteSize(t.shape, itemsize);
    if (!nbytes || *nbytes > limits.max_data_bytes ||
        __builtin_add_overflow(total, *nbytes, &total) || total > limits.max_data_bytes) {
      return LimitExceeded(
          "safetensors.size-limit",
          where + ": data over " + std::to_string(limits.max_data_bytes) + " bytes");
    }
    // The parent already checked the tensor against its storage (ipc.cc); checked again here
    // because this copy reads storage bytes by computed offsets.
    const auto extent = ElementExtent(t);
    uint64_t extent_bytes = 0;
    if (!extent || __builtin_mul_overflow(*extent, itemsize, &extent_bytes) ||
        extent_bytes > s.storage.size()) {
      return Malformed("safetensors.out-of-storage",
                       where + ": elements reach past its storage of " +
                           std::to_string(s.storage.size()) + " bytes");
    }
    sizes.push_back(*nbytes);
  }

  JsonWriter j;
  j.BeginObject();
  if (!metadata.empty()) {
    j.Key(kMetadataKey).BeginObject();
    for (const auto& [k, v] : metadata) j.Key(k).String(v);
    j.EndObject();
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const TensorRef& t = sorted[i]->tensor;
    j.Key(sorted[i]->name).BeginObject();
    j.Key("dtype").String(SafetensorsDTypeName(t.dtype));
    j.Key("shape").BeginArray();
    for (const int64_t d : t.shape) j.Int(d);
    j.EndArray();
    j.Key("data_offsets").BeginArray().Uint(offset).Uint(offset + sizes[i]).EndArray();
    j.EndObject();
    offset += sizes[i];
  }
  j.EndObject();
  std::string header = j.Take();
  // Pad with spaces so the data section starts 8-byte aligned (8 + header is a multiple of 8).
  header.append((8 - header.size() % 8) % 8, ' ');
  if (header.size() > limits.max_header_bytes) {
    return LimitExceeded("safetensors.header-limit", "header of " + std::to_string(header.size()) +
                                                         " bytes, limit " +
                                                         std::to_string(limits.max_header_bytes));
  }
  std::array<uint8_t, 8> length{};
  const uint64_t header_size = header.size();
  std::memcpy(length.data(), &header_size, 8);
  SEALPKG_RETURN_IF_ERROR(sink(length));
  SEALPKG_RETURN_IF_ERROR(sink(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(header.data()), header.size())));

  StridedCopier copier(sink);
  for (size_t i = 0; i < sorted.size(); ++i) {
    const SafetensorsSource& s = *sorted[i];
    const uint64_t itemsize = DTypeSize(static_cast<uint8_t>(s.tensor.dtype));
    if (sizes[i] == 0) continue;
    if (IsCContiguous(s.tensor)) {
      SEALPKG_RETURN_IF_ERROR(copier.Flush());
      SEALPKG_RETURN_IF_ERROR(sink(
          s.storage.subspan(static_cast<uint64_t>(s.tensor.storage_offset) * itemsize, sizes[i])));
    } else {
      SEALPKG_RETURN_IF_ERROR(copier.Copy(s, itemsize));
    }
  }
  SEALPKG_RETURN_IF_ERROR(copier.Flush());
  return 8 + header_size + offset;
}

}  // namespace sealpkg::sandbox
