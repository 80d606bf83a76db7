// import_scanner: arbitrary bytes -> sealpkg::verifier::ScanPythonSource (verifier/
// import_scanner.h) and the tokenizer under it (verifier/internal/python_tokenizer.h).
//
// Input: byte 0 picks the module (bit 0: is_package; bits 1-2: "mod", "pkg.mod", "a.b.c.d" or
// ""); the rest is the Python source.
//
// Invariants (each violation calls abort()):
//   - neither the scanner nor the tokenizer returns kInternal; a rejection is kMalformed
//     "source.syntax" whose message starts with "line L, column C: " (1 <= L <= the source's
//     line count, C >= 1), or kLimitExceeded "source.too-large";
//   - when the tokenizer rejects the source the scanner rejects it with the same status;
//   - an accepted source's tokens lie within the decoded text in increasing order, brackets
//     and f-strings are paired both ways, and every token's line is within the line count;
//   - every import and use of an accepted source has 1 <= line <= the source's line count
//     (line ends: "\n", "\r\n", "\r"), column >= 1, and both lists are in source order;
//   - every import's module is a non-empty dotted name of identifier parts, its name (if any)
//     is non-empty;
//   - scanning is deterministic, and a source accepted under tight limits is accepted under
//     the defaults with exactly the same result.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

#include "core/limits.h"
#include "core/printable.h"
#include "core/status.h"
#include "verifier/import_scanner.h"
#include "verifier/internal/python_tokenizer.h"

namespace {

using sealpkg::ErrorCode;
using sealpkg::Status;
using sealpkg::verifier::DynamicUse;
using sealpkg::verifier::ImportRef;
using sealpkg::verifier::SourcePosition;
using sealpkg::verifier::SourceScan;

[[noreturn]] void Fail(const char* what, std::string_view source, std::string_view detail) {
  std::fprintf(
      stderr, "import_scanner_fuzzer: invariant violated: %s\n  source: '%s'\n  detail: '%s'\n",
      what, sealpkg::Printable(source.substr(0, 2000)).c_str(), sealpkg::Printable(detail).c_str());
  std::abort();
}

// Lines of the raw source, counting "\r\n", "\r" and "\n" as line ends (an upper bound on any
// decoding's line count).
uint64_t LineCount(std::string_view s) {
  uint64_t lines = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') {
      ++lines;
    } else if (s[i] == '\r') {
      ++lines;
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    }
  }
  return lines;
}

bool IsIdentifierPart(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsDottedName(std::string_view s) {
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    if (!IsIdentifierPart(s.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

void CheckRejection(const Status& st, std::string_view source, uint64_t lines) {
  if (st.code() == ErrorCode::kInternal) Fail("kInternal", source, st.ToString());
  if (st.code() == ErrorCode::kLimitExceeded) {
    if (st.reason() != "source.too-large") Fail("limit with another reason", source, st.ToString());
    return;
  }
  if (st.code() != ErrorCode::kMalformed || st.reason() != "source.syntax") {
    Fail("rejection with another code or reason", source, st.ToString());
  }
  unsigned long long line = 0, column = 0;
  int consumed = 0;
  const std::string message(st.message());
  if (std::sscanf(message.c_str(), "line %llu, column %llu: %n", &line, &column, &consumed) != 2 ||
      consumed == 0) {
    Fail("syntax error without 'line L, column C: '", source, message);
  }
  if (line < 1 || line > lines || column < 1)
    Fail("syntax error position out of range", source, message);
}

void CheckPosition(const SourcePosition& pos, SourcePosition& last, std::string_view source,
                   uint64_t lines, const char* what) {
  if (pos.line < 1 || pos.line > lines || pos.column < 1) {
    Fail(what, source, std::to_string(pos.line) + ":" + std::to_string(pos.column));
  }
  if (std::tie(pos.line, pos.column) < std::tie(last.line, last.column)) {
    Fail("items not in source order", source,
         std::to_string(pos.line) + ":" + std::to_string(pos.column));
  }
  last = pos;
}

bool SameScan(const SourceScan& a, const SourceScan& b) {
  if (a.imports.size() != b.imports.size() || a.uses.size() != b.uses.size()) return false;
  for (size_t i = 0; i < a.imports.size(); ++i) {
    const ImportRef& x = a.imports[i];
    const ImportRef& y = b.imports[i];
    if (x.kind != y.kind || x.module != y.module || x.name != y.name || x.level != y.level ||
        x.pos.line != y.pos.line || x.pos.column != y.pos.column) {
      return false;
    }
  }
  for (size_t i = 0; i < a.uses.size(); ++i) {
    const DynamicUse& x = a.uses[i];
    const DynamicUse& y = b.uses[i];
    if (x.kind != y.kind || x.module != y.module || x.name != y.name || x.pos.line != y.pos.line ||
        x.pos.column != y.pos.column) {
      return false;
    }
  }
  return true;
}

void CheckTokens(const sealpkg::verifier::internal::TokenizedSource& t, std::string_view source,
                 uint64_t lines) {
  using sealpkg::verifier::internal::kNoPartner;
  uint32_t last_begin = 0;
  for (size_t i = 0; i < t.tokens.size(); ++i) {
    const auto& tok = t.tokens[i];
    if (tok.begin > tok.end || tok.end > t.text.size()) Fail("token outside the text", source, "");
    if (tok.begin < last_begin) Fail("tokens out of order", source, std::to_string(i));
    last_begin = tok.begin;
    if (tok.line < 1 || tok.line > lines || tok.column < 1) Fail("token position", source, "");
    if (tok.partner != kNoPartner &&
        (tok.partner >= t.tokens.size() || t.tokens[tok.partner].partner != i)) {
      Fail("unpaired bracket", source, std::to_string(i));
    }
  }
  if (t.line_count > lines) Fail("decoded text has more lines than the source", source, "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kModules[] = {"mod", "pkg.mod", "a.b.c.d", ""};
  const bool is_package = (data[0] & 1) != 0;
  const std::string_view module = kModules[(data[0] >> 1) & 3];
  const std::span<const uint8_t> bytes(data + 1, size - 1);
  const std::string_view source(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const uint64_t lines = LineCount(source);

  const sealpkg::SourceLimits defaults;
  auto tokens = sealpkg::verifier::internal::TokenizePython(bytes, defaults);
  auto scan = sealpkg::verifier::ScanPythonSource(bytes, module, is_package, defaults);
  if (!tokens.ok()) {
    CheckRejection(tokens.status(), source, lines);
    if (scan.ok() || scan.status().ToString() != tokens.status().ToString()) {
      Fail("scanner and tokenizer disagree", source, tokens.status().ToString());
    }
  } else {
    CheckTokens(*tokens, source, lines);
  }
  if (!scan.ok()) {
    CheckRejection(scan.status(), source, lines);
  } else {
    SourcePosition last{0, 0};
    for (const ImportRef& i : scan->imports) {
      CheckPosition(i.pos, last, source, lines, "import position out of range");
      if (!IsDottedName(i.module)) Fail("import module is not a dotted name", source, i.module);
      if (i.name && i.name->empty()) Fail("import with an empty name", source, i.module);
    }
    last = SourcePosition{0, 0};
    for (const DynamicUse& u : scan->uses) {
      CheckPosition(u.pos, last, source, lines, "use position out of range");
    }
    auto again = sealpkg::verifier::ScanPythonSource(bytes, module, is_package, defaults);
    if (!again.ok() || !SameScan(*scan, *again)) Fail("scan is not deterministic", source, "");
  }

  sealpkg::SourceLimits tight;
  tight.max_tokens = 512;
  tight.max_nesting = 6;
  auto small = sealpkg::verifier::ScanPythonSource(bytes, module, is_package, tight);
  if (!small.ok()) {
    CheckRejection(small.status(), source, lines);
  } else if (!scan.ok() || !SameScan(*small, *scan)) {
    Fail("accepted under tight limits but not the same under the defaults", source,
         scan.ok() ? "" : scan.status().ToString());
  }
  return 0;
}
