// safetensors_reader: arbitrary bytes -> sealpkg::sandbox::ParseSafetensors (what `sealpkg run`
// reads from an --input file, and what extract's output must satisfy).
//
// Limits are small (64 KiB header, 256 tensors, 8 dims, 1 MiB data) so that every cap is
// reachable.
//
// Invariants (each violation calls abort()):
//   - ParseSafetensors never returns kInternal, only kMalformed or kLimitExceeded;
//   - an accepted file's tensors are sorted by unique name, each one's bytes lie inside the file
//     and equal shape x itemsize, and together they cover the data section exactly;
//   - writing the accepted table back with WriteSafetensors and parsing the result gives the
//     same names, dtypes, shapes, bytes and metadata (the reader and the writer agree).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "core/status.h"
#include "sandbox/ipc.h"
#include "sandbox/safetensors.h"

namespace {

namespace sb = sealpkg::sandbox;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "safetensors_reader_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

sealpkg::SafetensorsLimits FuzzLimits() {
  sealpkg::SafetensorsLimits l;
  l.max_header_bytes = 1u << 16;
  l.max_tensors = 256;
  l.max_dims = 8;
  l.max_data_bytes = 1u << 20;
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  const auto limits = FuzzLimits();
  auto parsed = sb::ParseSafetensors(bytes, limits);
  if (!parsed.ok()) {
    const auto code = parsed.status().code();
    if (code != sealpkg::ErrorCode::kMalformed && code != sealpkg::ErrorCode::kLimitExceeded) {
      Fail("error other than malformed / limit exceeded");
    }
    return 0;
  }
  const sb::SafetensorsFile& f = *parsed;
  if (f.data_start != 8 + f.header_bytes || f.data_start > size) Fail("data start");
  uint64_t covered = 0;
  std::vector<sb::SafetensorsSource> sources;
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    const auto& t = f.tensors[i];
    if (i > 0 && !(f.tensors[i - 1].name < t.name)) Fail("names not sorted and unique");
    if (t.end < t.begin || t.end > size - f.data_start) Fail("tensor outside the data section");
    uint64_t n = sb::DTypeSize(static_cast<uint8_t>(t.dtype));
    for (const int64_t d : t.shape) {
      if (d < 0) Fail("negative dimension");
      n *= static_cast<uint64_t>(d);  // cannot overflow: the parser checked
    }
    if (n != t.end - t.begin) Fail("size != shape x itemsize");
    covered += n;
    sb::SafetensorsSource s;
    s.name = t.name;
    s.tensor.dtype = t.dtype;
    s.tensor.shape = t.shape;
    s.tensor.strides.assign(t.shape.size(), 0);
    int64_t stride = 1;
    for (size_t d = t.shape.size(); d-- > 0;) {
      s.tensor.strides[d] = stride;
      stride *= t.shape[d] == 0 ? 1 : t.shape[d];
    }
    s.tensor.storage_nbytes = n;
    s.storage = f.Data(bytes, t);
    sources.push_back(std::move(s));
  }
  if (covered != size - f.data_start) Fail("tensors do not cover the data section");

  std::vector<uint8_t> written;
  auto total =
      sb::WriteSafetensors(sources, f.metadata, limits, [&](std::span<const uint8_t> piece) {
        written.insert(written.end(), piece.begin(), piece.end());
        return sealpkg::OkStatus();
      });
  if (!total.ok()) {
    // A header written with this writer's spacing can exceed the cap the original met.
    if (total.status().reason() == "safetensors.header-limit") return 0;
    Fail("the writer refuses an accepted table");
  }
  if (*total != written.size()) Fail("writer's byte count");
  auto again = sb::ParseSafetensors(written, limits);
  if (!again.ok()) Fail("the reader refuses what the writer wrote");
  if (again->tensors.size() != f.tensors.size() || again->metadata != f.metadata) {
    Fail("round trip changed the table");
  }
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    const auto& a = f.tensors[i];
    const auto& b = again->tensors[i];
    const auto da = f.Data(bytes, a);
    const auto db = again->Data(written, b);
    if (a.name != b.name || a.dtype != b.dtype || a.shape != b.shape || da.size() != db.size() ||
        (!da.empty() && std::memcmp(da.data(), db.data(), da.size()) != 0)) {
      Fail("round trip changed a tensor");
    }
  }
  return 0;
}
