// The sandbox wire codec: round trips, every limit at N and N+1, and golden rejections pinned to
// their exact reason codes.
#include "sandbox/ipc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace sealpkg::sandbox {
namespace {

using Bytes = std::vector<uint8_t>;

void Put32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Put64(Bytes& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Bytes Header(uint32_t magic, uint16_t version, uint16_t type, uint32_t length,
             uint32_t reserved = 0) {
  Bytes b;
  Put32(b, magic);
  b.push_back(static_cast<uint8_t>(version));
  b.push_back(static_cast<uint8_t>(version >> 8));
  b.push_back(static_cast<uint8_t>(type));
  b.push_back(static_cast<uint8_t>(type >> 8));
  Put32(b, length);
  Put32(b, reserved);
  return b;
}

Bytes Framed(const Bytes& payload, uint16_t type = 3) {
  Bytes b = Header(kMagic, kProtocolVersion, type, static_cast<uint32_t>(payload.size()));
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

// A tensor payload: tag, dtype, ndim, shape, strides, offset, fd index, byte offset, nbytes.
Bytes TensorPayload(uint8_t dtype, std::vector<int64_t> shape, std::vector<int64_t> strides,
                    int64_t offset, uint32_t fd, uint64_t byte_offset, uint64_t nbytes) {
  Bytes b{static_cast<uint8_t>(Kind::kTensor), dtype, static_cast<uint8_t>(shape.size())};
  for (auto d : shape) Put64(b, static_cast<uint64_t>(d));
  for (auto s : strides) Put64(b, static_cast<uint64_t>(s));
  Put64(b, static_cast<uint64_t>(offset));
  Put32(b, fd);
  Put64(b, byte_offset);
  Put64(b, nbytes);
  return b;
}

template <typename T>
void ExpectReason(const Result<T>& r, std::string_view reason, ErrorCode code) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), reason) << r.status().ToString();
  EXPECT_EQ(r.status().code(), code);
}

Value Sample() {
  TensorRef t;
  t.dtype = DType::kFloat32;
  t.shape = {2, 3};
  t.strides = {3, 1};
  t.storage_offset = 0;
  t.fd_index = 0;
  t.storage_byte_offset = 64;
  t.storage_nbytes = 24;
  return Value::Dict({
      {"none", Value::None()},
      {"flags", Value::List({Value::Bool(true), Value::Bool(false)})},
      {"int", Value::Int(-7)},
      {"float", Value::Float(1.5)},
      {"text", Value::Str("h\xc3\xa9llo")},
      {"raw", Value::Bytes(std::string("\x00\xff", 2))},
      {"pair", Value::Tuple({Value::Int(1), Value::Str("two")})},
      {"weight", Value::Tensor(t)},
  });
}

TEST(IpcTest, RoundTripsEveryKind) {
  SandboxLimits limits;
  auto bytes = EncodeMessage(MessageType::kResult, Sample(), limits);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto m = DecodeMessage(*bytes, 1, limits);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->type, MessageType::kResult);
  const Value& v = m->value;
  ASSERT_EQ(v.kind, Kind::kDict);
  ASSERT_EQ(v.entries.size(), 8u);
  EXPECT_EQ(v.Find("none")->kind, Kind::kNone);
  EXPECT_EQ(v.Find("flags")->items[0].kind, Kind::kTrue);
  EXPECT_EQ(v.Find("flags")->items[1].kind, Kind::kFalse);
  EXPECT_EQ(v.Find("int")->i, -7);
  EXPECT_EQ(v.Find("float")->f, 1.5);
  EXPECT_EQ(v.Find("text")->s, "h\xc3\xa9llo");
  EXPECT_EQ(v.Find("raw")->kind, Kind::kBytes);
  EXPECT_EQ(v.Find("raw")->s, std::string("\x00\xff", 2));
  EXPECT_EQ(v.Find("pair")->kind, Kind::kTuple);
  EXPECT_EQ(v.Find("pair")->items[1].s, "two");
  const TensorRef& t = v.Find("weight")->tensor;
  EXPECT_EQ(t.dtype, DType::kFloat32);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.strides, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(t.storage_byte_offset, 64u);
  EXPECT_EQ(t.storage_nbytes, 24u);
}

TEST(IpcTest, NanAndInfinitySurvive) {
  SandboxLimits limits;
  auto bytes = EncodeMessage(MessageType::kResult,
                             Value::List({Value::Float(NAN), Value::Float(-INFINITY)}), limits);
  ASSERT_TRUE(bytes.ok());
  auto m = DecodeMessage(*bytes, 0, limits);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(std::isnan(m->value.items[0].f));
  EXPECT_EQ(m->value.items[1].f, -INFINITY);
}

// Header golden rejections.
TEST(IpcTest, HeaderRejections) {
  SandboxLimits limits;
  const Bytes none{0};
  ExpectReason(DecodeMessage(Bytes{1, 2, 3}, 0, limits), "ipc.truncated-header",
               ErrorCode::kMalformed);
  Bytes bad_magic = Header(0x12345678, 1, 3, 1);
  bad_magic.push_back(0);
  ExpectReason(DecodeMessage(bad_magic, 0, limits), "ipc.bad-magic", ErrorCode::kMalformed);
  Bytes bad_version = Header(kMagic, 2, 3, 1);
  bad_version.push_back(0);
  ExpectReason(DecodeMessage(bad_version, 0, limits), "ipc.bad-version", ErrorCode::kMalformed);
  for (uint16_t type : {0, 5, 0xffff}) {
    Bytes b = Header(kMagic, 1, type, 1);
    b.push_back(0);
    ExpectReason(DecodeMessage(b, 0, limits), "ipc.unknown-type", ErrorCode::kMalformed);
  }
  Bytes reserved = Header(kMagic, 1, 3, 1, 9);
  reserved.push_back(0);
  ExpectReason(DecodeMessage(reserved, 0, limits), "ipc.reserved-nonzero", ErrorCode::kMalformed);
  Bytes short_payload = Header(kMagic, 1, 3, 2);
  short_payload.push_back(0);
  ExpectReason(DecodeMessage(short_payload, 0, limits), "ipc.length-mismatch",
               ErrorCode::kMalformed);
  Bytes long_payload = Framed(none);
  long_payload.push_back(0);
  ExpectReason(DecodeMessage(long_payload, 0, limits), "ipc.length-mismatch",
               ErrorCode::kMalformed);
}

TEST(IpcTest, MessageLengthLimitAtNAndNPlusOne) {
  SandboxLimits limits;
  limits.max_message_bytes = 100;
  EXPECT_TRUE(DecodeHeader(Header(kMagic, 1, 3, 100), limits).ok());
  auto over = DecodeHeader(Header(kMagic, 1, 3, 101), limits);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().reason(), "ipc.message-too-large");
  EXPECT_EQ(over.status().code(), ErrorCode::kLimitExceeded);
  // The header alone is judged: a 4 GiB claim is refused before any payload exists.
  auto huge = DecodeHeader(Header(kMagic, 1, 3, 0xffffffffu), SandboxLimits{});
  EXPECT_EQ(huge.status().reason(), "ipc.message-too-large");
  // The encoder refuses what the decoder would.
  EXPECT_TRUE(EncodeMessage(MessageType::kResult, Value::Bytes(std::string(95, 'a')), limits).ok());
  auto enc = EncodeMessage(MessageType::kResult, Value::Bytes(std::string(96, 'a')), limits);
  ASSERT_FALSE(enc.ok());
  EXPECT_EQ(enc.status().reason(), "ipc.message-too-large");
}

Bytes Nested(uint64_t depth) {
  Bytes b;
  for (uint64_t i = 0; i < depth; ++i) {
    b.push_back(static_cast<uint8_t>(Kind::kList));
    Put32(b, 1);
  }
  b.push_back(static_cast<uint8_t>(Kind::kNone));
  return b;
}

TEST(IpcTest, DepthLimitAtNAndNPlusOne) {
  SandboxLimits limits;
  limits.max_depth = 10;
  EXPECT_TRUE(DecodeValue(Nested(10), 0, limits).ok());
  ExpectReason(DecodeValue(Nested(11), 0, limits), "ipc.too-deep", ErrorCode::kLimitExceeded);
  // Far deeper than any stack could recurse: refused at the cap, not by a crash.
  ExpectReason(DecodeValue(Nested(200000), 0, SandboxLimits{}), "ipc.too-deep",
               ErrorCode::kLimitExceeded);
  // The encoder has the same cap.
  Value v = Value::None();
  for (int i = 0; i < 11; ++i) v = Value::List({std::move(v)});
  auto enc = EncodeMessage(MessageType::kResult, v, limits);
  ASSERT_FALSE(enc.ok());
  EXPECT_EQ(enc.status().reason(), "ipc.too-deep");
}

Bytes FlatList(uint32_t n) {
  Bytes b{static_cast<uint8_t>(Kind::kList)};
  Put32(b, n);
  b.insert(b.end(), n, static_cast<uint8_t>(Kind::kNone));
  return b;
}

TEST(IpcTest, ValueCountLimitAtNAndNPlusOne) {
  SandboxLimits limits;
  limits.max_values = 100;  // the list itself counts
  EXPECT_TRUE(DecodeValue(FlatList(99), 0, limits).ok());
  ExpectReason(DecodeValue(FlatList(100), 0, limits), "ipc.too-many-values",
               ErrorCode::kLimitExceeded);
}

TEST(IpcTest, TensorCountLimitAtNAndNPlusOne) {
  SandboxLimits limits;
  limits.max_tensors = 3;
  auto list = [](uint32_t n) {
    Bytes b{static_cast<uint8_t>(Kind::kList)};
    Put32(b, n);
    for (uint32_t i = 0; i < n; ++i) {
      Bytes t = TensorPayload(1, {1}, {1}, 0, 0, 0, 4);
      b.insert(b.end(), t.begin(), t.end());
    }
    return b;
  };
  EXPECT_TRUE(DecodeValue(list(3), 1, limits).ok());
  ExpectReason(DecodeValue(list(4), 1, limits), "ipc.too-many-tensors", ErrorCode::kLimitExceeded);
}

TEST(IpcTest, TensorDimsLimitAtNAndNPlusOne) {
  SandboxLimits limits;
  limits.max_tensor_dims = 4;
  EXPECT_TRUE(
      DecodeValue(TensorPayload(1, {1, 1, 1, 1}, {1, 1, 1, 1}, 0, 0, 0, 4), 1, limits).ok());
  ExpectReason(
      DecodeValue(TensorPayload(1, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}, 0, 0, 0, 4), 1, limits),
      "ipc.too-many-dims", ErrorCode::kLimitExceeded);
}

TEST(IpcTest, TensorRejections) {
  SandboxLimits limits;
  // dtype outside the allow-list (0, 11 = complex in some encodings, 255).
  for (uint8_t dtype : {0, 11, 255}) {
    ExpectReason(DecodeValue(TensorPayload(dtype, {1}, {1}, 0, 0, 0, 8), 1, limits),
                 "ipc.bad-dtype", ErrorCode::kMalformed);
  }
  ExpectReason(DecodeValue(TensorPayload(1, {-1}, {1}, 0, 0, 0, 8), 1, limits), "ipc.negative-dim",
               ErrorCode::kMalformed);
  ExpectReason(DecodeValue(TensorPayload(1, {2}, {-1}, 0, 0, 0, 8), 1, limits),
               "ipc.negative-stride", ErrorCode::kMalformed);
  ExpectReason(DecodeValue(TensorPayload(1, {2}, {1}, -1, 0, 0, 8), 1, limits),
               "ipc.negative-offset", ErrorCode::kMalformed);
  ExpectReason(DecodeValue(TensorPayload(1, {2}, {1}, 0, 1, 0, 8), 1, limits), "ipc.bad-fd-index",
               ErrorCode::kMalformed);
  ExpectReason(DecodeValue(TensorPayload(1, {2}, {1}, 0, 0, 0, 8), 0, limits), "ipc.bad-fd-index",
               ErrorCode::kMalformed);
  ExpectReason(DecodeValue(TensorPayload(1, {2}, {1}, 0, 0, 8, 8), 1, limits),
               "ipc.misaligned-storage", ErrorCode::kMalformed);
  // 2 float32 = 8 bytes: fits in 8, not in 7; offset 1 pushes it out.
  EXPECT_TRUE(DecodeValue(TensorPayload(1, {2}, {1}, 0, 0, 0, 8), 1, limits).ok());
  ExpectReason(DecodeValue(TensorPayload(1, {2}, {1}, 0, 0, 0, 7), 1, limits),
               "ipc.tensor-out-of-storage", ErrorCode::kMalformed);
  ExpectReason(DecodeValue(TensorPayload(1, {2}, {1}, 1, 0, 0, 8), 1, limits),
               "ipc.tensor-out-of-storage", ErrorCode::kMalformed);
  // Strides are honoured: shape {2,2} strides {4,1} reaches element 5.
  EXPECT_TRUE(DecodeValue(TensorPayload(1, {2, 2}, {4, 1}, 0, 0, 0, 24), 1, limits).ok());
  ExpectReason(DecodeValue(TensorPayload(1, {2, 2}, {4, 1}, 0, 0, 0, 23), 1, limits),
               "ipc.tensor-out-of-storage", ErrorCode::kMalformed);
  // Products and sums that overflow 64 bits are refused, not wrapped.
  const int64_t big = INT64_MAX;
  ExpectReason(
      DecodeValue(TensorPayload(9, {big, big}, {big, big}, 0, 0, 0, UINT64_MAX), 1, limits),
      "ipc.tensor-out-of-storage", ErrorCode::kMalformed);
  ExpectReason(DecodeValue(TensorPayload(9, {big}, {1}, big, 0, 0, UINT64_MAX), 1, limits),
               "ipc.tensor-out-of-storage", ErrorCode::kMalformed);
  // An empty tensor reads nothing, whatever its strides.
  EXPECT_TRUE(DecodeValue(TensorPayload(1, {0, 5}, {big, big}, 0, 0, 0, 0), 1, limits).ok());
}

TEST(IpcTest, ValueRejections) {
  SandboxLimits limits;
  ExpectReason(DecodeValue(Bytes{}, 0, limits), "ipc.truncated", ErrorCode::kMalformed);
  ExpectReason(DecodeValue(Bytes{42}, 0, limits), "ipc.unknown-tag", ErrorCode::kMalformed);
  ExpectReason(DecodeValue(Bytes{0, 0}, 0, limits), "ipc.trailing-bytes", ErrorCode::kMalformed);
  ExpectReason(DecodeValue(Bytes{3, 1, 2}, 0, limits), "ipc.truncated", ErrorCode::kMalformed);
  Bytes bad_utf8{static_cast<uint8_t>(Kind::kStr)};
  Put32(bad_utf8, 2);
  bad_utf8.push_back(0xc0);  // overlong
  bad_utf8.push_back(0xaf);
  ExpectReason(DecodeValue(bad_utf8, 0, limits), "ipc.bad-utf8", ErrorCode::kMalformed);
  Bytes surrogate{static_cast<uint8_t>(Kind::kStr)};
  Put32(surrogate, 3);
  for (uint8_t c : {0xed, 0xa0, 0x80}) surrogate.push_back(c);
  ExpectReason(DecodeValue(surrogate, 0, limits), "ipc.bad-utf8", ErrorCode::kMalformed);
  // A dict key must be UTF-8 too, and unique.
  Bytes dup{static_cast<uint8_t>(Kind::kDict)};
  Put32(dup, 2);
  for (int i = 0; i < 2; ++i) {
    Put32(dup, 1);
    dup.push_back('k');
    dup.push_back(0);
  }
  ExpectReason(DecodeValue(dup, 0, limits), "ipc.duplicate-key", ErrorCode::kMalformed);
  // A count claiming more elements than bytes left is refused before any reservation.
  Bytes liar{static_cast<uint8_t>(Kind::kList)};
  Put32(liar, 0xffffffffu);
  ExpectReason(DecodeValue(liar, 0, limits), "ipc.truncated", ErrorCode::kMalformed);
  Bytes str_liar{static_cast<uint8_t>(Kind::kBytes)};
  Put32(str_liar, 0xffffffffu);
  ExpectReason(DecodeValue(str_liar, 0, limits), "ipc.truncated", ErrorCode::kMalformed);
}

TEST(IpcTest, EncoderRefusesWhatDecoderRefuses) {
  SandboxLimits limits;
  auto bad = EncodeMessage(MessageType::kResult, Value::Str("\xff"), limits);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().reason(), "ipc.bad-utf8");
  TensorRef t;
  t.dtype = static_cast<DType>(77);
  auto dtype = EncodeMessage(MessageType::kResult, Value::Tensor(t), limits);
  ASSERT_FALSE(dtype.ok());
  EXPECT_EQ(dtype.status().reason(), "ipc.bad-dtype");
}

}  // namespace
}  // namespace sealpkg::sandbox
