// sandbox/safetensors.cc: the strict reader (golden rejections with exact codes, limits at N and
// N+1) and the writer (sorted keys, padding, C order from strided and shared storages).
#include "sandbox/safetensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "core/status.h"

namespace sealpkg::sandbox {
namespace {

std::vector<uint8_t> File(const std::string& header, const std::vector<uint8_t>& data = {}) {
  const uint64_t n = header.size();
  std::vector<uint8_t> out(8 + header.size() + data.size());
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::copy(header.begin(), header.end(), out.begin() + 8);
  std::copy(data.begin(), data.end(), out.begin() + 8 + static_cast<ptrdiff_t>(header.size()));
  return out;
}

std::vector<uint8_t> Zeros(size_t n) {
  return std::vector<uint8_t>(n, 0);
}

struct Golden {
  const char* name;
  std::vector<uint8_t> bytes;
  ErrorCode code;
  const char* reason;
};

std::vector<Golden> GoldenRejections() {
  std::vector<uint8_t> huge(8, 0xff);  // header length 2^64 - 1
  std::vector<uint8_t> short_header = File("{}");
  short_header.resize(9);  // claims 2 header bytes, has 1
  std::string deep_dims;
  for (int i = 0; i < 65; ++i) deep_dims += i == 0 ? "1" : ",1";
  return {
      {"empty", {}, ErrorCode::kMalformed, "safetensors.truncated"},
      {"seven_bytes", Zeros(7), ErrorCode::kMalformed, "safetensors.truncated"},
      {"header_over_cap", huge, ErrorCode::kLimitExceeded, "safetensors.header-limit"},
      {"header_past_end", short_header, ErrorCode::kMalformed, "safetensors.truncated"},
      {"header_empty", File(""), ErrorCode::kMalformed, "safetensors.header-start"},
      {"leading_space", File(" {}"), ErrorCode::kMalformed, "safetensors.header-start"},
      {"array_header", File("[]"), ErrorCode::kMalformed, "safetensors.header-start"},
      {"unterminated", File("{"), ErrorCode::kMalformed, "safetensors.header-json"},
      {"trailing_data", File("{}x"), ErrorCode::kMalformed, "safetensors.header-json"},
      {"nul_padding", File(std::string("{}\0", 3)), ErrorCode::kMalformed,
       "safetensors.header-json"},
      {"duplicate_key",
       File(R"({"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]},)"
            R"("a":{"dtype":"U8","shape":[],"data_offsets":[1,2]}})",
            Zeros(2)),
       ErrorCode::kMalformed, "safetensors.header-json"},
      {"fraction_in_shape", File(R"({"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})"),
       ErrorCode::kMalformed, "safetensors.header-json"},
      {"too_deep", File(R"({"a":{"dtype":"U8","shape":[[1]],"data_offsets":[0,1]}})"),
       ErrorCode::kLimitExceeded, "safetensors.json-limit"},
      {"entry_not_object", File(R"({"a":1})"), ErrorCode::kMalformed, "safetensors.schema"},
      {"missing_offsets", File(R"({"a":{"dtype":"U8","shape":[]}})"), ErrorCode::kMalformed,
       "safetensors.schema"},
      {"extra_member",
       File(R"({"a":{"dtype":"U8","shape":[],"data_offsets":[0,1],"x":1}})", Zeros(1)),
       ErrorCode::kMalformed, "safetensors.schema"},
      {"dtype_not_string", File(R"({"a":{"dtype":1,"shape":[],"data_offsets":[0,1]}})", Zeros(1)),
       ErrorCode::kMalformed, "safetensors.schema"},
      {"dtype_unknown",
       File(R"({"a":{"dtype":"F8_E4M3","shape":[],"data_offsets":[0,1]}})", Zeros(1)),
       ErrorCode::kMalformed, "safetensors.dtype"},
      {"dtype_lowercase",
       File(R"({"a":{"dtype":"f32","shape":[],"data_offsets":[0,4]}})", Zeros(4)),
       ErrorCode::kMalformed, "safetensors.dtype"},
      {"negative_dim", File(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})"),
       ErrorCode::kMalformed, "safetensors.shape"},
      {"too_many_dims",
       File(R"({"a":{"dtype":"U8","shape":[)" + deep_dims + R"(],"data_offsets":[0,1]}})",
            Zeros(1)),
       ErrorCode::kLimitExceeded, "safetensors.dims-limit"},
      {"offsets_reversed", File(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})"),
       ErrorCode::kMalformed, "safetensors.offsets"},
      {"offsets_one", File(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[0]}})"),
       ErrorCode::kMalformed, "safetensors.offsets"},
      {"offsets_negative", File(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[-1,-1]}})"),
       ErrorCode::kMalformed, "safetensors.offsets"},
      {"size_mismatch", File(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", Zeros(4)),
       ErrorCode::kMalformed, "safetensors.size-mismatch"},
      {"shape_overflow",
       File(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
            Zeros(8)),
       ErrorCode::kLimitExceeded, "safetensors.size-limit"},
      {"gap",
       File(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
            R"("b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}})",
            Zeros(12)),
       ErrorCode::kMalformed, "safetensors.offsets"},
      {"overlap",
       File(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
            R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
            Zeros(6)),
       ErrorCode::kMalformed, "safetensors.offsets"},
      {"aliased",
       File(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
            R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
            Zeros(4)),
       ErrorCode::kMalformed, "safetensors.offsets"},
      {"not_from_zero", File(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})", Zeros(8)),
       ErrorCode::kMalformed, "safetensors.offsets"},
      {"trailing_byte", File(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", Zeros(5)),
       ErrorCode::kMalformed, "safetensors.data-size"},
      {"data_short", File(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", Zeros(3)),
       ErrorCode::kMalformed, "safetensors.data-size"},
      {"bytes_without_tensors", File("{}", Zeros(1)), ErrorCode::kMalformed,
       "safetensors.data-size"},
      {"metadata_not_object", File(R"({"__metadata__":[]})"), ErrorCode::kMalformed,
       "safetensors.metadata"},
      {"metadata_not_string", File(R"({"__metadata__":{"format":1}})"), ErrorCode::kMalformed,
       "safetensors.metadata"},
  };
}

TEST(SafetensorsReader, GoldenRejections) {
  const SafetensorsLimits limits;
  for (const Golden& g : GoldenRejections()) {
    auto r = ParseSafetensors(g.bytes, limits);
    ASSERT_FALSE(r.ok()) << g.name;
    EXPECT_EQ(r.status().code(), g.code) << g.name << ": " << r.status().ToString();
    EXPECT_EQ(r.status().reason(), g.reason) << g.name << ": " << r.status().ToString();
  }
}

TEST(SafetensorsReader, ErrorNamesTheTensor) {
  auto r = ParseSafetensors(
      File(R"({"layer.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", Zeros(4)),
      SafetensorsLimits{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'layer.weight'"), std::string::npos)
      << r.status().ToString();
}

TEST(SafetensorsReader, AcceptsAValidFile) {
  std::vector<uint8_t> data = {1, 0, 0, 0, 2, 0, 0, 0, 7, 9};
  // Header order differs from name order and offset order; metadata anywhere; space padding.
  const std::string header =
      R"({"z":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},)"
      R"("__metadata__":{"format":"pt","k":"v"},)"
      R"("a":{"dtype":"U8","shape":[1,2],"data_offsets":[8,10]},)"
      R"("empty":{"dtype":"F32","shape":[0,3],"data_offsets":[10,10]},)"
      R"("scalar_empty":{"dtype":"BOOL","shape":[0],"data_offsets":[10,10]}}   )";
  const auto bytes = File(header, data);
  auto r = ParseSafetensors(bytes, SafetensorsLimits{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->tensors.size(), 4u);
  EXPECT_EQ(r->tensors[0].name, "a");
  EXPECT_EQ(r->tensors[1].name, "empty");
  EXPECT_EQ(r->tensors[2].name, "scalar_empty");
  EXPECT_EQ(r->tensors[3].name, "z");
  EXPECT_EQ(r->tensors[3].dtype, DType::kInt32);
  EXPECT_EQ(r->tensors[0].shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(r->data_start, 8 + header.size());
  const auto z = r->Data(bytes, *r->Find("z"));
  ASSERT_EQ(z.size(), 8u);
  EXPECT_EQ(z[0], 1);
  EXPECT_EQ(z[4], 2);
  EXPECT_EQ(r->Data(bytes, *r->Find("a"))[1], 9);
  EXPECT_EQ(r->Find("missing"), nullptr);
  const std::vector<std::pair<std::string, std::string>> md = {{"format", "pt"}, {"k", "v"}};
  EXPECT_EQ(r->metadata, md);
}

TEST(SafetensorsReader, EmptyFileAndEveryDType) {
  auto r = ParseSafetensors(File("{}"), SafetensorsLimits{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->tensors.empty());
  const std::pair<const char*, uint64_t> dtypes[] = {
      {"F32", 4}, {"F64", 8}, {"F16", 2}, {"BF16", 2}, {"I8", 1},
      {"U8", 1},  {"I16", 2}, {"I32", 4}, {"I64", 8},  {"BOOL", 1}};
  for (const auto& [name, size] : dtypes) {
    const std::string header = std::string(R"({"t":{"dtype":")") + name +
                               R"(","shape":[3],"data_offsets":[0,)" + std::to_string(3 * size) +
                               "]}}";
    auto ok = ParseSafetensors(File(header, Zeros(3 * size)), SafetensorsLimits{});
    ASSERT_TRUE(ok.ok()) << name << ": " << ok.status().ToString();
    EXPECT_EQ(SafetensorsDTypeName(ok->tensors[0].dtype), name);
  }
}

TEST(SafetensorsReader, HeaderLimitAtNAndNPlusOne) {
  const std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  SafetensorsLimits limits;
  limits.max_header_bytes = header.size();
  EXPECT_TRUE(ParseSafetensors(File(header, Zeros(1)), limits).ok());
  limits.max_header_bytes = header.size() - 1;
  auto r = ParseSafetensors(File(header, Zeros(1)), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "safetensors.header-limit");
}

TEST(SafetensorsReader, TensorDimAndDataLimitsAtNAndNPlusOne) {
  const std::string two = R"({"a":{"dtype":"U8","shape":[1,1,2],"data_offsets":[0,2]},)"
                          R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})";
  SafetensorsLimits limits;
  limits.max_tensors = 2;
  limits.max_dims = 3;
  limits.max_data_bytes = 4;
  EXPECT_TRUE(ParseSafetensors(File(two, Zeros(4)), limits).ok());
  SafetensorsLimits fewer = limits;
  fewer.max_tensors = 1;
  EXPECT_EQ(ParseSafetensors(File(two, Zeros(4)), fewer).status().reason(),
            "safetensors.tensor-limit");
  SafetensorsLimits flat = limits;
  flat.max_dims = 2;
  EXPECT_EQ(ParseSafetensors(File(two, Zeros(4)), flat).status().reason(),
            "safetensors.dims-limit");
  SafetensorsLimits small = limits;
  small.max_data_bytes = 3;
  EXPECT_EQ(ParseSafetensors(File(two, Zeros(4)), small).status().reason(),
            "safetensors.size-limit");
}

// --- writer ---

struct Collected {
  std::vector<uint8_t> bytes;
  int calls = 0;
  ByteSink Sink() {
    return [this](std::span<const uint8_t> piece) {
      ++calls;
      bytes.insert(bytes.end(), piece.begin(), piece.end());
      return OkStatus();
    };
  }
};

TensorRef Ref(DType dtype, std::vector<int64_t> shape, std::vector<int64_t> strides, int64_t offset,
              uint64_t storage_nbytes) {
  TensorRef t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.strides = std::move(strides);
  t.storage_offset = offset;
  t.storage_nbytes = storage_nbytes;
  return t;
}

template <typename T>
std::vector<T> Values(std::span<const uint8_t> bytes) {
  std::vector<T> out(bytes.size() / sizeof(T));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

TEST(SafetensorsWriter, ExactBytesSortedAndPadded) {
  const std::vector<uint8_t> storage = {1, 2, 3};
  const SafetensorsSource src[] = {
      {"b", Ref(DType::kUInt8, {2}, {1}, 1, 3), storage},
      {"a", Ref(DType::kUInt8, {1}, {1}, 0, 3), storage},
  };
  const std::vector<std::pair<std::string, std::string>> md = {{"format", "pt"}};
  Collected out;
  auto total = WriteSafetensors(src, md, SafetensorsLimits{}, out.Sink());
  ASSERT_TRUE(total.ok()) << total.status().ToString();
  std::string json =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
      R"("b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})";
  json.append((8 - json.size() % 8) % 8, ' ');
  EXPECT_EQ(out.bytes, File(json, {1, 2, 3}));
  EXPECT_EQ(*total, out.bytes.size());
  EXPECT_EQ((8 + json.size()) % 8, 0u);
  auto back = ParseSafetensors(out.bytes, SafetensorsLimits{});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->metadata, md);
}

TEST(SafetensorsWriter, StridedTensorsAreWrittenInCOrder) {
  std::vector<float> values(12);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  const std::span<const uint8_t> storage(reinterpret_cast<const uint8_t*>(values.data()),
                                         values.size() * sizeof(float));
  const SafetensorsSource src[] = {
      // The transpose of a 2x3 matrix [[0,1,2],[3,4,5]].
      {"t", Ref(DType::kFloat32, {3, 2}, {1, 3}, 0, 48), storage},
      // Every second element from offset 1 (no unit stride), and a column of a 3x4 view.
      {"step", Ref(DType::kFloat32, {5}, {2}, 1, 48), storage},
      {"col", Ref(DType::kFloat32, {3, 1}, {4, 1}, 2, 48), storage},
      // A 0-dim tensor and an empty one.
      {"scalar", Ref(DType::kFloat32, {}, {}, 7, 48), storage},
      {"empty", Ref(DType::kFloat32, {0, 4}, {4, 1}, 0, 48), storage},
      // The same storage again as itself: written separately, not aliased.
      {"whole", Ref(DType::kFloat32, {12}, {1}, 0, 48), storage},
  };
  Collected out;
  ASSERT_TRUE(WriteSafetensors(src, {}, SafetensorsLimits{}, out.Sink()).ok());
  auto f = ParseSafetensors(out.bytes, SafetensorsLimits{});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(Values<float>(f->Data(out.bytes, *f->Find("t"))),
            (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(Values<float>(f->Data(out.bytes, *f->Find("step"))),
            (std::vector<float>{1, 3, 5, 7, 9}));
  EXPECT_EQ(Values<float>(f->Data(out.bytes, *f->Find("col"))), (std::vector<float>{2, 6, 10}));
  EXPECT_EQ(Values<float>(f->Data(out.bytes, *f->Find("scalar"))), (std::vector<float>{7}));
  EXPECT_TRUE(f->Data(out.bytes, *f->Find("empty")).empty());
  EXPECT_EQ(Values<float>(f->Data(out.bytes, *f->Find("whole"))), values);
  EXPECT_EQ(f->Find("t")->shape, (std::vector<int64_t>{3, 2}));
  EXPECT_TRUE(f->Find("scalar")->shape.empty());
}

TEST(SafetensorsWriter, LargeStridedTensorCrossesTheBuffer) {
  // 600k int16 elements read with stride 2: 1.2 MB written, more than the 1 MiB copy buffer.
  std::vector<int16_t> values(1200000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int16_t>(i * 7);
  const std::span<const uint8_t> storage(reinterpret_cast<const uint8_t*>(values.data()),
                                         values.size() * 2);
  const SafetensorsSource src[] = {
      {"x", Ref(DType::kInt16, {600, 1000}, {2000, 2}, 0, storage.size()), storage}};
  Collected out;
  ASSERT_TRUE(WriteSafetensors(src, {}, SafetensorsLimits{}, out.Sink()).ok());
  auto f = ParseSafetensors(out.bytes, SafetensorsLimits{});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const auto got = Values<int16_t>(f->Data(out.bytes, f->tensors[0]));
  ASSERT_EQ(got.size(), 600000u);
  for (size_t i = 0; i < got.size(); i += 9973) EXPECT_EQ(got[i], values[2 * i]) << i;
  EXPECT_EQ(got.back(), values[2 * 599999]);
}

TEST(SafetensorsWriter, RefusesBeforeWritingAnything) {
  const std::vector<uint8_t> storage(16, 0);
  struct Case {
    const char* name;
    SafetensorsSource source;
    const char* reason;
  };
  const Case cases[] = {
      {"past_storage",
       {"x", Ref(DType::kFloat32, {5}, {1}, 0, 16), storage},
       "safetensors.out-of-storage"},
      {"offset_past_storage",
       {"x", Ref(DType::kUInt8, {1}, {1}, 16, 16), storage},
       "safetensors.out-of-storage"},
      {"negative_stride",
       {"x", Ref(DType::kUInt8, {2}, {-1}, 1, 16), storage},
       "safetensors.out-of-storage"},
      {"stride_overflow",
       {"x", Ref(DType::kUInt8, {2}, {INT64_MAX}, 0, 16), storage},
       "safetensors.out-of-storage"},
      {"reserved_name",
       {"__metadata__", Ref(DType::kUInt8, {1}, {1}, 0, 16), storage},
       "safetensors.name"},
      {"bad_utf8", {"\xff", Ref(DType::kUInt8, {1}, {1}, 0, 16), storage}, "safetensors.name"},
      {"strides_mismatch",
       {"x", Ref(DType::kUInt8, {1, 1}, {1}, 0, 16), storage},
       "safetensors.shape"},
  };
  for (const Case& c : cases) {
    Collected out;
    auto r = WriteSafetensors(std::span(&c.source, 1), {}, SafetensorsLimits{}, out.Sink());
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().reason(), c.reason) << c.name << ": " << r.status().ToString();
    EXPECT_EQ(out.calls, 0) << c.name;
  }
  const SafetensorsSource dup[] = {{"x", Ref(DType::kUInt8, {1}, {1}, 0, 16), storage},
                                   {"x", Ref(DType::kUInt8, {1}, {1}, 1, 16), storage}};
  Collected out;
  auto r = WriteSafetensors(dup, {}, SafetensorsLimits{}, out.Sink());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "safetensors.duplicate-name");
  EXPECT_EQ(out.calls, 0);
}

TEST(SafetensorsWriter, SinkErrorStopsTheWrite) {
  const std::vector<uint8_t> storage(4, 1);
  const SafetensorsSource src[] = {{"x", Ref(DType::kUInt8, {4}, {1}, 0, 4), storage}};
  int calls = 0;
  auto r = WriteSafetensors(src, {}, SafetensorsLimits{}, [&](std::span<const uint8_t>) {
    ++calls;
    return IoError("io.write", "disk full");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "io.write");
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace sealpkg::sandbox
