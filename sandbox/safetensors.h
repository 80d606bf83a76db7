// Safetensors files: the tensor-only format `sealpkg extract` writes and `sealpkg run` reads.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON
//   {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"<key>": "<string>"}}
// (optionally padded with trailing spaces), then the data section: each tensor's elements,
// little-endian, C-contiguous, at [begin, end) relative to the start of the data section.
//
// ParseSafetensors() is strict and pure (bytes in, table out): the header length is capped
// (SafetensorsLimits) before anything is read, the JSON goes through sealpkg's strict parser
// (signing/json.h: unique keys, no trailing data, safe integers), every entry has exactly the
// three fields with known dtypes, shape x itemsize is checked for overflow and must equal
// end - begin, and the tensors sorted by offset tile the data section exactly (no gap, no
// overlap, nothing after the last one). This is the rule of the reference implementation
// (huggingface/safetensors), which also sorts by offset before checking.
//
// WriteSafetensors() streams a file to a sink from tensors that live in checked sealed arenas
// (tensor_transport.h): names sorted, header padded with spaces to a multiple of 8, strided
// tensors copied element by element into C order, tensors sharing a storage written separately.
//
//   SEALPKG_ASSIGN_OR_RETURN(sandbox::SafetensorsFile f,
//                            sandbox::ParseSafetensors(bytes, limits.safetensors));
//   for (const auto& t : f.tensors) Use(t.name, t.dtype, t.shape, f.Data(bytes, t));
//
// Lives in its own library (sealpkg_safetensors) so that the worker and sealpkg_sandbox keep
// depending on core only; this library alone adds the edge to signing's JSON parser.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "core/status.h"
#include "sandbox/ipc.h"

namespace sealpkg::sandbox {

// "F32", "F64", "F16", "BF16", "I8", "U8", "I16", "I32", "I64", "BOOL".
std::string_view SafetensorsDTypeName(DType dtype);
// The inverse; nullopt for any other name (the format's U16, F8_E4M3, ... are refused).
std::optional<DType> SafetensorsDTypeFromName(std::string_view name);

struct SafetensorsTensor {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // data_offsets, relative to the data section
  uint64_t end = 0;
};

struct SafetensorsFile {
  uint64_t header_bytes = 0;                                  // N
  uint64_t data_start = 0;                                    // 8 + N
  std::vector<SafetensorsTensor> tensors;                     // sorted by name
  std::vector<std::pair<std::string, std::string>> metadata;  // in file order

  // The bytes of `t` within the file the table was parsed from.
  std::span<const uint8_t> Data(std::span<const uint8_t> file, const SafetensorsTensor& t) const {
    return file.subspan(data_start + t.begin, t.end - t.begin);
  }
  const SafetensorsTensor* Find(std::string_view name) const;
};

// Reasons: kMalformed "safetensors.truncated", "safetensors.header-json",
// "safetensors.header-start", "safetensors.schema", "safetensors.dtype", "safetensors.shape",
// "safetensors.size-mismatch", "safetensors.offsets", "safetensors.data-size",
// "safetensors.metadata"; kLimitExceeded "safetensors.header-limit", "safetensors.json-limit"
// (nesting deeper than a safetensors header, or more values/members than the tensor budget),
// "safetensors.tensor-limit", "safetensors.dims-limit", "safetensors.size-limit". The message
// names the tensor.
Result<SafetensorsFile> ParseSafetensors(std::span<const uint8_t> bytes,
                                         const SafetensorsLimits& limits);

// One tensor to write: its reference as the parent received it (dtype, shape, strides, offset)
// and the bytes of its storage (storage_nbytes bytes at storage_byte_offset of its arena).
struct SafetensorsSource {
  std::string name;
  TensorRef tensor;
  std::span<const uint8_t> storage;
};

// Receives the file in order, in pieces.
using ByteSink = std::function<Status(std::span<const uint8_t>)>;

// Writes header and data for `tensors` (any order; written sorted by name) to `sink`. Fails
// before writing anything on duplicate names ("safetensors.duplicate-name"), a tensor whose
// elements do not lie inside its storage ("safetensors.out-of-storage"), or sizes over
// `limits`. Returns the total number of bytes written.
Result<uint64_t> WriteSafetensors(std::span<const SafetensorsSource> tensors,
                                  std::span<const std::pair<std::string, std::string>> metadata,
                                  const SafetensorsLimits& limits, const ByteSink& sink);

}  // namespace sealpkg::sandbox
