// Tests for verifier/pickle_machine.cc against CPython 3.11's unpickler (Modules/_pickle.c and
// Lib/pickle.py): every opcode of protocols 0-5 on hand-assembled streams, the MARK fence, the
// memo (PUT/GET by index, MEMOIZE at the number of entries), the §2.B parser-differential tricks
// of shared/reference/pickle_threats.md with their exact outcome, argument rules, FRAME rules,
// every PickleLimits field at N (accepted) and N+1 (rejected), and deep nesting.
#include "verifier/pickle_machine.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "verifier/finding.h"

namespace sealpkg::verifier {
namespace {

// A tiny pickle assembler: one method per opcode, each writing the opcode byte and its argument
// the way CPython's pickler encodes it (little-endian counts, '\n'-terminated text lines).
class P {
 public:
  P& op(uint8_t b) {
    out_.push_back(static_cast<char>(b));
    return *this;
  }
  P& raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  P& le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return *this;
  }
  P& line(std::string_view s) { return raw(s).raw("\n"); }

  // Framing and control.
  P& proto(int v) { return op(0x80).le(static_cast<uint64_t>(v), 1); }
  P& frame(uint64_t n) { return op(0x95).le(n, 8); }
  P& stop() { return op('.'); }
  P& mark() { return op('('); }
  P& pop() { return op('0'); }
  P& pop_mark() { return op('1'); }
  P& dup() { return op('2'); }

  // Literals.
  P& none() { return op('N'); }
  P& newtrue() { return op(0x88); }
  P& newfalse() { return op(0x89); }
  P& int_(std::string_view text) { return op('I').line(text); }
  P& binint(int32_t v) { return op('J').le(static_cast<uint32_t>(v), 4); }
  P& binint1(uint8_t v) { return op('K').le(v, 1); }
  P& binint2(uint16_t v) { return op('M').le(v, 2); }
  P& long_(std::string_view text) { return op('L').line(text); }
  P& long1(std::string_view b) { return op(0x8A).le(b.size(), 1).raw(b); }
  P& long4(std::string_view b) { return op(0x8B).le(b.size(), 4).raw(b); }
  P& float_(std::string_view text) { return op('F').line(text); }
  P& binfloat() { return op('G').le(0xF83Full, 8); }  // 1.5 (CPython writes it big-endian)
  P& string(std::string_view quoted) { return op('S').line(quoted); }
  P& binstring(std::string_view s) { return op('T').le(s.size(), 4).raw(s); }
  P& short_binstring(std::string_view s) { return op('U').le(s.size(), 1).raw(s); }
  P& unicode(std::string_view s) { return op('V').line(s); }
  P& binunicode(std::string_view s) { return op('X').le(s.size(), 4).raw(s); }
  P& sbu(std::string_view s) { return op(0x8C).le(s.size(), 1).raw(s); }
  P& binunicode8(std::string_view s) { return op(0x8D).le(s.size(), 8).raw(s); }
  P& binbytes(std::string_view s) { return op('B').le(s.size(), 4).raw(s); }
  P& short_binbytes(std::string_view s) { return op('C').le(s.size(), 1).raw(s); }
  P& binbytes8(std::string_view s) { return op(0x8E).le(s.size(), 8).raw(s); }
  P& bytearray8(std::string_view s) { return op(0x96).le(s.size(), 8).raw(s); }
  P& next_buffer() { return op(0x97); }
  P& readonly_buffer() { return op(0x98); }

  // Containers.
  P& empty_tuple() { return op(')'); }
  P& tuple() { return op('t'); }
  P& tuple1() { return op(0x85); }
  P& tuple2() { return op(0x86); }
  P& tuple3() { return op(0x87); }
  P& empty_list() { return op(']'); }
  P& list() { return op('l'); }
  P& append() { return op('a'); }
  P& appends() { return op('e'); }
  P& empty_dict() { return op('}'); }
  P& dict() { return op('d'); }
  P& setitem() { return op('s'); }
  P& setitems() { return op('u'); }
  P& empty_set() { return op(0x8F); }
  P& additems() { return op(0x90); }
  P& frozenset() { return op(0x91); }

  // Memo.
  P& put(std::string_view index) { return op('p').line(index); }
  P& binput(uint8_t i) { return op('q').le(i, 1); }
  P& long_binput(uint32_t i) { return op('r').le(i, 4); }
  P& memoize() { return op(0x94); }
  P& get(std::string_view index) { return op('g').line(index); }
  P& binget(uint8_t i) { return op('h').le(i, 1); }
  P& long_binget(uint32_t i) { return op('j').le(i, 4); }

  // Names and calls.
  P& global(std::string_view module, std::string_view name) {
    return op('c').line(module).line(name);
  }
  P& inst(std::string_view module, std::string_view name) {
    return op('i').line(module).line(name);
  }
  P& stack_global() { return op(0x93); }
  P& reduce() { return op('R'); }
  P& build() { return op('b'); }
  P& obj() { return op('o'); }
  P& newobj() { return op(0x81); }
  P& newobj_ex() { return op(0x92); }
  P& persid(std::string_view pid) { return op('P').line(pid); }
  P& binpersid() { return op('Q'); }
  P& ext1(uint8_t code) { return op(0x82).le(code, 1); }
  P& ext2(uint16_t code) { return op(0x83).le(code, 2); }
  P& ext4(uint32_t code) { return op(0x84).le(code, 4); }

  uint64_t size() const { return out_.size(); }
  std::vector<uint8_t> bytes() const { return {out_.begin(), out_.end()}; }

 private:
  std::string out_;
};

// A PickleRun refers to the bytes it ran on: every assembled input stays alive for the whole
// test binary (they are small).
PickleRun Exec(const P& p, const PickleLimits& limits = {}) {
  static std::deque<std::vector<uint8_t>>* inputs = new std::deque<std::vector<uint8_t>>;
  inputs->push_back(p.bytes());
  return RunPickle(inputs->back(), limits);
}

std::string Code(const PickleRun& run) {
  return run.error ? run.error->code : "";
}

// A Python-like rendering of a value: literals as repr() prints them (floats as <float>, ints
// that do not fit int64 as <big>), globals as module.name, calls as callee(args), persistent
// objects as persistent_load(pid). Depth-capped: only for small test values.
std::string Repr(const PickleRun& run, uint32_t id, int depth = 0) {
  if (depth > 64) return "...";
  const Value& v = run.value(id);
  const auto items = [&](std::string_view sep) {
    std::string out;
    const auto& xs = run.items(id);
    for (size_t i = 0; i < xs.size(); ++i) {
      if (i > 0) out += (v.kind == ValueKind::kDict && i % 2 == 1) ? ": " : std::string(sep);
      out += Repr(run, xs[i], depth + 1);
    }
    return out;
  };
  const auto quoted = [&](std::string_view prefix) {
    std::string out(prefix);
    out += '\'';
    for (char c : run.text(id)) {
      const auto b = static_cast<unsigned char>(c);
      if (b < 0x20 || b >= 0x7F || c == '\\' || c == '\'') {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", b);
        out += buf;
      } else {
        out += c;
      }
    }
    return out + "'";
  };
  switch (v.kind) {
    case ValueKind::kNone:
      return "None";
    case ValueKind::kBool:
      return v.integer ? "True" : "False";
    case ValueKind::kInt:
      return v.big ? "<big>" : std::to_string(v.integer);
    case ValueKind::kFloat:
      return "<float>";
    case ValueKind::kStr:
      return quoted("");
    case ValueKind::kBytes:
      return quoted("b");
    case ValueKind::kByteArray:
      return "bytearray(" + quoted("b") + ")";
    case ValueKind::kTuple:
      return run.items(id).size() == 1 ? "(" + items(", ") + ",)" : "(" + items(", ") + ")";
    case ValueKind::kList:
      return "[" + items(", ") + "]";
    case ValueKind::kDict:
      return "{" + items(", ") + "}";
    case ValueKind::kSet:
      return run.items(id).empty() ? "set()" : "{" + items(", ") + "}";
    case ValueKind::kFrozenSet:
      return "frozenset({" + items(", ") + "})";
    case ValueKind::kGlobal:
      return run.globals[v.ref].full_name();
    case ValueKind::kCallResult: {
      const CallSite& c = run.calls[v.ref];
      std::string out = Repr(run, c.callee, depth + 1) + Repr(run, c.args, depth + 1);
      if (c.kwargs) out += "**" + Repr(run, *c.kwargs, depth + 1);
      return out;
    }
    case ValueKind::kPersistent:
      return "persistent_load(" + Repr(run, run.calls[v.ref].args, depth + 1) + ")";
  }
  return "?";
}

// The value STOP returned, rendered; the run must have completed without an error.
std::string Loads(const PickleRun& run) {
  EXPECT_FALSE(run.error.has_value()) << run.error->code << ": " << run.error->message;
  EXPECT_TRUE(run.stopped);
  if (!run.result) return "<no result>";
  return Repr(run, *run.result);
}

std::vector<std::string> GlobalNames(const PickleRun& run) {
  std::vector<std::string> out;
  for (const GlobalRef& g : run.globals) out.push_back(g.full_name());
  return out;
}

using Names = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// The opcode table.

TEST(OpNameTest, CoversExactlyThe68OpcodesOfPython311) {
  // pickletools.opcodes of CPython 3.11: (byte, name, protocol that introduced it).
  struct Expected {
    uint8_t byte;
    std::string_view name;
    int proto;
  };
  const std::vector<Expected> expected = {
      {'I', "INT", 0},
      {'J', "BININT", 1},
      {'K', "BININT1", 1},
      {'M', "BININT2", 1},
      {'L', "LONG", 0},
      {0x8A, "LONG1", 2},
      {0x8B, "LONG4", 2},
      {'S', "STRING", 0},
      {'T', "BINSTRING", 1},
      {'U', "SHORT_BINSTRING", 1},
      {'B', "BINBYTES", 3},
      {'C', "SHORT_BINBYTES", 3},
      {0x8E, "BINBYTES8", 4},
      {0x96, "BYTEARRAY8", 5},
      {0x97, "NEXT_BUFFER", 5},
      {0x98, "READONLY_BUFFER", 5},
      {'N', "NONE", 0},
      {0x88, "NEWTRUE", 2},
      {0x89, "NEWFALSE", 2},
      {'V', "UNICODE", 0},
      {0x8C, "SHORT_BINUNICODE", 4},
      {'X', "BINUNICODE", 1},
      {0x8D, "BINUNICODE8", 4},
      {'F', "FLOAT", 0},
      {'G', "BINFLOAT", 1},
      {']', "EMPTY_LIST", 1},
      {'a', "APPEND", 0},
      {'e', "APPENDS", 1},
      {'l', "LIST", 0},
      {')', "EMPTY_TUPLE", 1},
      {'t', "TUPLE", 0},
      {0x85, "TUPLE1", 2},
      {0x86, "TUPLE2", 2},
      {0x87, "TUPLE3", 2},
      {'}', "EMPTY_DICT", 1},
      {'d', "DICT", 0},
      {'s', "SETITEM", 0},
      {'u', "SETITEMS", 1},
      {0x8F, "EMPTY_SET", 4},
      {0x90, "ADDITEMS", 4},
      {0x91, "FROZENSET", 4},
      {'0', "POP", 0},
      {'2', "DUP", 0},
      {'(', "MARK", 0},
      {'1', "POP_MARK", 1},
      {'g', "GET", 0},
      {'h', "BINGET", 1},
      {'j', "LONG_BINGET", 1},
      {'p', "PUT", 0},
      {'q', "BINPUT", 1},
      {'r', "LONG_BINPUT", 1},
      {0x94, "MEMOIZE", 4},
      {0x82, "EXT1", 2},
      {0x83, "EXT2", 2},
      {0x84, "EXT4", 2},
      {'c', "GLOBAL", 0},
      {0x93, "STACK_GLOBAL", 4},
      {'R', "REDUCE", 0},
      {'b', "BUILD", 0},
      {'i', "INST", 0},
      {'o', "OBJ", 1},
      {0x81, "NEWOBJ", 2},
      {0x92, "NEWOBJ_EX", 4},
      {0x80, "PROTO", 2},
      {'.', "STOP", 0},
      {0x95, "FRAME", 4},
      {'P', "PERSID", 0},
      {'Q', "BINPERSID", 1},
  };
  ASSERT_EQ(expected.size(), 68u);
  std::map<int, Expected> by_byte;
  for (const Expected& e : expected) by_byte[e.byte] = e;
  ASSERT_EQ(by_byte.size(), 68u);
  int named = 0;
  for (int b = 0; b < 256; ++b) {
    const auto it = by_byte.find(b);
    const std::string_view name = OpName(static_cast<uint8_t>(b));
    if (it == by_byte.end()) {
      EXPECT_EQ(name, "") << "byte " << b << " is not an opcode in Python 3.11";
      continue;
    }
    ++named;
    EXPECT_EQ(name, it->second.name) << "byte " << b;
    EXPECT_EQ(OpProtocol(static_cast<Op>(b)), it->second.proto) << it->second.name;
  }
  EXPECT_EQ(named, 68);
}

// ---------------------------------------------------------------------------------------------
// Literals.

TEST(PickleMachineOpcodes, NoneBoolsAndInts) {
  EXPECT_EQ(Loads(Exec(P().none().stop())), "None");
  EXPECT_EQ(Loads(Exec(P().proto(2).newtrue().stop())), "True");
  EXPECT_EQ(Loads(Exec(P().proto(2).newfalse().stop())), "False");
  EXPECT_EQ(Loads(Exec(P().int_("42").stop())), "42");
  EXPECT_EQ(Loads(Exec(P().int_("-7").stop())), "-7");
  EXPECT_EQ(Loads(Exec(P().int_("0").stop())), "0");
  // Protocol 0 bools: exactly "00" and "01" (CPython: len == 3 including '\n').
  EXPECT_EQ(Loads(Exec(P().int_("01").stop())), "True");
  EXPECT_EQ(Loads(Exec(P().int_("00").stop())), "False");
  EXPECT_EQ(Loads(Exec(P().int_("999999999999999999").stop())), "999999999999999999");
  EXPECT_EQ(Loads(Exec(P().int_("123456789012345678901234567890").stop())), "<big>");
  EXPECT_EQ(Loads(Exec(P().binint(-2).stop())), "-2");
  EXPECT_EQ(Loads(Exec(P().binint(2147483647).stop())), "2147483647");
  EXPECT_EQ(Loads(Exec(P().binint1(255).stop())), "255");  // unsigned
  EXPECT_EQ(Loads(Exec(P().binint2(65535).stop())), "65535");
  const PickleRun b = Exec(P().int_("01").stop());
  EXPECT_EQ(b.value(*b.result).kind, ValueKind::kBool);
  const PickleRun i = Exec(P().int_("1").stop());
  EXPECT_EQ(i.value(*i.result).kind, ValueKind::kInt);
}

TEST(PickleMachineOpcodes, Longs) {
  EXPECT_EQ(Loads(Exec(P().long_("123L").stop())), "123");
  EXPECT_EQ(Loads(Exec(P().long_("-5").stop())), "-5");  // the 'L' is optional since 3.0
  EXPECT_EQ(Loads(Exec(P().long_("0L").stop())), "0");
  EXPECT_EQ(Loads(Exec(P().long_("12345678901234567890123L").stop())), "<big>");
  EXPECT_EQ(Loads(Exec(P().proto(2).long1("").stop())), "0");
  EXPECT_EQ(Loads(Exec(P().proto(2).long1("\xff").stop())), "-1");
  EXPECT_EQ(Loads(Exec(P().proto(2).long1(std::string("\x00\x80", 2)).stop())), "-32768");
  EXPECT_EQ(Loads(Exec(P().proto(2).long1(std::string("\x00\x80\x00", 3)).stop())), "32768");
  EXPECT_EQ(Loads(Exec(P().proto(2).long1("\xff\x7f").stop())), "32767");
  EXPECT_EQ(Loads(Exec(P().proto(2).long1(std::string("\x00\xff", 2)).stop())), "-256");
  EXPECT_EQ(
      Loads(Exec(P().proto(2).long1(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8)).stop())),
      "9223372036854775807");
  // torch's legacy magic number 0x1950a86a20f9469cfc6c: ten bytes.
  EXPECT_EQ(
      Loads(Exec(
          P().proto(2).long1(std::string("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10)).stop())),
      "<big>");
  EXPECT_EQ(Loads(Exec(P().proto(2).long4(std::string("\x01\x00", 2)).stop())), "1");
}

TEST(PickleMachineOpcodes, Floats) {
  EXPECT_EQ(Loads(Exec(P().float_("1.5").stop())), "<float>");
  EXPECT_EQ(Loads(Exec(P().float_("-1e10").stop())), "<float>");
  EXPECT_EQ(Loads(Exec(P().float_("inf").stop())), "<float>");
  EXPECT_EQ(Loads(Exec(P().float_("nan").stop())), "<float>");
  EXPECT_EQ(Loads(Exec(P().binfloat().stop())), "<float>");
  EXPECT_EQ(Code(Exec(P().float_("1.5x").stop())), code::kPickleBadArgument);
  EXPECT_EQ(Code(Exec(P().float_("").stop())), code::kPickleBadArgument);
}

TEST(PickleMachineOpcodes, StringsAndBytes) {
  EXPECT_EQ(Loads(Exec(P().string("'abc'").stop())), "'abc'");
  EXPECT_EQ(Loads(Exec(P().string("\"abc\"").stop())), "'abc'");
  EXPECT_EQ(Loads(Exec(P().string("''").stop())), "''");
  EXPECT_EQ(Loads(Exec(P().proto(1).binstring("os").stop())), "'os'");
  EXPECT_EQ(Loads(Exec(P().proto(1).short_binstring("os").stop())), "'os'");
  EXPECT_EQ(Loads(Exec(P().unicode("abc").stop())), "'abc'");
  EXPECT_EQ(Loads(Exec(P().binunicode("h\xc3\xa9").stop())), "'h\\xc3\\xa9'");
  EXPECT_EQ(Loads(Exec(P().proto(4).sbu("x").stop())), "'x'");
  EXPECT_EQ(Loads(Exec(P().proto(4).binunicode8("xyz").stop())), "'xyz'");
  EXPECT_EQ(Loads(Exec(P().proto(3).binbytes("ab").stop())), "b'ab'");
  EXPECT_EQ(Loads(Exec(P().proto(3).short_binbytes("ab").stop())), "b'ab'");
  EXPECT_EQ(Loads(Exec(P().proto(4).binbytes8("ab").stop())), "b'ab'");
  EXPECT_EQ(Loads(Exec(P().proto(5).bytearray8("ab").stop())), "bytearray(b'ab')");
  const PickleRun r = Exec(P().proto(3).binbytes("").stop());
  EXPECT_EQ(Loads(r), "b''");
  EXPECT_EQ(r.value(*r.result).length(), 0u);
}

TEST(PickleMachineOpcodes, LongTextIsCountedButNotKept) {
  const std::string big(kMaxKeptText + 1, 'a');
  const PickleRun r = Exec(P().binunicode(big).stop());
  ASSERT_FALSE(r.error);
  const Value& v = r.value(*r.result);
  EXPECT_EQ(v.kind, ValueKind::kStr);
  EXPECT_TRUE(v.big);
  EXPECT_EQ(v.length(), big.size());
  EXPECT_EQ(r.text(*r.result), "");
  const std::string kept(kMaxKeptText, 'a');
  const PickleRun k = Exec(P().binunicode(kept).stop());
  EXPECT_FALSE(k.value(*k.result).big);
  EXPECT_EQ(k.text(*k.result), kept);
}

// ---------------------------------------------------------------------------------------------
// Containers.

TEST(PickleMachineOpcodes, Tuples) {
  EXPECT_EQ(Loads(Exec(P().empty_tuple().stop())), "()");
  EXPECT_EQ(Loads(Exec(P().mark().binint1(1).binint1(2).tuple().stop())), "(1, 2)");
  EXPECT_EQ(Loads(Exec(P().mark().tuple().stop())), "()");
  EXPECT_EQ(Loads(Exec(P().proto(2).binint1(1).tuple1().stop())), "(1,)");
  EXPECT_EQ(Loads(Exec(P().proto(2).binint1(1).binint1(2).tuple2().stop())), "(1, 2)");
  EXPECT_EQ(Loads(Exec(P().proto(2).binint1(1).binint1(2).binint1(3).tuple3().stop())),
            "(1, 2, 3)");
}

TEST(PickleMachineOpcodes, Lists) {
  EXPECT_EQ(Loads(Exec(P().empty_list().stop())), "[]");
  EXPECT_EQ(Loads(Exec(P().mark().binint1(1).binint1(2).list().stop())), "[1, 2]");
  // Protocol 0 as pickle.dumps([1, 2], 0) writes it.
  EXPECT_EQ(Loads(Exec(P().mark().list().put("0").int_("1").append().int_("2").append().stop())),
            "[1, 2]");
  EXPECT_EQ(Loads(Exec(P().empty_list().mark().binint1(1).binint1(2).appends().stop())), "[1, 2]");
  EXPECT_EQ(Loads(Exec(P().empty_list().mark().appends().stop())), "[]");
}

TEST(PickleMachineOpcodes, Dicts) {
  EXPECT_EQ(Loads(Exec(P().empty_dict().stop())), "{}");
  EXPECT_EQ(Loads(Exec(P().mark().unicode("a").int_("1").dict().stop())), "{'a': 1}");
  // Protocol 0 as pickle.dumps({'a': 1}, 0) writes it.
  EXPECT_EQ(
      Loads(Exec(P().mark().dict().put("0").unicode("a").put("1").int_("1").setitem().stop())),
      "{'a': 1}");
  EXPECT_EQ(
      Loads(Exec(
          P().empty_dict().mark().binint1(1).binint1(2).binint1(3).binint1(4).setitems().stop())),
      "{1: 2, 3: 4}");
  EXPECT_EQ(Code(Exec(P().mark().binint1(1).dict().stop())), code::kPickleTypeError);
  EXPECT_EQ(Code(Exec(P().empty_dict().mark().binint1(1).setitems().stop())),
            code::kPickleTypeError);
}

TEST(PickleMachineOpcodes, Sets) {
  EXPECT_EQ(Loads(Exec(P().proto(4).empty_set().stop())), "set()");
  EXPECT_EQ(Loads(Exec(P().proto(4).empty_set().mark().binint1(1).binint1(2).additems().stop())),
            "{1, 2}");
  EXPECT_EQ(Loads(Exec(P().proto(4).empty_set().mark().additems().stop())), "set()");
  EXPECT_EQ(Loads(Exec(P().proto(4).mark().binint1(1).frozenset().stop())), "frozenset({1})");
}

TEST(PickleMachineOpcodes, ContainerMutationOfNonContainersIsACallSite) {
  // APPEND on something that is not a list calls its append(): recorded as kMutate.
  const PickleRun r = Exec(P().global("collections", "OrderedDict")
                               .empty_tuple()
                               .reduce()
                               .binint1(1)
                               .binint1(2)
                               .setitem()
                               .stop());
  EXPECT_EQ(Loads(r), "collections.OrderedDict()");
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[1].kind, CallSite::Kind::kMutate);
  EXPECT_EQ(r.calls[1].op, Op::kSetItem);
  EXPECT_EQ(r.calls[1].callee, *r.result);
  EXPECT_EQ(Repr(r, r.calls[1].args), "1");  // the first item
  // Mutating a container of the wrong kind is a call too (list.__setitem__).
  const PickleRun l = Exec(P().empty_list().binint1(0).binint1(2).setitem().stop());
  ASSERT_FALSE(l.error);
  ASSERT_EQ(l.calls.size(), 1u);
  EXPECT_EQ(l.calls[0].kind, CallSite::Kind::kMutate);
  EXPECT_EQ(Repr(l, *l.result), "[]");
  const PickleRun a = Exec(P().proto(4).empty_dict().mark().binint1(1).additems().stop());
  ASSERT_FALSE(a.error);
  ASSERT_EQ(a.calls.size(), 1u);
  EXPECT_EQ(a.calls[0].op, Op::kAddItems);
}

// ---------------------------------------------------------------------------------------------
// Stack, MARK and fence (CPython's C unpickler: nothing below the innermost MARK can be popped).

TEST(PickleMachineStack, PopDupPopMark) {
  EXPECT_EQ(Loads(Exec(P().binint1(1).binint1(2).pop().stop())), "1");
  EXPECT_EQ(Loads(Exec(P().binint1(1).dup().tuple2().stop())), "(1, 1)");
  EXPECT_EQ(Loads(Exec(P().binint1(1).mark().binint1(2).binint1(3).pop_mark().stop())), "1");
  EXPECT_EQ(Code(Exec(P().pop().stop())), code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().dup().stop())), code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().pop_mark().stop())), code::kPickleMarkMissing);
  EXPECT_EQ(Code(Exec(P().tuple().stop())), code::kPickleMarkMissing);
  EXPECT_EQ(Code(Exec(P().list().stop())), code::kPickleMarkMissing);
  EXPECT_EQ(Code(Exec(P().stop())), code::kPickleStackUnderflow);
  // DUP's copy is the same value (identity, as in CPython).
  const PickleRun d = Exec(P().empty_list().dup().tuple2().stop());
  ASSERT_FALSE(d.error);
  const auto& items = d.items(*d.result);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0], items[1]);
}

TEST(PickleMachineStack, PopOnAFencedStackPopsTheMark) {
  // load_pop: if the top of the mark stack equals the stack length, POP removes the MARK.
  EXPECT_EQ(Loads(Exec(P().none().mark().pop().stop())), "None");
  // With a value above the MARK, POP removes the value and the MARK stays.
  EXPECT_EQ(Loads(Exec(P().none().mark().binint1(1).pop().pop_mark().stop())), "None");
  EXPECT_EQ(Code(Exec(P().none().mark().binint1(1).pop().stop())),
            code::kPickleStackUnderflow);  // STOP cannot pop below the MARK
  // Two MARKs on an empty stack: two POPs remove both.
  EXPECT_EQ(Loads(Exec(P().none().mark().mark().pop().pop().stop())), "None");
}

TEST(PickleMachineStack, OpcodesCannotReachBelowTheMark) {
  EXPECT_EQ(Code(Exec(P().none().mark().dup())), code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().proto(2).none().mark().tuple1())), code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().proto(2).none().none().mark().none().tuple2())),
            code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().global("os", "getcwd").mark().empty_tuple().reduce())),
            code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().empty_dict().mark().empty_dict().build())), code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().none().mark().binput(0))), code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().none().mark().stop())), code::kPickleStackUnderflow);
  // APPEND/SETITEM need their target above the MARK (pickle.py keeps a separate stack per MARK).
  EXPECT_EQ(Code(Exec(P().empty_list().mark().binint1(1).append())), code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().empty_dict().mark().binint1(1).binint1(2).setitem())),
            code::kPickleStackUnderflow);
}

TEST(PickleMachineStack, BatchOpcodesNeedTheirTargetJustBelowTheMark) {
  EXPECT_EQ(Code(Exec(P().mark().binint1(1).appends())), code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().mark().binint1(1).binint1(2).setitems())), code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().proto(4).mark().binint1(1).additems())), code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().mark().appends())), code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().appends())), code::kPickleMarkMissing);
  // The target may not be below an outer MARK either.
  EXPECT_EQ(Code(Exec(P().empty_list().mark().mark().binint1(1).appends())),
            code::kPickleStackUnderflow);
  // Nested: [[1], 2].
  EXPECT_EQ(Loads(Exec(P().empty_list()
                           .mark()
                           .empty_list()
                           .mark()
                           .binint1(1)
                           .appends()
                           .binint1(2)
                           .appends()
                           .stop())),
            "[[1], 2]");
}

TEST(PickleMachineStack, StopWithLeftoversIsRejected) {
  const PickleRun r = Exec(P().none().none().stop());
  EXPECT_EQ(Code(r), code::kPickleStackNotEmpty);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.error->kind, sealpkg::ErrorCode::kMalformed);
  // A MARK left open is a leftover too (CPython itself would return the top value).
  EXPECT_EQ(Code(Exec(P().mark().none().stop())), code::kPickleStackNotEmpty);
}

// ---------------------------------------------------------------------------------------------
// Memo.

TEST(PickleMachineMemo, PutAndGetByIndex) {
  EXPECT_EQ(Loads(Exec(P().none().put("0").pop().get("0").stop())), "None");
  EXPECT_EQ(Loads(Exec(P().binint1(7).binput(3).pop().binget(3).stop())), "7");
  EXPECT_EQ(Loads(Exec(P().binint1(7).long_binput(70000).pop().long_binget(70000).stop())), "7");
  // PUT keeps the value on the stack; GET pushes the same value (identity).
  const PickleRun r = Exec(P().empty_list().binput(0).binget(0).tuple2().stop());
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.items(*r.result)[0], r.items(*r.result)[1]);
}

TEST(PickleMachineMemo, MissingIndex) {
  for (const P& p : {P().get("0"), P().binget(0), P().long_binget(0),
                     P().none().binput(1).binget(0), P().none().put("1").get("2")}) {
    EXPECT_EQ(Code(Exec(P(p).stop())), code::kPickleMemoMissing);
  }
  EXPECT_EQ(Code(Exec(P().put("0").stop())), code::kPickleStackUnderflow);
  EXPECT_EQ(Code(Exec(P().proto(4).memoize().stop())), code::kPickleStackUnderflow);
}

TEST(PickleMachineMemo, TextIndicesMustBeCanonical) {
  for (std::string_view bad : {"-1", "01", " 1", "1 ", "+1", "0x1", "1_0", "", "a"}) {
    EXPECT_EQ(Code(Exec(P().none().put(bad).stop())), code::kPickleBadMemoIndex) << bad;
    EXPECT_EQ(Code(Exec(P().none().put("1").get(bad).stop())), code::kPickleBadMemoIndex) << bad;
  }
}

TEST(PickleMachineMemo, MemoizeUsesTheNumberOfEntries) {
  // memo[len(memo)] = top: after BINPUT 5 the memo has one entry, so MEMOIZE writes index 1.
  const PickleRun r = Exec(P().proto(4)
                               .sbu("a")
                               .binput(5)
                               .pop()
                               .sbu("b")
                               .memoize()
                               .pop()
                               .binget(1)
                               .binget(5)
                               .tuple2()
                               .stop());
  EXPECT_EQ(Loads(r), "('b', 'a')");
  EXPECT_EQ(
      Code(Exec(P().proto(4).sbu("a").binput(5).pop().sbu("b").memoize().pop().binget(0).stop())),
      code::kPickleMemoMissing);
  // Re-putting an existing index does not add an entry.
  EXPECT_EQ(Loads(Exec(P().proto(4)
                           .sbu("a")
                           .binput(0)
                           .pop()
                           .sbu("b")
                           .binput(0)
                           .pop()
                           .sbu("c")
                           .memoize()
                           .pop()
                           .binget(0)
                           .binget(1)
                           .tuple2()
                           .stop())),
            "('b', 'c')");
  // MEMOIZE onto an index a PUT already filled overwrites it: memo {1: a} has one entry, so
  // both MEMOIZEs write index 1 and index 2 never exists.
  const P twice =
      P().proto(4).sbu("a").binput(1).pop().sbu("b").memoize().pop().sbu("c").memoize().pop();
  EXPECT_EQ(Loads(Exec(P(twice).binget(1).stop())), "'c'");
  EXPECT_EQ(Code(Exec(P(twice).binget(2).stop())), code::kPickleMemoMissing);
  // Distinct entries after out-of-order PUTs: {7, 3, 0} -> MEMOIZE writes 3 (overwrites).
  EXPECT_EQ(Loads(Exec(P().proto(4)
                           .sbu("x")
                           .binput(7)
                           .binput(3)
                           .binput(0)
                           .pop()
                           .sbu("m")
                           .memoize()
                           .pop()
                           .binget(3)
                           .binget(7)
                           .tuple2()
                           .stop())),
            "('m', 'x')");
}

// ---------------------------------------------------------------------------------------------
// Names and calls.

TEST(PickleMachineCalls, GlobalAndStackGlobal) {
  const PickleRun g = Exec(P().global("collections", "OrderedDict").stop());
  EXPECT_EQ(Loads(g), "collections.OrderedDict");
  ASSERT_EQ(g.globals.size(), 1u);
  EXPECT_EQ(g.globals[0].module, "collections");
  EXPECT_EQ(g.globals[0].name, "OrderedDict");
  EXPECT_EQ(g.globals[0].written, "collections OrderedDict");
  EXPECT_EQ(g.globals[0].op, Op::kGlobal);
  EXPECT_EQ(g.globals[0].offset, 0u);
  EXPECT_FALSE(g.globals[0].renamed);

  const PickleRun s =
      Exec(P().proto(4).sbu("torch._utils").sbu("_rebuild_tensor_v2").stack_global().stop());
  EXPECT_EQ(Loads(s), "torch._utils._rebuild_tensor_v2");
  ASSERT_EQ(s.globals.size(), 1u);
  EXPECT_EQ(s.globals[0].op, Op::kStackGlobal);
  EXPECT_EQ(s.globals[0].offset, 2u + 14u + 20u);

  // Names no import or getattr could succeed on.
  EXPECT_EQ(Code(Exec(P().global("", "x").stop())), code::kPickleBadArgument);
  EXPECT_EQ(Code(Exec(P().global("os", "").stop())), code::kPickleBadArgument);
  EXPECT_EQ(Code(Exec(P().global("os system", "x").stop())), code::kPickleBadArgument);
  EXPECT_EQ(Code(Exec(P().global("os", "a..b").stop())), code::kPickleBadArgument);
  EXPECT_EQ(Code(Exec(P().global("os", "\xff").stop())), code::kPickleBadArgument);
}

TEST(PickleMachineCalls, ReduceRecordsCalleeAndArguments) {
  const PickleRun r = Exec(P().global("os", "system").mark().unicode("ls").tuple().reduce().stop());
  EXPECT_EQ(Loads(r), "os.system('ls',)");
  ASSERT_EQ(r.calls.size(), 1u);
  const CallSite& c = r.calls[0];
  EXPECT_EQ(c.kind, CallSite::Kind::kCall);
  EXPECT_EQ(c.op, Op::kReduce);
  EXPECT_EQ(Repr(r, c.callee), "os.system");
  EXPECT_EQ(Repr(r, c.args), "('ls',)");
  EXPECT_EQ(c.result, *r.result);
  EXPECT_FALSE(c.kwargs);
  EXPECT_EQ(r.value(c.result).kind, ValueKind::kCallResult);
}

TEST(PickleMachineCalls, ReduceNeedsATuple) {
  const PickleRun r = Exec(P().global("os", "getcwd").none().reduce().stop());
  EXPECT_EQ(Code(r), code::kPickleTypeError);
  EXPECT_EQ(r.error->construct, "REDUCE");
  EXPECT_EQ(Code(Exec(P().global("os", "getcwd").empty_list().reduce().stop())),
            code::kPickleTypeError);
}

TEST(PickleMachineCalls, BuildIsRecordedOnItsTarget) {
  const PickleRun r = Exec(P().proto(2)
                               .global("collections", "OrderedDict")
                               .empty_tuple()
                               .newobj()
                               .empty_dict()
                               .build()
                               .stop());
  EXPECT_EQ(Loads(r), "collections.OrderedDict()");
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[0].op, Op::kNewObj);
  EXPECT_EQ(r.calls[1].kind, CallSite::Kind::kBuild);
  EXPECT_EQ(r.calls[1].op, Op::kBuild);
  EXPECT_EQ(r.calls[1].callee, *r.result);
  EXPECT_EQ(Repr(r, r.calls[1].args), "{}");
}

TEST(PickleMachineCalls, NewObjAndNewObjEx) {
  const PickleRun n = Exec(P().proto(2).global("m", "C").binint1(1).tuple1().newobj().stop());
  EXPECT_EQ(Loads(n), "m.C(1,)");
  EXPECT_EQ(Code(Exec(P().proto(2).global("m", "C").none().newobj().stop())),
            code::kPickleTypeError);
  const PickleRun x = Exec(P().proto(4)
                               .sbu("m")
                               .sbu("C")
                               .stack_global()
                               .empty_tuple()
                               .empty_dict()
                               .sbu("k")
                               .binint1(2)
                               .setitem()
                               .newobj_ex()
                               .stop());
  EXPECT_EQ(Loads(x), "m.C()**{'k': 2}");
  ASSERT_EQ(x.calls.size(), 1u);
  EXPECT_EQ(x.calls[0].op, Op::kNewObjEx);
  ASSERT_TRUE(x.calls[0].kwargs);
  EXPECT_EQ(Code(Exec(P().proto(4).global("m", "C").empty_tuple().empty_list().newobj_ex().stop())),
            code::kPickleTypeError);
  EXPECT_EQ(Code(Exec(P().proto(4).global("m", "C").none().empty_dict().newobj_ex().stop())),
            code::kPickleTypeError);
}

TEST(PickleMachineCalls, ObjAndInst) {
  EXPECT_EQ(Loads(Exec(P().mark().global("m", "C").binint1(1).obj().stop())), "m.C(1,)");
  EXPECT_EQ(Code(Exec(P().mark().obj().stop())), code::kPickleStackUnderflow);
  const PickleRun i = Exec(P().mark().binint1(1).inst("m", "C").stop());
  EXPECT_EQ(Loads(i), "m.C(1,)");
  ASSERT_EQ(i.globals.size(), 1u);
  EXPECT_EQ(i.globals[0].op, Op::kInst);
  ASSERT_EQ(i.calls.size(), 1u);
  EXPECT_EQ(i.calls[0].op, Op::kInst);
  EXPECT_EQ(Code(Exec(P().inst("m", "C").stop())), code::kPickleMarkMissing);
}

TEST(PickleMachineCalls, PersistentIds) {
  const PickleRun p = Exec(P().persid("abc").stop());
  EXPECT_EQ(Loads(p), "persistent_load('abc')");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].kind, CallSite::Kind::kPersistentLoad);
  EXPECT_EQ(p.calls[0].op, Op::kPersId);
  EXPECT_EQ(p.value(*p.result).kind, ValueKind::kPersistent);
  EXPECT_EQ(Code(Exec(P().persid("\xc3\xa9").stop())), code::kPickleBadArgument);

  const PickleRun b = Exec(P().proto(2)
                               .mark()
                               .unicode("storage")
                               .global("torch", "FloatStorage")
                               .unicode("0")
                               .unicode("cpu")
                               .binint1(4)
                               .tuple()
                               .binpersid()
                               .stop());
  EXPECT_EQ(Loads(b), "persistent_load(('storage', torch.FloatStorage, '0', 'cpu', 4))");
  ASSERT_EQ(b.calls.size(), 1u);
  EXPECT_EQ(b.calls[0].op, Op::kBinPersId);
  EXPECT_EQ(Code(Exec(P().binpersid().stop())), code::kPickleStackUnderflow);
}

TEST(PickleMachineCalls, ExtensionCodesAreRefused) {
  for (const P& p : {P().proto(2).ext1(1), P().proto(2).ext2(0x1234), P().proto(2).ext4(7)}) {
    const PickleRun r = Exec(P(p).empty_tuple().reduce().stop());
    EXPECT_EQ(Code(r), code::kPickleExtension);
    EXPECT_EQ(r.error->offset, 2u);
    EXPECT_TRUE(r.globals.empty());
  }
  EXPECT_EQ(Code(Exec(P().proto(2).op(0x84).raw("\x01"))), code::kPickleTruncated);
}

TEST(PickleMachineCalls, OutOfBandBuffers) {
  const PickleRun n = Exec(P().proto(5).next_buffer().stop());
  EXPECT_EQ(Code(n), code::kPickleOutOfBand);
  EXPECT_EQ(n.error->offset, 2u);
  EXPECT_EQ(n.error->construct, "NEXT_BUFFER");
  EXPECT_EQ(Code(Exec(P().proto(5).next_buffer().readonly_buffer().stop())),
            code::kPickleOutOfBand);
  // READONLY_BUFFER only ever follows NEXT_BUFFER in what the pickler writes: refused alike.
  EXPECT_EQ(Code(Exec(P().proto(5).short_binbytes("ab").readonly_buffer().stop())),
            code::kPickleOutOfBand);
}

// ---------------------------------------------------------------------------------------------
// PROTO, STOP, FRAME.

TEST(PickleMachineFraming, Protocols) {
  for (int v = 0; v <= 5; ++v) {
    const PickleRun r = Exec(P().proto(v).none().stop());
    EXPECT_EQ(Loads(r), "None");
    EXPECT_EQ(r.protocol, v);
    EXPECT_EQ(r.highest_protocol, v);
  }
  const PickleRun six = Exec(P().proto(6).none().stop());
  EXPECT_EQ(Code(six), code::kPickleBadProtocol);
  EXPECT_EQ(six.error->offset, 0u);
  EXPECT_EQ(Code(Exec(P().proto(255).none().stop())), code::kPickleBadProtocol);
  // find_class uses the latest PROTO; the highest is kept apart.
  const PickleRun two = Exec(P().proto(4).proto(2).none().stop());
  EXPECT_EQ(two.protocol, 2);
  EXPECT_EQ(two.highest_protocol, 4);
  const PickleRun none = Exec(P().none().stop());
  EXPECT_EQ(none.protocol, 0);
}

TEST(PickleMachineFraming, StopAndEndOffset) {
  const PickleRun r = Exec(P().none().stop());
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.end_offset, 2u);
  EXPECT_EQ(r.opcodes, 2u);
  // A run can start in the middle of a buffer (stacked pickles).
  const std::vector<uint8_t> two = P().none().stop().binint1(3).stop().bytes();
  const PickleRun second = RunPickle(two, PickleLimits{}, 2);
  EXPECT_EQ(Loads(second), "3");
  EXPECT_EQ(second.end_offset, 5u);
  // Truncated streams.
  EXPECT_EQ(Code(Exec(P())), code::kPickleTruncated);
  EXPECT_EQ(Code(Exec(P().none())), code::kPickleTruncated);
  EXPECT_EQ(Code(Exec(P().op('X').raw("\x05"))), code::kPickleTruncated);
  EXPECT_EQ(Code(Exec(P().op('X').le(5, 4).raw("ab"))), code::kPickleTruncated);
  EXPECT_EQ(Code(Exec(P().op('I').raw("12"))), code::kPickleTruncated);
  EXPECT_EQ(Code(Exec(P().op('c').raw("os\nsystem"))), code::kPickleTruncated);
}

TEST(PickleMachineFraming, FramedStreamsRunAcrossFrames) {
  // As pickle.dumps(..., protocol=4) frames: FRAME n, n bytes of opcodes, next FRAME.
  const PickleRun r = Exec(P().proto(4).frame(3).empty_list().binint1(1).frame(2).append().stop());
  EXPECT_EQ(Loads(r), "[1]");
  // An empty frame is allowed.
  EXPECT_EQ(Loads(Exec(P().proto(4).frame(0).none().stop())), "None");
  // Opcodes after a frame's end are read unframed.
  EXPECT_EQ(Loads(Exec(P().proto(4).frame(1).none().stop())), "None");
}

TEST(PickleMachineFraming, OpcodeStraddlingAFrameIsRejected) {
  // B8: BINUNICODE's count and one byte of data inside a 6-byte frame, the rest after it. The C
  // unpickler reads across the boundary, pickle.py does not: rejected.
  const PickleRun r = Exec(P().proto(4).frame(6).op('X').le(5, 4).raw("abcde").stop());
  EXPECT_EQ(Code(r), code::kPickleFrame);
  EXPECT_EQ(r.error->offset, 11u);
  // A text line that does not end inside its frame.
  EXPECT_EQ(Code(Exec(P().proto(4).frame(2).raw("Vab\ncd\n").stop())), code::kPickleFrame);
  // The opcode's fixed-size argument runs past the frame.
  EXPECT_EQ(Code(Exec(P().proto(4).frame(2).op('J').le(1, 4).stop())), code::kPickleFrame);
  // The reference construction: BINBYTES declared longer than its 2-byte FRAME hides a GLOBAL.
  P b8;
  b8.proto(5).none().unicode(std::string(100, 'a')).pop().mark().frame(2).op('B').le(0x107, 4);
  b8.raw(std::string(2, '\0')).global("os", "getcwd").empty_tuple().reduce().mark();
  for (int i = 0; i < 0x107; ++i) b8.none();
  b8.pop_mark().stop();
  const PickleRun hidden = Exec(b8);
  EXPECT_EQ(Code(hidden), code::kPickleFrame);
  EXPECT_TRUE(hidden.globals.empty());
}

TEST(PickleMachineFraming, NewFrameInsideAFrameIsRejected) {
  // pickle.py: "beginning of a new frame before end of current frame".
  const PickleRun r = Exec(P().proto(4).frame(20).none().frame(1).pop().raw(std::string(10, 'N')));
  EXPECT_EQ(Code(r), code::kPickleFrame);
  EXPECT_EQ(r.error->offset, 12u);
}

TEST(PickleMachineFraming, FrameEndingRightAfterTheNextFrameOpcodeIsAccepted) {
  // The FRAME opcode and its 8-byte count are the last 9 bytes of the current frame: the current
  // frame is exhausted when the new one begins, so both CPython unpicklers accept this stream
  // (pickle.py's _Unframer.load_frame checks `current_frame.read() != b''`; verified on 3.11.7:
  // pickle.loads and pickle._Unpickler both return None).
  const PickleRun r = Exec(P().proto(4).frame(10).none().frame(1).stop());
  EXPECT_EQ(Loads(r), "None");
}

TEST(PickleMachineFraming, FrameLongerThanTheDataIsRejected) {
  // The C unpickler fails ("pickle data was truncated"), pickle.py accepts the short frame: a
  // differential, reported as a frame violation (finding.h: "straddles, overruns").
  const PickleRun r = Exec(P().proto(4).frame(100).none().stop());
  EXPECT_EQ(Code(r), code::kPickleFrame);
  EXPECT_EQ(r.error->offset, 2u);
}

// ---------------------------------------------------------------------------------------------
// Argument rules.

TEST(PickleMachineArguments, IntMustBeCanonical) {
  // strtol(base 0), PyLong_FromString and int() disagree on these: rejected, never guessed.
  for (std::string_view bad :
       {"010", "0x1", "+1", " 1", "1 ", "1_0", "", "-", "1.0", "0b1", "--1", "1L", "\xd9\xa1"}) {
    const PickleRun r = Exec(P().int_(bad).stop());
    EXPECT_EQ(Code(r), code::kPickleBadArgument) << "'" << bad << "'";
  }
  // "-0": strtol gives 0 with len == 3, so the C unpickler returns False, pickle.py returns int 0.
  EXPECT_EQ(Code(Exec(P().int_("-0").stop())), code::kPickleBadArgument);
  for (std::string_view bad : {"010", "0x1", "+1", " 1", "1_0", "", "L", "1.5L"}) {
    EXPECT_EQ(Code(Exec(P().long_(bad).stop())), code::kPickleBadArgument) << bad;
  }
}

TEST(PickleMachineArguments, StringQuotingAndEscapes) {
  EXPECT_EQ(Loads(Exec(P().string("'a\\nb\\x41\\101\\t\\\\'").stop())), "'a\\x0abAA\\x09\\x5c'");
  EXPECT_EQ(Loads(Exec(P().string("'it\\'s'").stop())), "'it\\x27s'");
  EXPECT_EQ(Loads(Exec(P().string("'\\q'").stop())), "'\\x5cq'");   // unknown escape kept
  EXPECT_EQ(Loads(Exec(P().string("'\\777'").stop())), "'\\xff'");  // octal, low 8 bits
  for (std::string_view bad :
       {"abc", "'abc", "abc'", "'abc\"", "'", "\"", "", "'a\\x4'", "'a\\xg0'", "'a\\'"}) {
    EXPECT_EQ(Code(Exec(P().string(bad).stop())), code::kPickleBadArgument) << bad;
  }
}

TEST(PickleMachineArguments, UnicodeRawEscapes) {
  EXPECT_EQ(Loads(Exec(P().unicode("h\\u00e9").stop())), "'h\\xc3\\xa9'");
  EXPECT_EQ(Loads(Exec(P().unicode("\\U0001F600").stop())), "'\\xf0\\x9f\\x98\\x80'");
  EXPECT_EQ(Loads(Exec(P().unicode("\xe9").stop())), "'\\xc3\\xa9'");  // Latin-1 byte
  EXPECT_EQ(Loads(Exec(P().unicode("\\n").stop())), "'\\x5cn'");       // not an escape here
  // An even run of backslashes before 'u' is literal; an odd one escapes.
  EXPECT_EQ(Loads(Exec(P().unicode("\\\\u0041").stop())), "'\\x5c\\x5cu0041'");
  EXPECT_EQ(Loads(Exec(P().unicode("\\\\\\u0041").stop())), "'\\x5c\\x5cA'");
  // Lone surrogates are allowed (raw-unicode-escape produces them).
  EXPECT_EQ(Loads(Exec(P().unicode("\\ud800").stop())), "'\\xed\\xa0\\x80'");
  for (std::string_view bad : {"\\u12", "\\u12g4", "\\U00110000", "\\U0000004"}) {
    EXPECT_EQ(Code(Exec(P().unicode(bad).stop())), code::kPickleBadArgument) << bad;
  }
}

TEST(PickleMachineArguments, BinUnicodeIsUtf8WithSurrogatePass) {
  for (std::string_view bad :
       {"\xff", "\xc3\x28", "\xc0\x80", "\xe0\x80\x80", "\xf4\x90\x80\x80", "\xc3", "a\x80"}) {
    EXPECT_EQ(Code(Exec(P().binunicode(bad).stop())), code::kPickleBadArgument);
    EXPECT_EQ(Code(Exec(P().proto(4).sbu(bad).stop())), code::kPickleBadArgument);
    EXPECT_EQ(Code(Exec(P().proto(4).binunicode8(bad).stop())), code::kPickleBadArgument);
  }
  // Lone surrogates and CESU-style pairs decode with "surrogatepass".
  EXPECT_EQ(Loads(Exec(P().binunicode("\xed\xa0\x80").stop())), "'\\xed\\xa0\\x80'");
  EXPECT_EQ(Loads(Exec(P().binunicode("\xed\xa0\xbd\xed\xb8\x80").stop())),
            "'\\xed\\xa0\\xbd\\xed\\xb8\\x80'");
  EXPECT_EQ(Loads(Exec(P().binunicode("\xf0\x9f\x98\x80").stop())), "'\\xf0\\x9f\\x98\\x80'");
}

TEST(PickleMachineArguments, NegativeCounts) {
  EXPECT_EQ(Code(Exec(P().op('T').le(0xFFFFFFFFu, 4).stop())), code::kPickleBadArgument);
  EXPECT_EQ(Code(Exec(P().op('T').le(0x80000000u, 4).stop())), code::kPickleBadArgument);
  EXPECT_EQ(Code(Exec(P().proto(2).op(0x8B).le(0xFFFFFFFFu, 4).stop())), code::kPickleBadArgument);
  // BINUNICODE and BINBYTES counts are unsigned: a huge one is truncated input (or a limit).
  EXPECT_EQ(Code(Exec(P().op('X').le(0xFFFFFFFFu, 4).stop())), code::kPickleArgumentTooLarge);
  PickleLimits big;
  big.max_argument_bytes = 1ull << 40;
  EXPECT_EQ(Code(Exec(P().op('X').le(0xFFFFFFFFu, 4).stop(), big)), code::kPickleTruncated);
  EXPECT_EQ(Code(Exec(P().op(0x8E).le(~0ull, 8).stop(), big)), code::kPickleArgumentTooLarge);
}

TEST(PickleMachineArguments, UnknownOpcodes) {
  for (uint8_t b : std::vector<uint8_t>{0x00, 0x99, 0xFF, 'A', 'D', 'E', 'H', 'Z', '\n'}) {
    const PickleRun r = Exec(P().none().op(b).stop());
    EXPECT_EQ(Code(r), code::kPickleUnknownOpcode) << int(b);
    EXPECT_EQ(r.error->offset, 1u);
  }
}

// ---------------------------------------------------------------------------------------------
// §2.B of pickle_threats.md: opcode-level parser differentials, with CPython's outcome.

TEST(PickleMachineThreats, B1MemoConfusionResolvesTheRealNames) {
  // A scanner that numbers MEMOIZE by "puts so far" believes memo[1] = 'torch._utils' and
  // memo[2] = 'os'; CPython writes MEMOIZE at len(memo): memo[1] = 'os', memo[2] = 'system'.
  const PickleRun r = Exec(P().proto(4)
                               .sbu("torch._utils")
                               .binput(1)
                               .pop()
                               .sbu("os")
                               .memoize()
                               .pop()
                               .sbu("_rebuild_tensor_v2")
                               .binput(0)
                               .pop()
                               .sbu("system")
                               .memoize()
                               .pop()
                               .binget(1)
                               .binget(2)
                               .stack_global()
                               .sbu("ls")
                               .tuple1()
                               .reduce()
                               .stop());
  EXPECT_EQ(Loads(r), "os.system('ls',)");
  EXPECT_EQ(GlobalNames(r), Names{"os.system"});
}

TEST(PickleMachineThreats, B2MemoizeAfterPopResolvesOsGetcwd) {
  const PickleRun r = Exec(P().proto(4)
                               .sbu("os")
                               .sbu("x")
                               .pop()
                               .memoize()
                               .pop()
                               .sbu("getcwd")
                               .memoize()
                               .pop()
                               .binget(0)
                               .binget(1)
                               .stack_global()
                               .empty_tuple()
                               .reduce()
                               .stop());
  EXPECT_EQ(Loads(r), "os.getcwd()");
  EXPECT_EQ(GlobalNames(r), Names{"os.getcwd"});
  ASSERT_EQ(r.calls.size(), 1u);
}

TEST(PickleMachineThreats, B3PayloadThenBadBinGetKeepsTheGlobal) {
  P p;
  p.global("os", "system").unicode("id").tuple1().reduce().pop().sbu("os").memoize();
  const uint64_t bad = p.size();
  p.binget(3).binget(0).stack_global().empty_tuple().reduce().stop();
  const PickleRun r = Exec(p);
  EXPECT_EQ(Code(r), code::kPickleMemoMissing);
  EXPECT_EQ(r.error->offset, bad);
  EXPECT_EQ(r.error->construct, "BINGET");
  EXPECT_EQ(GlobalNames(r), Names{"os.system"});
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(Repr(r, r.calls[0].result), "os.system('id',)");
  EXPECT_FALSE(r.stopped);
}

TEST(PickleMachineThreats, B4StackGlobalWithoutProtoFromStringOperands) {
  const PickleRun r = Exec(
      P().string("'os'").string("'system'").stack_global().string("'ls'").tuple1().reduce().stop());
  EXPECT_EQ(Loads(r), "os.system('ls',)");
  EXPECT_EQ(r.protocol, 0);
  ASSERT_EQ(r.globals.size(), 1u);
  EXPECT_EQ(r.globals[0].op, Op::kStackGlobal);
  EXPECT_EQ(r.globals[0].offset, 16u);
  // BINSTRING / SHORT_BINSTRING operands are str too.
  EXPECT_EQ(Loads(Exec(P().binstring("os").short_binstring("getcwd").stack_global().stop())),
            "os.getcwd");
}

TEST(PickleMachineThreats, B5StackGlobalWithNonStrOperandsIsRejected) {
  // Module attribute overwrite: BUILD on the module torch._utils, then STACK_GLOBAL over values
  // the rewritten module would hand back. Only literal str operands are accepted.
  const PickleRun r = Exec(P().proto(4)
                               .sbu("torch")
                               .sbu("_utils")
                               .stack_global()
                               .empty_dict()
                               .sbu("_rebuild_tensor")
                               .sbu("builtins")
                               .setitem()
                               .build()
                               .pop()
                               .sbu("torch._utils")
                               .sbu("_rebuild_tensor")
                               .stack_global()
                               .sbu("torch._utils")
                               .sbu("_rebuild_tensor_v2")
                               .stack_global()
                               .stack_global()
                               .empty_tuple()
                               .reduce()
                               .stop());
  EXPECT_EQ(Code(r), code::kPickleNonLiteralGlobal);
  EXPECT_EQ(r.error->construct, "STACK_GLOBAL");
  ASSERT_FALSE(r.calls.empty());
  EXPECT_EQ(r.calls[0].kind, CallSite::Kind::kBuild);
  EXPECT_EQ(Repr(r, r.calls[0].callee), "torch._utils");
  for (const P& p : {P().proto(4).short_binbytes("os").sbu("system"),
                     P().proto(4).sbu("os").short_binbytes("system"),
                     P().proto(4).sbu("os").binint1(1), P().proto(4).none().sbu("system"),
                     P().proto(4).global("m", "f").empty_tuple().reduce().sbu("x")}) {
    EXPECT_EQ(Code(Exec(P(p).stack_global().stop())), code::kPickleNonLiteralGlobal);
  }
}

TEST(PickleMachineThreats, B6DottedNameIsKeptUnderProtocol4) {
  const PickleRun r = Exec(
      P().proto(4).sbu("pathlib").sbu("os.getcwd").stack_global().empty_tuple().reduce().stop());
  EXPECT_EQ(Loads(r), "pathlib.os.getcwd()");
  ASSERT_EQ(r.globals.size(), 1u);
  EXPECT_EQ(r.globals[0].module, "pathlib");
  EXPECT_EQ(r.globals[0].name, "os.getcwd");
}

TEST(PickleMachineThreats, B7CompatRenamesOnlyBelowProtocol3) {
  const PickleRun two = Exec(P().proto(2).global("cPickle", "loads").stop());
  ASSERT_EQ(two.globals.size(), 1u);
  EXPECT_EQ(two.globals[0].full_name(), "pickle.loads");
  EXPECT_TRUE(two.globals[0].renamed);
  EXPECT_EQ(two.globals[0].written, "cPickle loads");
  const PickleRun three = Exec(P().proto(3).global("cPickle", "loads").stop());
  EXPECT_EQ(GlobalNames(three), Names{"cPickle.loads"});
  EXPECT_FALSE(three.globals[0].renamed);
  // No PROTO is protocol 0.
  EXPECT_EQ(GlobalNames(Exec(P().global("urllib2", "urlopen").stop())),
            Names{"urllib.request.urlopen"});
  EXPECT_EQ(GlobalNames(Exec(P().global("__builtin__", "reduce").stop())),
            Names{"functools.reduce"});  // NAME_MAPPING before IMPORT_MAPPING
  EXPECT_EQ(GlobalNames(Exec(P().global("__builtin__", "eval").stop())), Names{"builtins.eval"});
  EXPECT_EQ(GlobalNames(Exec(P().proto(1).global("commands", "getoutput").stop())),
            Names{"subprocess.getoutput"});
  EXPECT_EQ(GlobalNames(Exec(P().proto(2).global("copy_reg", "_reconstructor").stop())),
            Names{"copyreg._reconstructor"});
  EXPECT_EQ(GlobalNames(Exec(P().proto(2).global("SocketServer", "TCPServer").stop())),
            Names{"socketserver.TCPServer"});
  // STACK_GLOBAL and INST go through find_class too.
  EXPECT_EQ(
      GlobalNames(Exec(P().proto(2).sbu("httplib").sbu("HTTPConnection").stack_global().stop())),
      Names{"http.client.HTTPConnection"});
  EXPECT_EQ(GlobalNames(Exec(P().mark().inst("thread", "start_new_thread").stop())),
            Names{"_thread.start_new_thread"});
  // The latest PROTO decides, not the highest.
  EXPECT_EQ(GlobalNames(Exec(P().proto(4).proto(2).global("cPickle", "loads").stop())),
            Names{"pickle.loads"});
  EXPECT_EQ(GlobalNames(Exec(P().proto(2).proto(4).global("cPickle", "loads").stop())),
            Names{"cPickle.loads"});
}

TEST(PickleMachineThreats, B9CallSitesOfEveryKindAreRecordedEvenWhenPopped) {
  const PickleRun obj = Exec(P().proto(4)
                                 .mark()
                                 .sbu("smtplib")
                                 .sbu("SMTP")
                                 .stack_global()
                                 .sbu("127.0.0.1")
                                 .obj()
                                 .pop()
                                 .none()
                                 .stop());
  EXPECT_EQ(Loads(obj), "None");
  ASSERT_EQ(obj.calls.size(), 1u);
  EXPECT_EQ(obj.calls[0].op, Op::kObj);
  EXPECT_EQ(Repr(obj, obj.calls[0].callee), "smtplib.SMTP");
  EXPECT_EQ(Repr(obj, obj.calls[0].args), "('127.0.0.1',)");

  const PickleRun inst =
      Exec(P().mark().string("'127.0.0.1'").inst("smtplib", "SMTP").pop().none().stop());
  EXPECT_EQ(Loads(inst), "None");
  ASSERT_EQ(inst.calls.size(), 1u);
  EXPECT_EQ(inst.calls[0].op, Op::kInst);
  EXPECT_EQ(Repr(inst, inst.calls[0].callee), "smtplib.SMTP");

  const PickleRun newobj =
      Exec(P().proto(2).global("smtplib", "SMTP").empty_tuple().newobj().pop().none().stop());
  ASSERT_EQ(newobj.calls.size(), 1u);
  EXPECT_EQ(newobj.calls[0].op, Op::kNewObj);
  EXPECT_EQ(Repr(newobj, newobj.calls[0].callee), "smtplib.SMTP");

  const PickleRun ex = Exec(P().proto(4)
                                .global("smtplib", "SMTP")
                                .empty_tuple()
                                .empty_dict()
                                .newobj_ex()
                                .pop()
                                .none()
                                .stop());
  ASSERT_EQ(ex.calls.size(), 1u);
  EXPECT_EQ(ex.calls[0].op, Op::kNewObjEx);

  const PickleRun build = Exec(P().proto(2)
                                   .global("m", "C")
                                   .empty_tuple()
                                   .newobj()
                                   .empty_dict()
                                   .build()
                                   .pop()
                                   .none()
                                   .stop());
  ASSERT_EQ(build.calls.size(), 2u);
  EXPECT_EQ(build.calls[1].kind, CallSite::Kind::kBuild);
  EXPECT_EQ(Repr(build, build.calls[1].callee), "m.C()");
}

TEST(PickleMachineThreats, B10InstIsAGlobalAndACall) {
  const PickleRun r = Exec(P().mark().string("'cmd'").inst("__builtin__", "exec").stop());
  EXPECT_EQ(Loads(r), "builtins.exec('cmd',)");
  ASSERT_EQ(r.globals.size(), 1u);
  EXPECT_EQ(r.globals[0].op, Op::kInst);
  EXPECT_TRUE(r.globals[0].renamed);
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].kind, CallSite::Kind::kCall);
}

TEST(PickleMachineThreats, B11ExtensionCodes) {
  const PickleRun r = Exec(P().proto(2).ext1(1).empty_tuple().reduce().stop());
  EXPECT_EQ(Code(r), code::kPickleExtension);
  EXPECT_EQ(r.error->construct, "EXT1");
}

TEST(PickleMachineThreats, B14BrokenStreamAfterReduceKeepsTheCall) {
  const P payload = P().global("os", "getcwd").empty_tuple().reduce();
  const PickleRun junk = Exec(P(payload).op(0xFF));
  EXPECT_EQ(Code(junk), code::kPickleUnknownOpcode);
  EXPECT_EQ(junk.error->offset, payload.size());
  EXPECT_EQ(GlobalNames(junk), Names{"os.getcwd"});
  ASSERT_EQ(junk.calls.size(), 1u);
  EXPECT_EQ(Repr(junk, junk.calls[0].result), "os.getcwd()");

  const PickleRun truncated = Exec(P(payload).op('X').raw("\x10\x00"));
  EXPECT_EQ(Code(truncated), code::kPickleTruncated);
  EXPECT_EQ(truncated.calls.size(), 1u);

  const PickleRun eof = Exec(payload);
  EXPECT_EQ(Code(eof), code::kPickleTruncated);
  EXPECT_EQ(eof.calls.size(), 1u);
}

TEST(PickleMachineThreats, B15TrailingBytesAreLeftAfterEndOffset) {
  const std::vector<uint8_t> bytes = P().none().stop().raw("\n\n\t\t").bytes();
  const PickleRun r = RunPickle(bytes, PickleLimits{});
  EXPECT_EQ(Loads(r), "None");
  EXPECT_EQ(r.end_offset, 2u);
  EXPECT_LT(r.end_offset, bytes.size());
}

TEST(PickleMachineThreats, B16ExpansionIsBoundedByTheValueLimit) {
  // [x]*N per level through BINGET: items are ids, not copies, and their growth is capped.
  PickleLimits limits;
  limits.max_values = 4096;
  P p;
  p.none().binput(0).pop();
  for (int level = 1; level <= 3; ++level) {
    p.empty_list().mark();
    for (int i = 0; i < 64; ++i) p.binget(static_cast<uint8_t>(level - 1));
    p.appends().binput(static_cast<uint8_t>(level)).pop();
  }
  p.binget(3).stop();
  const PickleRun r = Exec(p, limits);
  ASSERT_FALSE(r.error) << r.error->code;
  EXPECT_EQ(r.values.size(), 4u);  // None and three lists of 64 references each
  EXPECT_EQ(r.items(*r.result).size(), 64u);
  // One value referenced 100,000 times: refused long before memory grows with it.
  P q;
  q.none().binput(0).pop().empty_list();
  for (int i = 0; i < 100'000; ++i) q.binget(0).append();
  const PickleRun big = Exec(q.stop(), limits);
  EXPECT_EQ(Code(big), code::kPickleTooManyValues);
  EXPECT_EQ(big.error->kind, sealpkg::ErrorCode::kLimitExceeded);
  EXPECT_LE(big.item_arena.size(), 2 * limits.max_values);
}

// ---------------------------------------------------------------------------------------------
// Bookkeeping: opcodes used, first offsets, trace.

TEST(PickleMachineRecords, OpcodesUsedInOrderOfFirstUse) {
  const std::vector<uint8_t> bytes =
      P().proto(2).none().none().tuple2().none().pop().stop().bytes();
  const PickleRun r = RunPickle(bytes, PickleLimits{}, 0, /*trace=*/true);
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.opcodes, 7u);
  EXPECT_EQ(r.opcodes_used, (std::vector<uint8_t>{0x80, 'N', 0x86, '0', '.'}));
  EXPECT_EQ(r.opcodes_first_offset, (std::vector<uint64_t>{0, 2, 4, 6, 7}));
  ASSERT_EQ(r.trace.size(), 7u);
  EXPECT_EQ(r.trace[3], (std::pair<uint64_t, uint8_t>{4, 0x86}));
  EXPECT_TRUE(RunPickle(bytes, PickleLimits{}).trace.empty());
}

// ---------------------------------------------------------------------------------------------
// Limits: every PickleLimits field at N (accepted) and N+1 (rejected with its code).

TEST(PickleMachineLimits, MaxOpcodes) {
  PickleLimits limits;
  limits.max_opcodes = 10;
  const auto body = [](P p) {  // 10 opcodes after whatever `p` holds
    p.none();
    for (int i = 0; i < 4; ++i) p.dup().pop();
    return p.stop();
  };
  const PickleRun ok = Exec(body(P()), limits);
  EXPECT_EQ(Loads(ok), "None");
  EXPECT_EQ(ok.opcodes, 10u);
  const PickleRun over = Exec(body(P().proto(2)), limits);
  EXPECT_EQ(Code(over), code::kPickleTooManyOpcodes);
  EXPECT_EQ(over.error->kind, sealpkg::ErrorCode::kLimitExceeded);
  EXPECT_EQ(over.error->offset, 11u);  // the 11th opcode (STOP after PROTO 2)
  EXPECT_EQ(over.opcodes, 10u);
}

TEST(PickleMachineLimits, MaxStack) {
  PickleLimits limits;
  limits.max_stack = 8;
  const auto nones = [](int n) {
    P p;
    p.mark();
    for (int i = 0; i < n; ++i) p.none();
    return p.tuple().stop();
  };
  EXPECT_EQ(Loads(Exec(nones(8), limits)), "(None, None, None, None, None, None, None, None)");
  const PickleRun over = Exec(nones(9), limits);
  EXPECT_EQ(Code(over), code::kPickleStackTooDeep);
  EXPECT_EQ(over.error->kind, sealpkg::ErrorCode::kLimitExceeded);
  EXPECT_EQ(over.error->offset, 9u);
}

TEST(PickleMachineLimits, MaxMarks) {
  PickleLimits limits;
  limits.max_marks = 5;
  const auto marks = [](int n) {
    P p;
    p.none();
    for (int i = 0; i < n; ++i) p.mark();
    for (int i = 0; i < n; ++i) p.pop_mark();
    return p.stop();
  };
  EXPECT_EQ(Loads(Exec(marks(5), limits)), "None");
  const PickleRun over = Exec(marks(6), limits);
  EXPECT_EQ(Code(over), code::kPickleTooManyMarks);
  EXPECT_EQ(over.error->offset, 6u);
}

TEST(PickleMachineLimits, MaxMemo) {
  PickleLimits limits;
  limits.max_memo = 300;
  EXPECT_EQ(Loads(Exec(P().none().long_binput(299).stop(), limits)), "None");
  EXPECT_EQ(Loads(Exec(P().none().put("299").stop(), limits)), "None");
  EXPECT_EQ(Code(Exec(P().none().long_binput(300).stop(), limits)), code::kPickleMemoTooLarge);
  EXPECT_EQ(Code(Exec(P().none().put("300").stop(), limits)), code::kPickleMemoTooLarge);
  // Distinct entries through MEMOIZE: 300 fit, the 301st does not.
  const auto memoized = [](int n) {
    P p;
    p.proto(4).none();
    for (int i = 0; i < n; ++i) p.memoize();
    return p.stop();
  };
  EXPECT_EQ(Loads(Exec(memoized(300), limits)), "None");
  const PickleRun over = Exec(memoized(301), limits);
  EXPECT_EQ(Code(over), code::kPickleMemoTooLarge);
  EXPECT_EQ(over.error->kind, sealpkg::ErrorCode::kLimitExceeded);
  EXPECT_EQ(over.error->offset, 3u + 300u);
}

TEST(PickleMachineLimits, MaxArgumentBytes) {
  PickleLimits limits;
  limits.max_argument_bytes = 100;
  const std::string n(100, 'a'), n1(101, 'a');
  EXPECT_EQ(Loads(Exec(P().binunicode(n).stop(), limits)), "'" + n + "'");
  EXPECT_EQ(Code(Exec(P().binunicode(n1).stop(), limits)), code::kPickleArgumentTooLarge);
  EXPECT_EQ(Loads(Exec(P().proto(3).binbytes(n).stop(), limits)), "b'" + n + "'");
  EXPECT_EQ(Code(Exec(P().proto(3).binbytes(n1).stop(), limits)), code::kPickleArgumentTooLarge);
  EXPECT_EQ(Code(Exec(P().proto(5).bytearray8(n1).stop(), limits)), code::kPickleArgumentTooLarge);
  EXPECT_EQ(Loads(Exec(P().unicode(n).stop(), limits)), "'" + n + "'");
  EXPECT_EQ(Code(Exec(P().unicode(n1).stop(), limits)), code::kPickleArgumentTooLarge);
  EXPECT_EQ(Loads(Exec(P().string("'" + std::string(98, 'a') + "'").stop(), limits)),
            "'" + std::string(98, 'a') + "'");
  EXPECT_EQ(Code(Exec(P().string("'" + std::string(99, 'a') + "'").stop(), limits)),
            code::kPickleArgumentTooLarge);
  const std::string digits(100, '1');
  EXPECT_EQ(Loads(Exec(P().long_(digits).stop(), limits)), "<big>");
  EXPECT_EQ(Code(Exec(P().long_(digits + "1").stop(), limits)), code::kPickleArgumentTooLarge);
  EXPECT_EQ(Loads(Exec(P().proto(2).long4(n).stop(), limits)), "<big>");
  const PickleRun over = Exec(P().proto(2).long4(n1).stop(), limits);
  EXPECT_EQ(Code(over), code::kPickleArgumentTooLarge);
  EXPECT_EQ(over.error->kind, sealpkg::ErrorCode::kLimitExceeded);
  // The declared count is checked before the bytes are looked for.
  EXPECT_EQ(Code(Exec(P().op('X').le(101, 4), limits)), code::kPickleArgumentTooLarge);
}

TEST(PickleMachineLimits, MaxValues) {
  PickleLimits limits;
  limits.max_values = 5;
  const auto values = [](int nones) {  // nones + 1 values
    P p;
    p.mark();
    for (int i = 0; i < nones; ++i) p.none();
    return p.tuple().stop();
  };
  EXPECT_EQ(Loads(Exec(values(4), limits)), "(None, None, None, None)");
  const PickleRun over = Exec(values(5), limits);
  EXPECT_EQ(Code(over), code::kPickleTooManyValues);
  EXPECT_EQ(over.error->kind, sealpkg::ErrorCode::kLimitExceeded);
  EXPECT_EQ(over.values.size(), 5u);
}

// ---------------------------------------------------------------------------------------------
// Deep nesting: iterative, no recursion.

TEST(PickleMachineDepth, MillionDeepListsComplete) {
  constexpr int kDepth = 1'000'000;
  PickleLimits limits;
  limits.max_marks = kDepth;
  limits.max_stack = 2 * kDepth + 1;
  std::string s;
  s.reserve(3 * kDepth + 2);
  s += ']';
  for (int i = 0; i < kDepth; ++i) s += "(]";
  s.append(kDepth, 'e');
  s += '.';
  const std::vector<uint8_t> bytes(s.begin(), s.end());
  // No timing here (benchmarks live in bench/): a quadratic or recursive walk shows up as the
  // ctest timeout or a stack overflow.
  const PickleRun r = RunPickle(bytes, limits);
  ASSERT_FALSE(r.error) << r.error->code << " " << r.error->message;
  ASSERT_TRUE(r.result);
  // Walk the chain of single-item lists without recursion.
  uint32_t id = *r.result;
  int depth = 0;
  while (!r.items(id).empty()) {
    ASSERT_EQ(r.items(id).size(), 1u);
    id = r.items(id)[0];
    ++depth;
  }
  EXPECT_EQ(depth, kDepth);
  // With the default mark limit the same input is refused at MARK 4097.
  const PickleRun limited = RunPickle(bytes, PickleLimits{});
  EXPECT_EQ(Code(limited), code::kPickleTooManyMarks);
  EXPECT_EQ(limited.error->offset, 1u + 2u * 4096u);
}

TEST(PickleMachineDepth, MillionDeepMarksWithoutContainers) {
  constexpr int kDepth = 1'000'000;
  PickleLimits limits;
  limits.max_marks = kDepth;
  std::string s = "N";
  s.append(kDepth, '(');
  s.append(kDepth, '1');
  s += '.';
  const PickleRun r = RunPickle(std::vector<uint8_t>(s.begin(), s.end()), limits);
  EXPECT_EQ(Loads(r), "None");
}

}  // namespace
}  // namespace sealpkg::verifier
