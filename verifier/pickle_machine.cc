#include "verifier/pickle_machine.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

#include "core/byte_reader.h"
#include "core/printable.h"
#include "verifier/internal/compat_pickle.h"

namespace sealpkg::verifier {
namespace {

struct OpInfo {
  const char* name;
  int protocol;
};

// pickletools' names and the protocol that introduced each opcode.
constexpr std::array<OpInfo, 256> MakeOpTable() {
  std::array<OpInfo, 256> t{};
  for (auto& e : t) e = {"", -1};
  const auto set = [&t](uint8_t b, const char* name, int proto) { t[b] = {name, proto}; };
  set('(', "MARK", 0);
  set('.', "STOP", 0);
  set('0', "POP", 0);
  set('1', "POP_MARK", 1);
  set('2', "DUP", 0);
  set('F', "FLOAT", 0);
  set('I', "INT", 0);
  set('J', "BININT", 1);
  set('K', "BININT1", 1);
  set('L', "LONG", 0);
  set('M', "BININT2", 1);
  set('N', "NONE", 0);
  set('P', "PERSID", 0);
  set('Q', "BINPERSID", 1);
  set('R', "REDUCE", 0);
  set('S', "STRING", 0);
  set('T', "BINSTRING", 1);
  set('U', "SHORT_BINSTRING", 1);
  set('V', "UNICODE", 0);
  set('X', "BINUNICODE", 1);
  set('a', "APPEND", 0);
  set('b', "BUILD", 0);
  set('c', "GLOBAL", 0);
  set('d', "DICT", 0);
  set('}', "EMPTY_DICT", 1);
  set('e', "APPENDS", 1);
  set('g', "GET", 0);
  set('h', "BINGET", 1);
  set('i', "INST", 0);
  set('j', "LONG_BINGET", 1);
  set('l', "LIST", 0);
  set(']', "EMPTY_LIST", 1);
  set('o', "OBJ", 1);
  set('p', "PUT", 0);
  set('q', "BINPUT", 1);
  set('r', "LONG_BINPUT", 1);
  set('s', "SETITEM", 0);
  set('t', "TUPLE", 0);
  set(')', "EMPTY_TUPLE", 1);
  set('u', "SETITEMS", 1);
  set('G', "BINFLOAT", 1);
  set(0x80, "PROTO", 2);
  set(0x81, "NEWOBJ", 2);
  set(0x82, "EXT1", 2);
  set(0x83, "EXT2", 2);
  set(0x84, "EXT4", 2);
  set(0x85, "TUPLE1", 2);
  set(0x86, "TUPLE2", 2);
  set(0x87, "TUPLE3", 2);
  set(0x88, "NEWTRUE", 2);
  set(0x89, "NEWFALSE", 2);
  set(0x8a, "LONG1", 2);
  set(0x8b, "LONG4", 2);
  set('B', "BINBYTES", 3);
  set('C', "SHORT_BINBYTES", 3);
  set(0x8c, "SHORT_BINUNICODE", 4);
  set(0x8d, "BINUNICODE8", 4);
  set(0x8e, "BINBYTES8", 4);
  set(0x8f, "EMPTY_SET", 4);
  set(0x90, "ADDITEMS", 4);
  set(0x91, "FROZENSET", 4);
  set(0x92, "NEWOBJ_EX", 4);
  set(0x93, "STACK_GLOBAL", 4);
  set(0x94, "MEMOIZE", 4);
  set(0x95, "FRAME", 4);
  set(0x96, "BYTEARRAY8", 5);
  set(0x97, "NEXT_BUFFER", 5);
  set(0x98, "READONLY_BUFFER", 5);
  return t;
}

constexpr std::array<OpInfo, 256> kOps = MakeOpTable();
constexpr int kHighestProtocol = 5;

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Canonical decimal: "-"? then "0" or a non-zero digit followed by digits. Accepting only this
// subset avoids every disagreement between strtol(base 0), PyLong_FromString and int() (octal
// "010", hex "0x10", whitespace, '+', '_'): anything else is rejected, never guessed.
bool ParseCanonicalInt(std::string_view s, bool allow_negative, int64_t* value, bool* big) {
  bool negative = false;
  if (!s.empty() && s[0] == '-' && allow_negative) {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  // "-0": the C unpickler's INT reads it as False (strtol gives 0 for a 3-byte line), pickle.py
  // as the int 0. Canonical writers never produce it.
  if (negative && s == "0") return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  *big = s.size() > 18;
  int64_t v = 0;
  if (!*big) {
    for (char c : s) v = v * 10 + (c - '0');
  }
  *value = negative ? -v : v;
  return true;
}

// Whether some CPython unpickler might accept an INT/LONG/PUT/GET text argument that the
// canonical parser refused: strtol(base 0) and PyLong_FromString/int() take surrounding blanks,
// a sign, leading zeros, '_' and 0x/0o/0b prefixes. (Then the stream is a pickle to CPython.)
bool LooseIntText(std::string_view s) {
  const auto blank = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
  };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  if (!s.empty() && (s.back() == 'L' || s.back() == 'l')) s.remove_suffix(1);
  if (s.size() > 2 && s[0] == '0' &&
      std::string_view("xXoObB").find(s[1]) != std::string_view::npos) {
    s.remove_prefix(2);
  }
  bool digit = false;
  for (char c : s) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
      digit = true;
    } else if (c != '_') {
      return false;
    }
  }
  return digit;
}

// Float text as both PyOS_string_to_double and float() accept it (no '_', no spaces).
bool IsFloatText(std::string_view s) {
  if (s.empty()) return false;
  std::string lower;
  for (char c : s) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  std::string_view body = lower;
  if (body[0] == '+' || body[0] == '-') body.remove_prefix(1);
  if (body == "inf" || body == "infinity" || body == "nan") return true;
  bool digits = false;
  for (char c : body) {
    if (IsDigit(c)) {
      digits = true;
    } else if (c != '.' && c != 'e' && c != '+' && c != '-') {
      return false;
    }
  }
  return digits;
}

// UTF-8 as CPython decodes it with "surrogatepass": like IsValidUtf8 but lone surrogates (which
// a str may hold) are allowed.
bool IsUtf8SurrogatePass(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b == 0xED && i + 2 < s.size() && static_cast<uint8_t>(s[i + 1]) >= 0xA0 &&
        static_cast<uint8_t>(s[i + 1]) <= 0xBF && (static_cast<uint8_t>(s[i + 2]) & 0xC0) == 0x80) {
      i += 3;
      continue;
    }
    size_t len = 1;
    while (len <= 4 && i + len <= s.size() && !IsValidUtf8(s.substr(i, len))) ++len;
    if (len > 4 || i + len > s.size()) return false;
    i += len;
  }
  return true;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// codecs.escape_decode (the STRING opcode): Python bytes-literal escapes. Unknown escapes stay
// as written (CPython keeps them, with a DeprecationWarning). Returns false on a malformed \x.
bool EscapeDecode(std::string_view s, std::string* out) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      *out += s[i];
      continue;
    }
    if (++i == s.size()) return false;  // "Trailing \ in string"
    const char c = s[i];
    switch (c) {
      case '\n':
        break;
      case '\\':
      case '\'':
      case '"':
        *out += c;
        break;
      case 'a':
        *out += '\a';
        break;
      case 'b':
        *out += '\b';
        break;
      case 'f':
        *out += '\f';
        break;
      case 'n':
        *out += '\n';
        break;
      case 'r':
        *out += '\r';
        break;
      case 't':
        *out += '\t';
        break;
      case 'v':
        *out += '\v';
        break;
      case 'x': {
        // Exactly two hex digits must follow ("invalid \x escape" otherwise).
        if (i + 2 >= s.size()) return false;
        const int hi = HexValue(s[i + 1]);
        const int lo = HexValue(s[i + 2]);
        if (hi < 0 || lo < 0) return false;
        *out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          int v = c - '0';
          for (int k = 0; k < 2 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k) {
            v = v * 8 + (s[++i] - '0');
          }
          *out += static_cast<char>(v & 0xFF);
        } else {
          *out += '\\';
          *out += c;
        }
    }
  }
  return true;
}

// raw-unicode-escape (the UNICODE opcode): \uXXXX and \UXXXXXXXX escapes, other bytes Latin-1.
bool RawUnicodeEscapeDecode(std::string_view s, std::string* out) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b == '\\' && i + 1 < s.size() && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
      // An odd run of backslashes is an escape; CPython counts preceding backslashes too.
      size_t run = 0;
      for (size_t k = i; k > 0 && s[k - 1] == '\\'; --k) ++run;
      if (run % 2 == 0) {
        const size_t digits = s[i + 1] == 'u' ? 4 : 8;
        if (i + 2 + digits > s.size()) return false;
        uint32_t cp = 0;
        for (size_t k = 0; k < digits; ++k) {
          const int h = HexValue(s[i + 2 + k]);
          if (h < 0) return false;
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        if (cp > 0x10FFFF) return false;
        AppendUtf8(*out, cp);
        i += 1 + digits;
        continue;
      }
    }
    AppendUtf8(*out, b);
  }
  return true;
}

// A module or attribute path CPython could import / getattr: dotted identifiers. Non-ASCII
// identifier characters are allowed (Python 3 identifiers), control characters are not.
bool IsDottedIdentifier(std::string_view s) {
  if (s.empty()) return false;
  bool start = true;
  for (char ch : s) {
    const auto c = static_cast<uint8_t>(ch);
    if (c == '.') {
      if (start) return false;
      start = true;
      continue;
    }
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    if (!(alpha || (!start && IsDigit(static_cast<char>(c))))) return false;
    start = false;
  }
  return !start;
}

class Machine {
 public:
  Machine(std::span<const uint8_t> bytes, const PickleLimits& limits, uint64_t start, bool trace)
      : in_(bytes), limits_(limits), pos_(start), trace_(trace) {
    run_.end_offset = start;
    // Most opcodes create a value; reserve for the common case to avoid regrowth.
    const uint64_t expected = std::min<uint64_t>(
        (bytes.size() - std::min<uint64_t>(start, bytes.size())) / 4 + 16, limits.max_values);
    run_.values.reserve(expected);
    stack_.reserve(64);
  }

  PickleRun Run() {
    while (!run_.stopped && !run_.error) {
      if (!Step()) break;
    }
    run_.end_offset = pos_;
    return std::move(run_);
  }

 private:
  // ---- findings ----
  bool Fail(std::string_view code, ErrorCode kind, std::string message) {
    if (!run_.error) {
      // Where sealpkg is stricter than CPython (limits, frame and buffer rules, non-tuple
      // arguments the Python unpickler accepts, extension codes a process may have registered),
      // CPython may go on executing the stream: it must never pass for "not a pickle".
      run_.cpython_may_continue = kind == ErrorCode::kLimitExceeded || code == code::kPickleFrame ||
                                  code == code::kPickleOutOfBand ||
                                  code == code::kPickleTypeError ||
                                  code == code::kPickleExtension || cpython_may_accept_argument_;
      Finding f;
      f.code = std::string(code);
      f.kind = kind;
      f.offset = op_offset_;
      f.construct = std::string(kOps[static_cast<uint8_t>(op_)].name);
      f.rule = "pickle machine";
      f.message = std::move(message);
      run_.error = std::move(f);
    }
    return false;
  }
  bool Malformed(std::string_view code, std::string message) {
    return Fail(code, ErrorCode::kMalformed, std::move(message));
  }
  bool Limit(std::string_view code, std::string message) {
    return Fail(code, ErrorCode::kLimitExceeded, std::move(message));
  }

  // ---- input, with FRAME enforcement ----
  // All bytes of the current opcode must lie within `limit_` (the frame's end inside a frame).
  bool Read(uint64_t n, std::span<const uint8_t>* out) {
    if (!RangeFits(pos_, n, limit_)) {
      if (in_frame_) {
        return Malformed(code::kPickleFrame,
                         "opcode argument runs past the end of its FRAME (readers disagree on "
                         "such streams)");
      }
      return Malformed(code::kPickleTruncated, "pickle data was truncated");
    }
    *out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

  bool ReadUInt(int width, uint64_t* v) {
    std::span<const uint8_t> b;
    if (!Read(static_cast<uint64_t>(width), &b)) return false;
    uint64_t x = 0;
    for (int i = width - 1; i >= 0; --i) x = (x << 8) | b[static_cast<size_t>(i)];
    *v = x;
    return true;
  }

  // A '\n'-terminated line (without the '\n').
  bool ReadLine(std::string_view* line) {
    for (uint64_t i = pos_; i < limit_; ++i) {
      if (in_[i] == '\n') {
        *line = std::string_view(reinterpret_cast<const char*>(in_.data()) + pos_, i - pos_);
        pos_ = i + 1;
        if (line->size() > limits_.max_argument_bytes) {
          return Limit(
              code::kPickleArgumentTooLarge,
              "text argument of " + std::to_string(line->size()) + " bytes is over the limit");
        }
        return true;
      }
    }
    if (in_frame_ && limit_ < in_.size()) {
      return Malformed(code::kPickleFrame, "text argument runs past the end of its FRAME");
    }
    return Malformed(code::kPickleTruncated, "pickle data was truncated (no end of line)");
  }

  bool CheckArgumentSize(uint64_t n) {
    if (n > limits_.max_argument_bytes) {
      return Limit(code::kPickleArgumentTooLarge, "argument of " + std::to_string(n) +
                                                      " bytes is over the limit of " +
                                                      std::to_string(limits_.max_argument_bytes));
    }
    return true;
  }

  // ---- values ----
  bool NewValue(Value v, uint32_t* id) {
    if (run_.values.size() >= limits_.max_values) {
      return Limit(code::kPickleTooManyValues,
                   "pickle creates more than " + std::to_string(limits_.max_values) + " values");
    }
    v.offset = op_offset_;
    *id = static_cast<uint32_t>(run_.values.size());
    run_.values.push_back(v);
    return true;
  }

  // Text produced by decoding (escapes): kept alive by the run itself.
  bool NewDecodedText(std::string decoded, uint32_t* id) {
    if (decoded.size() > kMaxKeptText) return NewText(ValueKind::kStr, {}, decoded.size(), id);
    run_.decoded.push_back(std::move(decoded));
    return NewText(ValueKind::kStr, run_.decoded.back(), run_.decoded.back().size(), id);
  }

  // `content` must point into the input bytes (or into run_.decoded).
  bool NewText(ValueKind kind, std::string_view content, uint64_t length, uint32_t* id) {
    Value v;
    v.kind = kind;
    v.integer = static_cast<int64_t>(length);
    v.big = length > kMaxKeptText;
    v.ref = static_cast<uint32_t>(run_.texts.size());
    if (!NewValue(v, id)) return false;
    run_.texts.push_back(v.big ? std::string_view() : content);
    return true;
  }

  bool NewContainer(ValueKind kind, std::span<const uint32_t> items, uint32_t* id) {
    Value v;
    v.kind = kind;
    v.ref = static_cast<uint32_t>(run_.containers.size());
    if (!NewValue(v, id)) return false;
    ContainerSlot slot;
    slot.begin = static_cast<uint32_t>(run_.item_arena.size());
    slot.size = slot.capacity = static_cast<uint32_t>(items.size());
    run_.item_arena.insert(run_.item_arena.end(), items.begin(), items.end());
    run_.containers.push_back(slot);
    return true;
  }

  // Appends to a container; a full one moves to the arena's end with doubled capacity, so the
  // arena holds at most about twice the live items.
  void AppendItems(ContainerSlot& slot, std::span<const uint32_t> items) {
    if (slot.size + items.size() > slot.capacity) {
      const auto capacity = static_cast<uint32_t>(
          std::max<uint64_t>({4, 2ull * slot.capacity, slot.size + items.size()}));
      const auto begin = static_cast<uint32_t>(run_.item_arena.size());
      run_.item_arena.resize(run_.item_arena.size() + capacity);
      std::copy_n(run_.item_arena.begin() + slot.begin, slot.size, run_.item_arena.begin() + begin);
      slot.begin = begin;
      slot.capacity = capacity;
    }
    std::copy(items.begin(), items.end(), run_.item_arena.begin() + slot.begin + slot.size);
    slot.size += static_cast<uint32_t>(items.size());
  }

  bool NewInt(int64_t x, bool big, uint32_t* id, ValueKind kind = ValueKind::kInt) {
    Value v;
    v.kind = kind;
    v.integer = x;
    v.big = big;
    return NewValue(v, id);
  }

  // ---- stack (CPython's fence: nothing below the innermost MARK may be popped) ----
  uint64_t Fence() const { return marks_.empty() ? 0 : marks_.back(); }

  bool Push(uint32_t id) {
    if (stack_.size() >= limits_.max_stack) {
      return Limit(code::kPickleStackTooDeep,
                   "stack deeper than " + std::to_string(limits_.max_stack));
    }
    stack_.push_back(id);
    return true;
  }

  bool Pop(uint32_t* id) {
    if (stack_.size() <= Fence()) {
      return Malformed(code::kPickleStackUnderflow, "unpickling stack underflow");
    }
    *id = stack_.back();
    stack_.pop_back();
    return true;
  }

  bool Top(uint32_t* id) {
    if (stack_.size() <= Fence()) {
      return Malformed(code::kPickleStackUnderflow, "unpickling stack underflow");
    }
    *id = stack_.back();
    return true;
  }

  // Pops the innermost MARK and everything above it.
  bool PopMark(std::vector<uint32_t>* items) {
    if (marks_.empty()) return Malformed(code::kPickleMarkMissing, "could not find MARK");
    const uint64_t mark = marks_.back();
    marks_.pop_back();
    items->assign(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return true;
  }

  bool IsKind(uint32_t id, ValueKind kind) const { return run_.values[id].kind == kind; }

  bool TypeError(std::string message) {
    return Malformed(code::kPickleTypeError, std::move(message));
  }

  // ---- names ----
  bool ResolveGlobal(std::string module, std::string name, uint32_t* id) {
    GlobalRef g;
    g.written = module + " " + name;
    // security: a name no import could succeed on is rejected rather than guessed at.
    if (!IsDottedIdentifier(module) || !IsDottedIdentifier(name)) {
      return Malformed(code::kPickleBadArgument,
                       "global '" + Printable(g.written) + "' is not a module and attribute name");
    }
    if (run_.protocol < 3) g.renamed = internal::ApplyCompatRename(module, name);
    g.full = module + "." + name;
    g.module = std::move(module);
    g.name = std::move(name);
    g.offset = op_offset_;
    g.op = op_;
    Value v;
    v.kind = ValueKind::kGlobal;
    v.ref = static_cast<uint32_t>(run_.globals.size());
    if (!NewValue(v, id)) return false;
    run_.globals.push_back(std::move(g));
    return true;
  }

  bool Call(CallSite::Kind kind, uint32_t callee, uint32_t args, std::optional<uint32_t> kwargs,
            bool produces, uint32_t* result) {
    CallSite c;
    c.kind = kind;
    c.op = op_;
    c.offset = op_offset_;
    c.callee = callee;
    c.args = args;
    c.kwargs = kwargs;
    if (produces) {
      Value v;
      v.kind =
          kind == CallSite::Kind::kPersistentLoad ? ValueKind::kPersistent : ValueKind::kCallResult;
      v.ref = static_cast<uint32_t>(run_.calls.size());
      if (!NewValue(v, result)) return false;
      c.result = *result;
    }
    run_.calls.push_back(c);
    return true;
  }

  // ---- memo ----
  bool MemoPut(uint64_t index) {
    uint32_t id = 0;
    if (!Top(&id)) return false;
    if (index >= limits_.max_memo) {
      return Limit(code::kPickleMemoTooLarge,
                   "memo index " + std::to_string(index) + " is over the limit");
    }
    if (index >= memo_.size()) memo_.resize(index + 1, kNoMemo);
    if (memo_[index] == kNoMemo) ++memo_count_;
    memo_[index] = id;
    return true;
  }

  bool MemoGet(uint64_t index) {
    if (index >= memo_.size() || memo_[index] == kNoMemo) {
      return Malformed(code::kPickleMemoMissing,
                       "memo value not found at index " + std::to_string(index));
    }
    return Push(memo_[index]);
  }

  // ---- one opcode ----
  bool Step() {
    op_offset_ = pos_;
    if (in_frame_ && pos_ >= frame_end_) in_frame_ = false;
    limit_ = in_frame_ ? frame_end_ : in_.size();
    if (pos_ >= in_.size()) return Malformed(code::kPickleTruncated, "pickle data was truncated");
    if (run_.opcodes >= limits_.max_opcodes) {
      return Limit(code::kPickleTooManyOpcodes,
                   "more than " + std::to_string(limits_.max_opcodes) + " opcodes");
    }
    ++run_.opcodes;
    const uint8_t byte = in_[pos_++];
    op_ = static_cast<Op>(byte);
    if (trace_) run_.trace.emplace_back(op_offset_, byte);
    if (kOps[byte].protocol < 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", byte);
      return Malformed(code::kPickleUnknownOpcode, std::string("invalid load key ") + hex);
    }
    if (!seen_[byte]) {
      seen_[byte] = true;
      run_.opcodes_used.push_back(byte);
      run_.opcodes_first_offset.push_back(op_offset_);
    }
    return Execute();
  }

  bool Execute() {
    uint32_t id = 0;
    uint64_t u = 0;
    std::span<const uint8_t> b;
    std::string_view line;
    switch (op_) {
      case Op::kProto:
        if (!ReadUInt(1, &u)) return false;
        if (u > kHighestProtocol) {
          return Malformed(code::kPickleBadProtocol,
                           "unsupported pickle protocol: " + std::to_string(u));
        }
        run_.protocol = static_cast<int>(u);  // find_class uses the latest PROTO
        if (run_.protocol > run_.highest_protocol) run_.highest_protocol = run_.protocol;
        return true;
      case Op::kFrame: {
        if (!ReadUInt(8, &u)) return false;
        // A new frame may begin only when the current one is exhausted (pickle.py's rule; the
        // FRAME opcode and its count may be the current frame's last bytes).
        if (in_frame_ && pos_ < frame_end_) {
          return Malformed(code::kPickleFrame,
                           "beginning of a new frame before end of current frame");
        }
        // pickle.py accepts a short last frame, the C unpickler does not: refuse the difference.
        if (!RangeFits(pos_, u, in_.size())) {
          return Malformed(code::kPickleFrame, "FRAME runs past the end of the data");
        }
        in_frame_ = true;
        frame_end_ = pos_ + u;
        return true;
      }
      case Op::kStop: {
        if (!Pop(&id)) return false;
        run_.result = id;
        run_.stopped = true;
        if (!stack_.empty() || !marks_.empty()) {
          return Malformed(code::kPickleStackNotEmpty, std::to_string(stack_.size()) +
                                                           " values and " +
                                                           std::to_string(marks_.size()) +
                                                           " marks are left on the stack at STOP");
        }
        return true;
      }
      case Op::kMark:
        if (marks_.size() >= limits_.max_marks) {
          return Limit(code::kPickleTooManyMarks,
                       "more than " + std::to_string(limits_.max_marks) + " open MARKs");
        }
        marks_.push_back(stack_.size());
        return true;
      case Op::kPop:
        // CPython: POP on an empty (fenced) stack pops the MARK instead.
        if (stack_.size() > Fence()) {
          stack_.pop_back();
          return true;
        }
        if (!marks_.empty()) {
          marks_.pop_back();
          return true;
        }
        return Malformed(code::kPickleStackUnderflow, "unpickling stack underflow");
      case Op::kPopMark: {
        std::vector<uint32_t> items;
        return PopMark(&items);
      }
      case Op::kDup:
        return Top(&id) && Push(id);

      // ---- literals ----
      case Op::kNone:
        return NewValue(Value{}, &id) && Push(id);
      case Op::kNewTrue:
      case Op::kNewFalse:
        return NewInt(op_ == Op::kNewTrue, false, &id, ValueKind::kBool) && Push(id);
      case Op::kInt: {
        if (!ReadLine(&line)) return false;
        if (line == "00" || line == "01") {
          return NewInt(line == "01", false, &id, ValueKind::kBool) && Push(id);
        }
        int64_t x = 0;
        bool big = false;
        if (!ParseCanonicalInt(line, true, &x, &big)) {
          cpython_may_accept_argument_ = LooseIntText(line);
          return Malformed(code::kPickleBadArgument, "INT argument is not a canonical integer");
        }
        return NewInt(x, big, &id) && Push(id);
      }
      case Op::kLong: {
        if (!ReadLine(&line)) return false;
        if (!line.empty() && line.back() == 'L') line.remove_suffix(1);
        int64_t x = 0;
        bool big = false;
        if (!ParseCanonicalInt(line, true, &x, &big)) {
          cpython_may_accept_argument_ = LooseIntText(line);
          return Malformed(code::kPickleBadArgument, "LONG argument is not a canonical integer");
        }
        return NewInt(x, big, &id) && Push(id);
      }
      case Op::kBinInt:
        if (!ReadUInt(4, &u)) return false;
        return NewInt(static_cast<int32_t>(static_cast<uint32_t>(u)), false, &id) && Push(id);
      case Op::kBinInt1:
      case Op::kBinInt2:
        if (!ReadUInt(op_ == Op::kBinInt1 ? 1 : 2, &u)) return false;
        return NewInt(static_cast<int64_t>(u), false, &id) && Push(id);
      case Op::kLong1:
      case Op::kLong4: {
        if (!ReadUInt(op_ == Op::kLong1 ? 1 : 4, &u)) return false;
        if (op_ == Op::kLong4 && static_cast<int32_t>(static_cast<uint32_t>(u)) < 0) {
          return Malformed(code::kPickleBadArgument, "LONG pickle has negative byte count");
        }
        if (!CheckArgumentSize(u) || !Read(u, &b)) return false;
        // Two's complement, little-endian; more than 8 bytes is kept as "big".
        const bool big = b.size() > 8;
        uint64_t raw = 0;
        if (!big) {
          for (size_t i = b.size(); i-- > 0;) raw = (raw << 8) | b[i];
          if (!b.empty() && b.size() < 8 && (b.back() & 0x80) != 0) raw |= ~0ull << (8 * b.size());
        }
        const auto x = static_cast<int64_t>(raw);
        return NewInt(x, big, &id) && Push(id);
      }
      case Op::kFloat:
        if (!ReadLine(&line)) return false;
        if (!IsFloatText(line)) {
          cpython_may_accept_argument_ = line.find_first_of("0123456789") != std::string_view::npos;
          return Malformed(code::kPickleBadArgument, "FLOAT argument is not a float");
        }
        return NewValue(Value{.kind = ValueKind::kFloat}, &id) && Push(id);
      case Op::kBinFloat:
        if (!Read(8, &b)) return false;
        return NewValue(Value{.kind = ValueKind::kFloat}, &id) && Push(id);

      // ---- strings and bytes ----
      case Op::kString: {
        if (!ReadLine(&line)) return false;
        if (line.size() < 2 || line.front() != line.back() ||
            (line.front() != '\'' && line.front() != '"')) {
          return Malformed(code::kPickleBadArgument, "the STRING opcode argument must be quoted");
        }
        std::string decoded;
        if (!EscapeDecode(line.substr(1, line.size() - 2), &decoded)) {
          return Malformed(code::kPickleBadArgument, "invalid escape in STRING argument");
        }
        return NewDecodedText(std::move(decoded), &id) && Push(id);
      }
      case Op::kBinString:
      case Op::kShortBinString: {
        if (!ReadUInt(op_ == Op::kBinString ? 4 : 1, &u)) return false;
        if (op_ == Op::kBinString && static_cast<int32_t>(static_cast<uint32_t>(u)) < 0) {
          return Malformed(code::kPickleBadArgument, "BINSTRING pickle has negative byte count");
        }
        if (!CheckArgumentSize(u) || !Read(u, &b)) return false;
        // Decoded with the unpickler's encoding (ASCII by default, UTF-8 in torch.load).
        return NewText(ValueKind::kStr, AsText(b), u, &id) && Push(id);
      }
      case Op::kUnicode: {
        if (!ReadLine(&line)) return false;
        std::string decoded;
        if (!RawUnicodeEscapeDecode(line, &decoded)) {
          return Malformed(code::kPickleBadArgument, "invalid \\u escape in UNICODE argument");
        }
        return NewDecodedText(std::move(decoded), &id) && Push(id);
      }
      case Op::kBinUnicode:
      case Op::kShortBinUnicode:
      case Op::kBinUnicode8: {
        const int width = op_ == Op::kShortBinUnicode ? 1 : op_ == Op::kBinUnicode ? 4 : 8;
        if (!ReadUInt(width, &u) || !CheckArgumentSize(u) || !Read(u, &b)) return false;
        if (!IsUtf8SurrogatePass(AsText(b))) {
          return Malformed(code::kPickleBadArgument, "string argument is not valid UTF-8");
        }
        return NewText(ValueKind::kStr, AsText(b), u, &id) && Push(id);
      }
      case Op::kBinBytes:
      case Op::kShortBinBytes:
      case Op::kBinBytes8:
      case Op::kByteArray8: {
        const int width = op_ == Op::kShortBinBytes ? 1 : op_ == Op::kBinBytes ? 4 : 8;
        if (!ReadUInt(width, &u) || !CheckArgumentSize(u) || !Read(u, &b)) return false;
        return NewText(op_ == Op::kByteArray8 ? ValueKind::kByteArray : ValueKind::kBytes,
                       AsText(b), u, &id) &&
               Push(id);
      }
      case Op::kNextBuffer:
      case Op::kReadOnlyBuffer:
        return Malformed(code::kPickleOutOfBand,
                         "pickle refers to out-of-band buffers, which no loader here supplies");

      // ---- containers ----
      case Op::kEmptyTuple:
      case Op::kEmptyList:
      case Op::kEmptyDict:
      case Op::kEmptySet: {
        const ValueKind kind = op_ == Op::kEmptyTuple  ? ValueKind::kTuple
                               : op_ == Op::kEmptyList ? ValueKind::kList
                               : op_ == Op::kEmptyDict ? ValueKind::kDict
                                                       : ValueKind::kSet;
        return NewContainer(kind, std::span<const uint32_t>(), &id) && Push(id);
      }
      case Op::kTuple1:
      case Op::kTuple2:
      case Op::kTuple3: {
        const size_t n = op_ == Op::kTuple1 ? 1 : op_ == Op::kTuple2 ? 2 : 3;
        if (stack_.size() < Fence() + n) {
          return Malformed(code::kPickleStackUnderflow, "unpickling stack underflow");
        }
        std::vector<uint32_t> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
        stack_.resize(stack_.size() - n);
        return NewContainer(ValueKind::kTuple, std::move(items), &id) && Push(id);
      }
      case Op::kTuple:
      case Op::kList:
      case Op::kDict:
      case Op::kFrozenSet: {
        std::vector<uint32_t> items;
        if (!PopMark(&items)) return false;
        if (op_ == Op::kDict && items.size() % 2 != 0) {
          return TypeError("odd number of items for DICT");
        }
        const ValueKind kind = op_ == Op::kTuple  ? ValueKind::kTuple
                               : op_ == Op::kList ? ValueKind::kList
                               : op_ == Op::kDict ? ValueKind::kDict
                                                  : ValueKind::kFrozenSet;
        return NewContainer(kind, std::move(items), &id) && Push(id);
      }
      case Op::kAppend: {
        uint32_t item = 0, target = 0;
        if (!Pop(&item) || !Top(&target)) return false;
        const uint32_t one[1] = {item};
        return AddItems(target, one, ValueKind::kList);
      }
      case Op::kSetItem: {
        uint32_t key = 0, value = 0, target = 0;
        if (!Pop(&value) || !Pop(&key) || !Top(&target)) return false;
        const uint32_t pair[2] = {key, value};
        return AddItems(target, pair, ValueKind::kDict);
      }
      case Op::kAppends:
      case Op::kSetItems:
      case Op::kAddItems: {
        std::vector<uint32_t> items;
        uint32_t target = 0;
        if (!PopMark(&items) || !Top(&target)) return false;
        if (op_ == Op::kSetItems && items.size() % 2 != 0) {
          return TypeError("odd number of items for SETITEMS");
        }
        if (items.empty()) return true;  // CPython does nothing for an empty batch
        const ValueKind kind = op_ == Op::kAppends    ? ValueKind::kList
                               : op_ == Op::kSetItems ? ValueKind::kDict
                                                      : ValueKind::kSet;
        return AddItems(target, std::move(items), kind);
      }

      // ---- memo ----
      case Op::kPut: {
        if (!ReadLine(&line)) return false;
        int64_t x = 0;
        bool big = false;
        if (!ParseCanonicalInt(line, false, &x, &big) || big) {
          cpython_may_accept_argument_ = LooseIntText(line);
          return Malformed(code::kPickleBadMemoIndex, "PUT argument is not a memo index");
        }
        return MemoPut(static_cast<uint64_t>(x));
      }
      case Op::kBinPut:
      case Op::kLongBinPut:
        if (!ReadUInt(op_ == Op::kBinPut ? 1 : 4, &u)) return false;
        return MemoPut(u);
      case Op::kMemoize:
        return MemoPut(memo_count_);  // CPython: the number of memo entries
      case Op::kGet: {
        if (!ReadLine(&line)) return false;
        int64_t x = 0;
        bool big = false;
        if (!ParseCanonicalInt(line, false, &x, &big) || big) {
          cpython_may_accept_argument_ = LooseIntText(line);
          return Malformed(code::kPickleBadMemoIndex, "GET argument is not a memo index");
        }
        return MemoGet(static_cast<uint64_t>(x));
      }
      case Op::kBinGet:
      case Op::kLongBinGet:
        if (!ReadUInt(op_ == Op::kBinGet ? 1 : 4, &u)) return false;
        return MemoGet(u);

      // ---- names and calls ----
      case Op::kGlobal:
      case Op::kInst: {
        std::string_view module, name;
        if (!ReadLine(&module) || !ReadLine(&name)) return false;
        if (!IsValidUtf8(module) || !IsValidUtf8(name)) {
          return Malformed(code::kPickleBadArgument, "global name is not valid UTF-8");
        }
        uint32_t cls = 0;
        if (!ResolveGlobal(std::string(module), std::string(name), &cls)) return false;
        if (op_ == Op::kGlobal) return Push(cls);
        std::vector<uint32_t> items;
        uint32_t args = 0, result = 0;
        return PopMark(&items) && NewContainer(ValueKind::kTuple, std::move(items), &args) &&
               Call(CallSite::Kind::kCall, cls, args, std::nullopt, true, &result) && Push(result);
      }
      case Op::kStackGlobal: {
        uint32_t name = 0, module = 0;
        if (!Pop(&name) || !Pop(&module)) return false;
        // security: the operands must be literal strings from this stream; anything computed
        // (a call result, a module attribute rewritten by BUILD) is rejected.
        if (!IsKind(name, ValueKind::kStr) || !IsKind(module, ValueKind::kStr)) {
          return Malformed(code::kPickleNonLiteralGlobal,
                           "STACK_GLOBAL operands are not literal strings");
        }
        if (run_.values[name].big || run_.values[module].big) {
          return Malformed(code::kPickleBadArgument, "STACK_GLOBAL operand is too long");
        }
        return ResolveGlobal(std::string(run_.text(module)), std::string(run_.text(name)), &id) &&
               Push(id);
      }
      case Op::kReduce: {
        uint32_t args = 0, callee = 0;
        if (!Pop(&args) || !Top(&callee)) return false;
        // CPython's C unpickler requires a tuple; the Python one accepts any iterable.
        if (!IsKind(args, ValueKind::kTuple)) return TypeError("REDUCE arguments are not a tuple");
        stack_.pop_back();
        return Call(CallSite::Kind::kCall, callee, args, std::nullopt, true, &id) && Push(id);
      }
      case Op::kNewObj: {
        uint32_t args = 0, cls = 0;
        if (!Pop(&args) || !Pop(&cls)) return false;
        if (!IsKind(args, ValueKind::kTuple)) return TypeError("NEWOBJ expected an arg tuple");
        return Call(CallSite::Kind::kCall, cls, args, std::nullopt, true, &id) && Push(id);
      }
      case Op::kNewObjEx: {
        uint32_t kwargs = 0, args = 0, cls = 0;
        if (!Pop(&kwargs) || !Pop(&args) || !Pop(&cls)) return false;
        if (!IsKind(args, ValueKind::kTuple)) return TypeError("NEWOBJ_EX args must be a tuple");
        if (!IsKind(kwargs, ValueKind::kDict)) return TypeError("NEWOBJ_EX kwargs must be a dict");
        return Call(CallSite::Kind::kCall, cls, args, kwargs, true, &id) && Push(id);
      }
      case Op::kObj: {
        std::vector<uint32_t> items;
        if (!PopMark(&items)) return false;
        if (items.empty()) return Malformed(code::kPickleStackUnderflow, "OBJ without a class");
        const uint32_t cls = items.front();
        items.erase(items.begin());
        uint32_t args = 0;
        return NewContainer(ValueKind::kTuple, std::move(items), &args) &&
               Call(CallSite::Kind::kCall, cls, args, std::nullopt, true, &id) && Push(id);
      }
      case Op::kBuild: {
        uint32_t state = 0, target = 0;
        if (!Pop(&state) || !Top(&target)) return false;
        return Call(CallSite::Kind::kBuild, target, state, std::nullopt, false, &id);
      }
      case Op::kPersId: {
        if (!ReadLine(&line)) return false;
        for (char c : line) {
          if (static_cast<uint8_t>(c) >= 0x80) {
            return Malformed(code::kPickleBadArgument,
                             "persistent IDs in protocol 0 must be "
                             "ASCII strings");
          }
        }
        uint32_t pid = 0;
        return NewText(ValueKind::kStr, line, line.size(), &pid) &&
               Call(CallSite::Kind::kPersistentLoad, pid, pid, std::nullopt, true, &id) && Push(id);
      }
      case Op::kBinPersId: {
        uint32_t pid = 0;
        if (!Pop(&pid)) return false;
        return Call(CallSite::Kind::kPersistentLoad, pid, pid, std::nullopt, true, &id) && Push(id);
      }
      case Op::kExt1:
      case Op::kExt2:
      case Op::kExt4: {
        const int width = op_ == Op::kExt1 ? 1 : op_ == Op::kExt2 ? 2 : 4;
        if (!ReadUInt(width, &u)) return false;
        return Fail(code::kPickleExtension, ErrorCode::kPolicyDenied,
                    "extension code " + std::to_string(u) +
                        " refers to the copyreg extension registry, which no policy supplies");
      }
    }
    return Malformed(code::kPickleUnknownOpcode, "unhandled opcode");
  }

  // APPEND(S)/SETITEM(S)/ADDITEMS: extend a container of the right kind, or record a method
  // call on anything else (CPython calls its append/extend/__setitem__/add).
  bool AddItems(uint32_t target, std::span<const uint32_t> items, ValueKind kind) {
    if (IsKind(target, kind)) {
      ContainerSlot& slot = run_.containers[run_.values[target].ref];
      if (run_.item_arena.size() + 2 * (slot.size + items.size()) > limits_.max_values) {
        return Limit(code::kPickleTooManyValues, "containers grow past the value limit");
      }
      AppendItems(slot, items);
      return true;
    }
    uint32_t first = items.front(), unused;
    return Call(CallSite::Kind::kMutate, target, first, std::nullopt, false, &unused);
  }

  static std::string_view AsText(std::span<const uint8_t> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }

  std::span<const uint8_t> in_;
  const PickleLimits& limits_;
  uint64_t pos_;
  bool trace_;
  bool cpython_may_accept_argument_ = false;  // set just before a strict argument rejection
  uint64_t op_offset_ = 0;
  Op op_ = Op::kStop;
  uint64_t limit_ = 0;
  bool in_frame_ = false;
  uint64_t frame_end_ = 0;
  std::vector<uint32_t> stack_;
  std::vector<uint64_t> marks_;
  // Memo by index (indices are bounded by max_memo, so a dense vector is fine).
  static constexpr uint32_t kNoMemo = UINT32_MAX;
  std::vector<uint32_t> memo_;
  uint64_t memo_count_ = 0;
  std::array<bool, 256> seen_{};
  PickleRun run_;
};

}  // namespace

std::string_view OpName(uint8_t byte) {
  return kOps[byte].name;
}
int OpProtocol(Op op) {
  return kOps[static_cast<uint8_t>(op)].protocol;
}

std::string_view ValueKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNone:
      return "None";
    case ValueKind::kBool:
      return "bool";
    case ValueKind::kInt:
      return "int";
    case ValueKind::kFloat:
      return "float";
    case ValueKind::kStr:
      return "str";
    case ValueKind::kBytes:
      return "bytes";
    case ValueKind::kByteArray:
      return "bytearray";
    case ValueKind::kTuple:
      return "tuple";
    case ValueKind::kList:
      return "list";
    case ValueKind::kDict:
      return "dict";
    case ValueKind::kSet:
      return "set";
    case ValueKind::kFrozenSet:
      return "frozenset";
    case ValueKind::kGlobal:
      return "global";
    case ValueKind::kCallResult:
      return "object";
    case ValueKind::kPersistent:
      return "persistent object";
  }
  return "?";
}

std::string_view PickleRun::text(uint32_t id) const {
  const Value& v = values[id];
  if ((v.kind != ValueKind::kStr && v.kind != ValueKind::kBytes &&
       v.kind != ValueKind::kByteArray) ||
      v.big) {
    return {};
  }
  return texts[v.ref];
}

std::span<const uint32_t> PickleRun::items(uint32_t id) const {
  const Value& v = values[id];
  switch (v.kind) {
    case ValueKind::kTuple:
    case ValueKind::kList:
    case ValueKind::kDict:
    case ValueKind::kSet:
    case ValueKind::kFrozenSet: {
      const ContainerSlot& slot = containers[v.ref];
      return std::span<const uint32_t>(item_arena).subspan(slot.begin, slot.size);
    }
    default:
      return {};
  }
}

PickleRun RunPickle(std::span<const uint8_t> bytes, const PickleLimits& limits, uint64_t start,
                    bool trace) {
  return Machine(bytes, limits, start, trace).Run();
}

}  // namespace sealpkg::verifier
