#include "core/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sealpkg {
namespace {

TEST(StatusTest, DefaultIsOkAndCarriesNothing) {
  const Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kOk);
  EXPECT_EQ(s.reason(), "");
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.entry(), "");
  EXPECT_FALSE(s.offset().has_value());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, OkStatusHelperIsOk) {
  const Status s = OkStatus();
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kOk);
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, ExplicitOkCodeDropsReasonAndMessage) {
  const Status s(ErrorCode::kOk, "some.reason", "some message");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.reason(), "");
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, ContextOnOkIsNoOp) {
  const Status s = OkStatus().WithEntry("a/b").WithOffset(12);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.entry(), "");
  EXPECT_FALSE(s.offset().has_value());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, HelpersSetCodeReasonAndMessage) {
  struct Case {
    Status status;
    ErrorCode code;
  };
  const std::vector<Case> cases = {
      {Malformed("r.malformed", "m1"), ErrorCode::kMalformed},
      {LimitExceeded("r.limit", "m2"), ErrorCode::kLimitExceeded},
      {PolicyDenied("r.policy", "m3"), ErrorCode::kPolicyDenied},
      {SignatureInvalid("r.sig", "m4"), ErrorCode::kSignatureInvalid},
      {IoError("r.io", "m5"), ErrorCode::kIo},
      {InternalError("r.internal", "m6"), ErrorCode::kInternal},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_FALSE(c.status.reason().empty());
    EXPECT_FALSE(c.status.message().empty());
    EXPECT_EQ(c.status.entry(), "");
    EXPECT_FALSE(c.status.offset().has_value());
  }
  EXPECT_EQ(Malformed("r.malformed", "m1").reason(), "r.malformed");
  EXPECT_EQ(Malformed("r.malformed", "m1").message(), "m1");
  EXPECT_EQ(InternalError("r.internal", "m6").reason(), "r.internal");
}

TEST(StatusTest, ErrorCodeNames) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kOk), "ok");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kMalformed), "malformed");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kLimitExceeded), "limit-exceeded");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kPolicyDenied), "policy-denied");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kSignatureInvalid), "signature-invalid");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kIo), "io");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInternal), "internal");
  // An out-of-range value (memory corruption, a bad cast) must not crash or print garbage.
  EXPECT_EQ(ErrorCodeName(static_cast<ErrorCode>(200)), "internal");
}

TEST(StatusTest, WithEntryAndWithOffsetAttachContext) {
  const Status s = Malformed("zip.duplicate-name", "dup").WithEntry("a/b").WithOffset(120);
  EXPECT_EQ(s.code(), ErrorCode::kMalformed);
  EXPECT_EQ(s.reason(), "zip.duplicate-name");
  EXPECT_EQ(s.message(), "dup");
  EXPECT_EQ(s.entry(), "a/b");
  ASSERT_TRUE(s.offset().has_value());
  EXPECT_EQ(*s.offset(), 120u);
}

TEST(StatusTest, LaterContextOverridesEarlier) {
  const Status s =
      IoError("r", "m").WithEntry("first").WithEntry("second").WithOffset(1).WithOffset(0);
  EXPECT_EQ(s.entry(), "second");
  ASSERT_TRUE(s.offset().has_value());
  EXPECT_EQ(*s.offset(), 0u);
}

TEST(StatusTest, OffsetZeroAndMaxAreKept) {
  const Status zero = IoError("r", "m").WithOffset(0);
  ASSERT_TRUE(zero.offset().has_value());
  EXPECT_EQ(*zero.offset(), 0u);
  const Status max = IoError("r", "m").WithOffset(UINT64_MAX);
  ASSERT_TRUE(max.offset().has_value());
  EXPECT_EQ(*max.offset(), UINT64_MAX);
  EXPECT_EQ(max.ToString(), "io [r] at offset 18446744073709551615: m");
}

TEST(StatusTest, CopiesDoNotAliasWhenEntryChanges) {
  const Status original = Malformed("r.x", "msg").WithEntry("orig").WithOffset(5);
  Status copy = original;
  Status changed = std::move(copy).WithEntry("changed");
  EXPECT_EQ(changed.entry(), "changed");
  EXPECT_EQ(original.entry(), "orig");
  EXPECT_EQ(original.reason(), "r.x");
  EXPECT_EQ(*original.offset(), 5u);
  EXPECT_EQ(*changed.offset(), 5u);
}

TEST(StatusTest, CopiesDoNotAliasWhenOffsetChanges) {
  const Status original = Malformed("r.x", "msg");
  Status copy = original;
  Status changed = std::move(copy).WithOffset(99);
  ASSERT_TRUE(changed.offset().has_value());
  EXPECT_EQ(*changed.offset(), 99u);
  EXPECT_FALSE(original.offset().has_value());
}

TEST(StatusTest, CopyIsEqualInEveryField) {
  const Status a = PolicyDenied("policy.x", "nope").WithEntry("e").WithOffset(3);
  const Status b = a;  // NOLINT: copy on purpose
  EXPECT_EQ(b.code(), a.code());
  EXPECT_EQ(b.reason(), a.reason());
  EXPECT_EQ(b.message(), a.message());
  EXPECT_EQ(b.entry(), a.entry());
  EXPECT_EQ(b.offset(), a.offset());
  EXPECT_EQ(b.ToString(), a.ToString());
}

TEST(StatusTest, ToStringFullFormat) {
  const Status s = Malformed("zip.duplicate-name", "message").WithEntry("a/b").WithOffset(120);
  EXPECT_EQ(s.ToString(), "malformed [zip.duplicate-name] entry 'a/b' at offset 120: message");
}

TEST(StatusTest, ToStringWithoutEntryOrOffset) {
  EXPECT_EQ(IoError("io.open", "cannot open").ToString(), "io [io.open]: cannot open");
  EXPECT_EQ(LimitExceeded("zip.too-many-entries", "x").WithOffset(0).ToString(),
            "limit-exceeded [zip.too-many-entries] at offset 0: x");
  EXPECT_EQ(SignatureInvalid("sig.bad", "y").WithEntry("e").ToString(),
            "signature-invalid [sig.bad] entry 'e': y");
  EXPECT_EQ(PolicyDenied("p", "").ToString(), "policy-denied [p]: ");
  EXPECT_EQ(InternalError("i", "z").ToString(), "internal [i]: z");
}

TEST(StatusTest, ToStringEscapesHostileEntryAndMessage) {
  const std::string entry = std::string("a\x1b[2J\nb\0c", 9);
  const Status s = Malformed("zip.x", "bad name 'x\ny\\z\xff'").WithEntry(entry);
  EXPECT_EQ(s.ToString(),
            "malformed [zip.x] entry 'a\\x1b[2J\\x0ab\\x00c': bad name 'x\\x0ay\\\\z\\xff'");
  // The raw accessors still return the unescaped bytes.
  EXPECT_EQ(s.entry(), entry);
  EXPECT_EQ(s.message(), "bad name 'x\ny\\z\xff'");
}

TEST(StatusTest, ToStringNeverContainsRawControlBytes) {
  std::string hostile;
  for (int b = 0; b < 256; ++b) hostile.push_back(static_cast<char>(b));
  const std::string text = IoError("r", hostile).WithEntry(hostile).ToString();
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    EXPECT_FALSE(b < 0x20 || b == 0x7F) << "raw control byte " << int(b);
  }
}

TEST(ResultTest, HoldsValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOk);
}

TEST(ResultTest, HoldsError) {
  Result<int> r = Malformed("r.bad", "bad").WithOffset(7);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kMalformed);
  EXPECT_EQ(r.status().reason(), "r.bad");
  EXPECT_EQ(*r.status().offset(), 7u);
  const Status moved = std::move(r).status();
  EXPECT_EQ(moved.reason(), "r.bad");
}

TEST(ResultTest, FromOkStatusBecomesInternalError) {
  Result<int> r = OkStatus();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
  EXPECT_EQ(r.status().reason(), "internal.ok-result");
  Result<std::string> r2 = Status();
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(std::move(r2).status().code(), ErrorCode::kInternal);
}

TEST(ResultTest, RvalueStatusOfOkResultIsOk) {
  // Built at run time: with a constant OK value GCC 12 (-O2, sanitizers) warns about the
  // untaken error branch of status() && (-Wmaybe-uninitialized, a false positive).
  volatile bool ok = true;
  Result<int> r = ok ? Result<int>(1) : Result<int>(IoError("r", "m"));
  const Status s = std::move(r).status();
  EXPECT_TRUE(s.ok());
}

TEST(ResultTest, MoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(**r, 5);
  std::unique_ptr<int> taken = std::move(r).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 5);
}

TEST(ResultTest, ArrowAccessesMembers) {
  Result<std::string> r = std::string("hello");
  EXPECT_EQ(r->size(), 5u);
  r->append("!");
  EXPECT_EQ(r.value(), "hello!");
  const Result<std::string>& cr = r;
  EXPECT_EQ(cr->size(), 6u);
  EXPECT_EQ(*cr, "hello!");
}

// ---- Macros ----

int g_calls = 0;

Status CountedStatus(Status s) {
  ++g_calls;
  return s;
}

Status ReturnIfErrorHelper(Status first, bool* reached_end) {
  *reached_end = false;
  SEALPKG_RETURN_IF_ERROR(CountedStatus(std::move(first)));
  *reached_end = true;
  return IoError("helper.end", "reached the end");
}

TEST(MacroTest, ReturnIfErrorPassesErrorThrough) {
  g_calls = 0;
  bool reached = true;
  const Status s = ReturnIfErrorHelper(Malformed("first.bad", "x").WithEntry("e"), &reached);
  EXPECT_FALSE(reached);
  EXPECT_EQ(s.reason(), "first.bad");
  EXPECT_EQ(s.entry(), "e");
  EXPECT_EQ(g_calls, 1);  // the expression is evaluated exactly once
}

TEST(MacroTest, ReturnIfErrorContinuesOnOk) {
  g_calls = 0;
  bool reached = false;
  const Status s = ReturnIfErrorHelper(OkStatus(), &reached);
  EXPECT_TRUE(reached);
  EXPECT_EQ(s.reason(), "helper.end");
  EXPECT_EQ(g_calls, 1);
}

Result<int> ParsePositive(int v) {
  ++g_calls;
  if (v <= 0) return Malformed("num.not-positive", std::to_string(v));
  return v;
}

Result<int> SumOfTwo(int a, int b) {
  SEALPKG_ASSIGN_OR_RETURN(const int x, ParsePositive(a));
  SEALPKG_ASSIGN_OR_RETURN(int y, ParsePositive(b));
  return x + y;
}

TEST(MacroTest, AssignOrReturnAssignsValues) {
  g_calls = 0;
  Result<int> r = SumOfTwo(2, 3);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(g_calls, 2);
}

TEST(MacroTest, AssignOrReturnReturnsFirstError) {
  g_calls = 0;
  Result<int> r = SumOfTwo(-1, 3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "num.not-positive");
  EXPECT_EQ(r.status().message(), "-1");
  EXPECT_EQ(g_calls, 1);  // the second call never happened

  g_calls = 0;
  Result<int> r2 = SumOfTwo(1, 0);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().message(), "0");
  EXPECT_EQ(g_calls, 2);
}

Result<std::unique_ptr<int>> MakeBox(bool fail) {
  if (fail) return LimitExceeded("box.fail", "no box");
  return std::make_unique<int>(9);
}

Status UseBox(bool fail, int* out) {
  std::unique_ptr<int> box;
  SEALPKG_ASSIGN_OR_RETURN(box, MakeBox(fail));  // assignment to an existing variable
  *out = *box;
  return OkStatus();
}

TEST(MacroTest, AssignOrReturnMoveOnlyIntoExistingVariable) {
  int out = 0;
  EXPECT_TRUE(UseBox(false, &out).ok());
  EXPECT_EQ(out, 9);
  out = 0;
  const Status s = UseBox(true, &out);
  EXPECT_EQ(s.code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(s.reason(), "box.fail");
  EXPECT_EQ(out, 0);
}

Status StatusFromResult(bool fail) {
  SEALPKG_ASSIGN_OR_RETURN(auto box, MakeBox(fail));
  return *box == 9 ? OkStatus() : InternalError("box.value", "wrong");
}

TEST(MacroTest, AssignOrReturnInStatusFunction) {
  EXPECT_TRUE(StatusFromResult(false).ok());
  EXPECT_EQ(StatusFromResult(true).reason(), "box.fail");
}

}  // namespace
}  // namespace sealpkg
