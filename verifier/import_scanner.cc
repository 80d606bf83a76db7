// The import scanner works on the tokens of verifier/internal/python_tokenizer.h in two passes:
//
//  1. Import statements. `import` and `from` are hard keywords, so a `from` at a statement start
//     (after a NEWLINE, or a ';' or ':' outside brackets) is always an import-from, and an
//     `import` anywhere else is a syntax error. Each statement is parsed by the grammar
//     (dotted names, `as`, parentheses, trailing commas, relative dots) and binds names:
//     `import a.b` binds a -> "a", `import a.b as c` binds c -> "a.b", `from m import n [as k]`
//     binds n (or k) -> "m.n". Bindings are flow- and scope-insensitive (an import inside a
//     function binds its name for the whole file, and a name bound twice refers to both), so
//     a use before the import or in another function is still attributed.
//  2. Expressions, over every other token (f-string fields included):
//     - `__import__(...)` and `import_module(...)` calls, whatever the receiver (`x.__import__`
//       and `importlib.import_module` alike), and names bound to builtins.__import__,
//       importlib.__import__ or importlib.import_module; literal arguments give imports,
//       anything else a kDynamicImport;
//     - exec/eval/compile and getattr/setattr/delattr as bare names (unless an import rebinds
//       them) or as attributes of `builtins`/`__builtins__`; `__getattribute__` anywhere;
//     - attributes that reach frames, globals, code objects or all classes (`__globals__`,
//       `__subclasses__`, `f_back`...: IsIntrospectionAttribute) as kReflection, since they lead
//       out of any namespace without an import;
//     - `X.attr` for every name X bound by an import, reported against the longest imported
//       module prefix (`os.path.join` is ("os.path", "join") when os.path is imported, else
//       ("os", "path")); also `getattr(X, "attr")` and attributes of an import call's result
//       (`__import__("os").system`).
//
// Deliberately not modelled (documented in the header's terms: no data flow beyond import
// bindings): a module or builtin assigned to another name (`o = os; o.system`, `e = eval`
// is reported as a use of eval but `e(...)` is not), names bound by `from m import *`, modules
// passed as arguments, attribute access through subscripts or `vars()`.
#include "verifier/import_scanner.h"

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "verifier/finding.h"
#include "verifier/internal/python_tokenizer.h"

namespace sealpkg::verifier {
namespace {

using internal::Token;
using internal::TokenizedSource;
using internal::TokenKind;

bool IsKeyword(std::string_view s) {
  static constexpr std::string_view kKeywords[] = {
      "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
      "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
      "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
      "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield"};
  return std::find(std::begin(kKeywords), std::end(kKeywords), s) != std::end(kKeywords);
}

// An identifier as the tokenizer defines one (any non-ASCII byte counts as a letter).
bool IsIdentifier(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<uint8_t>(s[i]);
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    const bool digit = c >= '0' && c <= '9';
    if (!(letter || (digit && i > 0))) return false;
  }
  return true;
}

bool IsDottedName(std::string_view s) {
  while (true) {
    const size_t dot = s.find('.');
    if (!IsIdentifier(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// importlib._bootstrap._resolve_name(); nullopt when the import goes above the top-level
// package, or when there is no package at all (CPython: "attempted relative import with no
// known parent package").
std::optional<std::string> ResolveRelative(std::string_view name, std::string_view package,
                                           uint64_t level) {
  if (level == 0) return std::string(name);
  if (package.empty()) return std::nullopt;
  std::string_view base = package;
  for (uint64_t i = 1; i < level; ++i) {
    const size_t dot = base.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    base = base.substr(0, dot);
  }
  if (name.empty()) return std::string(base);
  return std::string(base) + "." + std::string(name);
}

// Attributes that reach frames, globals, code objects or every loaded class: the classic ways
// out of a restricted namespace without importing anything (`().__class__.__base__
// .__subclasses__()`, `f.__globals__["os"]`, `sys._getframe().f_back.f_globals`). Model code
// has no use for them; they are reported as kReflection.
bool IsIntrospectionAttribute(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "__subclasses__", "__globals__", "__code__", "__closure__", "f_globals", "f_locals",
      "f_builtins",     "f_back",      "f_code",   "gi_frame",    "gi_code",   "cr_frame",
      "cr_code",        "ag_frame",    "ag_code",  "tb_frame"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

SourcePosition PositionOf(const Token& t) {
  return SourcePosition{t.line, t.column};
}

class Scanner {
 public:
  Scanner(const TokenizedSource& src, std::string_view module_name, bool is_package)
      : src_(src), tokens_(src.tokens), module_name_(module_name) {
    if (is_package) {
      package_ = std::string(module_name);
    } else {
      const size_t dot = module_name.rfind('.');
      // A module without a parent package has package "" (torch 1.13 used the module itself).
      if (dot != std::string_view::npos) package_ = std::string(module_name.substr(0, dot));
    }
    in_import_.assign(tokens_.size(), 0);
  }

  Result<SourceScan> Run() {
    SEALPKG_RETURN_IF_ERROR(ScanImportStatements());
    ScanImportCalls();
    ScanUses();
    SourceScan scan;
    std::stable_sort(imports_.begin(), imports_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::stable_sort(uses_.begin(), uses_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [index, ref] : imports_) scan.imports.push_back(std::move(ref));
    for (auto& [index, use] : uses_) scan.uses.push_back(std::move(use));
    return scan;
  }

 private:
  // A parsed call argument: tokens [begin, end) of its value.
  struct Argument {
    size_t begin = 0;
    size_t end = 0;
    std::string keyword;   // empty for positional arguments
    bool starred = false;  // *args or **kwargs
  };
  struct Arguments {
    std::vector<Argument> positional;
    std::vector<Argument> keywords;
    bool opaque = false;  // starred arguments or a generator expression: not analyzable

    const Argument* Get(size_t position, std::string_view keyword) const {
      if (position < positional.size()) return &positional[position];
      for (const Argument& a : keywords) {
        if (a.keyword == keyword) return &a;
      }
      return nullptr;
    }
  };

  // ----- token helpers (all bounds-checked: an out-of-range index matches nothing)

  bool IsOp(size_t i, std::string_view op) const {
    return i < tokens_.size() && tokens_[i].kind == TokenKind::kOp && src_.Text(tokens_[i]) == op;
  }
  bool IsName(size_t i) const { return i < tokens_.size() && tokens_[i].kind == TokenKind::kName; }
  // The keyword `word` as written (keywords are matched before NFKC folding, as in CPython).
  bool IsWord(size_t i, std::string_view word) const {
    return IsName(i) && src_.Text(tokens_[i]) == word;
  }
  // A name usable as an identifier (not a keyword).
  bool IsIdentifierToken(size_t i) const { return IsName(i) && !IsKeyword(src_.Text(tokens_[i])); }
  std::string Name(size_t i) const { return std::string(src_.Name(i)); }
  bool StatementEnd(size_t i) const {
    return i >= tokens_.size() || tokens_[i].kind == TokenKind::kNewline ||
           (IsOp(i, ";") && tokens_[i].depth == 0);
  }
  bool AtStatementStart(size_t i) const {
    if (tokens_[i].depth != 0) return false;
    if (i == 0) return true;
    const Token& prev = tokens_[i - 1];
    return prev.kind == TokenKind::kNewline ||
           (prev.depth == 0 && (IsOp(i - 1, ";") || IsOp(i - 1, ":")));
  }

  Status SyntaxError(size_t i, std::string_view message) const {
    const Token& t = i < tokens_.size() ? tokens_[i] : tokens_.back();
    return Malformed(std::string(code::kSourceSyntax), "line " + std::to_string(t.line) +
                                                           ", column " + std::to_string(t.column) +
                                                           ": " + std::string(message));
  }

  void AddImport(size_t token, ImportRef::Kind kind, std::string module,
                 std::optional<std::string> name, uint64_t level) {
    ImportRef ref;
    ref.kind = kind;
    ref.module = std::move(module);
    ref.name = std::move(name);
    ref.level = static_cast<uint32_t>(std::min<uint64_t>(level, UINT32_MAX));
    ref.pos = PositionOf(tokens_[token]);
    imports_.emplace_back(token, std::move(ref));
  }
  void AddUse(size_t token, DynamicUse::Kind kind, std::string module, std::string name) {
    DynamicUse use;
    use.kind = kind;
    use.module = std::move(module);
    use.name = std::move(name);
    use.pos = PositionOf(tokens_[token]);
    uses_.emplace_back(token, std::move(use));
  }
  void Bind(const std::string& local, const std::string& path) {
    std::vector<std::string>& paths = bindings_[local];
    if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
  }
  // Records `module` and its parents as imported (they are attributes of their parents).
  void MarkImported(std::string_view module) {
    while (!module.empty()) {
      imported_.insert(std::string(module));
      const size_t dot = module.rfind('.');
      if (dot == std::string_view::npos) break;
      module = module.substr(0, dot);
    }
  }

  // ----- pass 1: import statements

  Status ScanImportStatements() {
    for (size_t i = 0; i < tokens_.size(); ++i) {
      if (IsWord(i, "from")) {
        if (!AtStatementStart(i)) continue;  // `yield from x`, `raise E from x`
        SEALPKG_ASSIGN_OR_RETURN(const size_t end, ParseFromImport(i));
        std::fill(in_import_.begin() + i, in_import_.begin() + end, 1);
        i = end - 1;
      } else if (IsWord(i, "import")) {
        if (!AtStatementStart(i)) return SyntaxError(i, "'import' outside an import statement");
        SEALPKG_ASSIGN_OR_RETURN(const size_t end, ParseImport(i));
        std::fill(in_import_.begin() + i, in_import_.begin() + end, 1);
        i = end - 1;
      }
    }
    return OkStatus();
  }

  // dotted_name: NAME ('.' NAME)*; returns the folded name and moves `k` past it.
  Result<std::string> ParseDottedName(size_t& k) const {
    if (!IsIdentifierToken(k)) return SyntaxError(k, "invalid import statement: expected a name");
    std::string name = Name(k++);
    while (IsOp(k, ".")) {
      if (!IsIdentifierToken(k + 1)) {
        return SyntaxError(k + 1, "invalid import statement: expected a name after '.'");
      }
      name += "." + Name(k + 1);
      k += 2;
    }
    return name;
  }

  // import dotted_name [as NAME] (',' dotted_name [as NAME])*
  Result<size_t> ParseImport(size_t i) {
    size_t k = i + 1;
    while (true) {
      const size_t first = k;
      SEALPKG_ASSIGN_OR_RETURN(std::string module, ParseDottedName(k));
      if (IsWord(k, "as")) {
        if (!IsIdentifierToken(k + 1)) {
          return SyntaxError(k + 1, "invalid import statement: expected a name after 'as'");
        }
        Bind(Name(k + 1), module);
        k += 2;
      } else {
        Bind(Name(first), Name(first));
      }
      MarkImported(module);
      AddImport(first, ImportRef::Kind::kImport, std::move(module), std::nullopt, 0);
      if (!IsOp(k, ",")) break;
      ++k;
    }
    if (!StatementEnd(k)) return SyntaxError(k, "invalid import statement");
    return k;
  }

  // from ('.'|'...')* dotted_name import (NAME [as NAME], ...) | '(' ... [','] ')' | '*'
  Result<size_t> ParseFromImport(size_t i) {
    size_t k = i + 1;
    uint64_t level = 0;
    for (;; ++k) {
      if (IsOp(k, ".")) {
        level += 1;
      } else if (IsOp(k, "...")) {
        level += 3;
      } else {
        break;
      }
    }
    std::string written(level, '.');
    std::string module;
    if (level == 0 || !IsWord(k, "import")) {
      SEALPKG_ASSIGN_OR_RETURN(module, ParseDottedName(k));
      written += module;
    }
    if (!IsWord(k, "import")) return SyntaxError(k, "invalid import statement: expected 'import'");
    ++k;

    struct Item {
      size_t token;
      std::string name;
      std::string local;
    };
    std::vector<Item> items;
    if (IsOp(k, "*")) {
      items.push_back({k, "*", ""});
      ++k;
    } else {
      const bool parenthesized = IsOp(k, "(");
      const size_t close = parenthesized ? tokens_[k].partner : 0;
      if (parenthesized) ++k;
      while (true) {
        if (!IsIdentifierToken(k))
          return SyntaxError(k, "invalid import statement: expected a name");
        Item item{k, Name(k), Name(k)};
        ++k;
        if (IsWord(k, "as")) {
          if (!IsIdentifierToken(k + 1)) {
            return SyntaxError(k + 1, "invalid import statement: expected a name after 'as'");
          }
          item.local = Name(k + 1);
          k += 2;
        }
        items.push_back(std::move(item));
        if (!IsOp(k, ",")) break;
        ++k;
        if (parenthesized && k == close) break;  // trailing comma
      }
      if (parenthesized) {
        if (k != close) return SyntaxError(k, "invalid import statement: expected ')'");
        ++k;
      }
    }
    if (!StatementEnd(k)) return SyntaxError(k, "invalid import statement");

    const std::optional<std::string> resolved = ResolveRelative(module, package_, level);
    for (Item& item : items) {
      if (!resolved) {
        AddUse(item.token, DynamicUse::Kind::kRelativeBeyondTop, written, item.name);
        continue;
      }
      MarkImported(*resolved);
      if (item.name != "*") {
        const std::string path = *resolved + "." + item.name;
        imported_.insert(path);  // may be a submodule
        Bind(item.local, path);
      }
      AddImport(item.token, ImportRef::Kind::kFromImport, *resolved, std::move(item.name), level);
    }
    return k;
  }

  // ----- literals

  // Strips grouping parentheses around the whole range [begin, end).
  void Unparenthesize(size_t& begin, size_t& end) const {
    while (end - begin >= 2 && IsOp(begin, "(") && tokens_[begin].partner == end - 1) {
      // A tuple `("a",)` is not a grouping; the caller checks for commas where it matters.
      ++begin;
      --end;
    }
  }

  // The value of a str constant: adjacent string literals, optionally parenthesized.
  std::optional<std::string> StrLiteral(size_t begin, size_t end) const {
    Unparenthesize(begin, end);
    if (begin >= end) return std::nullopt;
    std::string value;
    for (size_t k = begin; k < end; ++k) {
      if (tokens_[k].kind != TokenKind::kString) return std::nullopt;
      std::optional<std::string> part = internal::StringLiteralValue(src_.Text(tokens_[k]));
      if (!part) return std::nullopt;
      value += *part;
    }
    return value;
  }

  // A non-negative int constant (decimal, True/False); values above 2^20 are clamped (any
  // relative level that large is beyond the top anyway).
  std::optional<uint64_t> IntLiteral(size_t begin, size_t end) const {
    Unparenthesize(begin, end);
    if (end != begin + 1) return std::nullopt;
    if (IsWord(begin, "False")) return 0;
    if (IsWord(begin, "True")) return 1;
    if (tokens_[begin].kind != TokenKind::kNumber) return std::nullopt;
    const std::string_view text = src_.Text(tokens_[begin]);
    if (text.size() > 1 && text[0] == '0' && text.find_first_not_of("0_") != std::string::npos) {
      return std::nullopt;  // 0x.., 0o.., 0b.. (rare here; treat as non-literal)
    }
    uint64_t value = 0;
    for (char c : text) {
      if (c == '_') continue;
      if (c < '0' || c > '9') return std::nullopt;  // floats, imaginary numbers
      value = std::min<uint64_t>(value * 10 + static_cast<uint64_t>(c - '0'), 1u << 20);
    }
    return value;
  }

  // A fromlist: nullopt if not a literal; else its items (empty for None/()/[]/""/0/False).
  std::optional<std::vector<std::string>> ListLiteral(size_t begin, size_t end) const {
    while (true) {
      if (begin >= end) return std::vector<std::string>();
      if (end == begin + 1 && (IsWord(begin, "None") || IsWord(begin, "False"))) {
        return std::vector<std::string>();
      }
      if (const auto n = IntLiteral(begin, end); n && *n == 0) return std::vector<std::string>();
      if (const auto s = StrLiteral(begin, end)) {
        // A non-empty string is iterated character by character by CPython: too clever to
        // model, so it counts as non-literal.
        if (s->empty()) return std::vector<std::string>();
        return std::nullopt;
      }
      const bool list = IsOp(begin, "[");
      const bool tuple = IsOp(begin, "(");
      if (!(list || tuple) || tokens_[begin].partner != end - 1) return std::nullopt;
      std::vector<std::pair<size_t, size_t>> elements;
      bool comma = false;
      size_t element_begin = begin + 1;
      for (size_t k = begin + 1; k < end - 1;) {
        if (IsOp(k, ",")) {
          elements.emplace_back(element_begin, k);
          element_begin = k + 1;
          comma = true;
          ++k;
        } else {
          k = SkipNested(k);
        }
      }
      if (element_begin < end - 1) elements.emplace_back(element_begin, end - 1);
      if (tuple && !comma && !elements.empty()) {  // `(x)` is x
        ++begin;
        --end;
        continue;
      }
      std::vector<std::string> items;
      for (const auto& [b, e] : elements) {
        std::optional<std::string> item = StrLiteral(b, e);
        if (!item) return std::nullopt;
        items.push_back(std::move(*item));
      }
      return items;
    }
  }

  // The index after token k, skipping a whole bracketed group or f-string.
  size_t SkipNested(size_t k) const {
    const Token& t = tokens_[k];
    const bool opener =
        (t.kind == TokenKind::kFStringStart) ||
        (t.kind == TokenKind::kOp && (IsOp(k, "(") || IsOp(k, "[") || IsOp(k, "{")));
    if (opener && t.partner != internal::kNoPartner && t.partner > k) return t.partner + 1;
    return k + 1;
  }

  // The arguments of the call whose '(' is tokens_[open].
  Arguments SplitArguments(size_t open) const {
    Arguments args;
    const size_t close = tokens_[open].partner;
    if (close == internal::kNoPartner || close <= open) {
      args.opaque = true;
      return args;
    }
    std::vector<std::pair<size_t, size_t>> ranges;
    size_t begin = open + 1;
    for (size_t k = open + 1; k < close;) {
      if (IsOp(k, ",")) {
        ranges.emplace_back(begin, k);
        begin = k + 1;
        ++k;
        continue;
      }
      if (IsWord(k, "for")) args.opaque = true;  // f(x for x in y)
      k = SkipNested(k);
    }
    if (begin < close) ranges.emplace_back(begin, close);
    for (const auto& [b, e] : ranges) {
      if (b >= e) continue;
      Argument a;
      a.begin = b;
      a.end = e;
      if (IsOp(b, "*") || IsOp(b, "**")) {
        args.opaque = true;
        a.starred = true;
        continue;
      }
      if (IsName(b) && IsOp(b + 1, "=") && e > b + 2) {
        a.keyword = Name(b);
        a.begin = b + 2;
        args.keywords.push_back(a);
      } else {
        args.positional.push_back(a);
      }
    }
    return args;
  }

  // ----- pass 2a: import calls

  enum class ImportCall : uint8_t { kDunder, kImportModule };

  void ScanImportCalls() {
    for (size_t i = 0; i < tokens_.size(); ++i) {
      if (in_import_[i] || !IsName(i) || Defined(i)) continue;
      const std::string name = Name(i);
      if (name == "__import__") {
        AnalyzeImportCall(i, ImportCall::kDunder);
      } else if (name == "import_module") {
        AnalyzeImportCall(i, ImportCall::kImportModule);
      } else if (ChainStart(i)) {
        // Aliases: `from importlib import import_module as im`, `from builtins import __import__`.
        const auto it = bindings_.find(name);
        if (it == bindings_.end()) continue;
        for (const std::string& path : it->second) {
          if (path == "builtins.__import__" || path == "importlib.__import__") {
            AnalyzeImportCall(i, ImportCall::kDunder);
            break;
          }
          if (path == "importlib.import_module") {
            AnalyzeImportCall(i, ImportCall::kImportModule);
            break;
          }
        }
      }
    }
  }

  // `def exec(...)`, `class compile:` define names rather than use them.
  bool Defined(size_t i) const { return i > 0 && (IsWord(i - 1, "def") || IsWord(i - 1, "class")); }
  // Not an attribute (`x.name`): the start of a primary expression.
  bool ChainStart(size_t i) const { return i == 0 || !IsOp(i - 1, "."); }

  void AnalyzeImportCall(size_t callee, ImportCall kind) {
    const std::string callee_name = Name(callee);
    if (!IsOp(callee + 1, "(")) {
      // The function itself escapes (`f = __import__`): whatever calls it is unknown.
      AddUse(callee, DynamicUse::Kind::kDynamicImport, "", callee_name);
      return;
    }
    const Arguments args = SplitArguments(callee + 1);
    const Argument* name_arg = args.Get(0, "name");
    std::optional<std::string> name;
    if (name_arg != nullptr) name = StrLiteral(name_arg->begin, name_arg->end);
    if (args.opaque || !name) {
      AddUse(callee, DynamicUse::Kind::kDynamicImport, name.value_or(""), callee_name);
      return;
    }
    const size_t close = tokens_[callee + 1].partner;
    if (kind == ImportCall::kDunder) {
      AnalyzeDunderImport(callee, callee_name, *name, args, close);
    } else {
      AnalyzeImportModule(callee, callee_name, *name, args, close);
    }
  }

  // __import__(name, globals=None, locals=None, fromlist=(), level=0). A relative level is
  // resolved against this module's package (the usual `globals()` argument).
  void AnalyzeDunderImport(size_t callee, const std::string& callee_name, const std::string& name,
                           const Arguments& args, size_t close) {
    uint64_t level = 0;
    if (const Argument* a = args.Get(4, "level")) {
      const std::optional<uint64_t> v = IntLiteral(a->begin, a->end);
      if (!v) {
        AddUse(callee, DynamicUse::Kind::kDynamicImport, name, callee_name);
        return;
      }
      level = *v;
    }
    std::optional<std::vector<std::string>> fromlist = std::vector<std::string>();
    if (const Argument* a = args.Get(3, "fromlist")) fromlist = ListLiteral(a->begin, a->end);
    const bool valid = level == 0 ? IsDottedName(name) : (name.empty() || IsDottedName(name));
    if (!valid) {
      AddUse(callee, DynamicUse::Kind::kDynamicImport, name, callee_name);
      return;
    }
    const std::optional<std::string> resolved = ResolveRelative(name, package_, level);
    if (!resolved) {
      AddUse(callee, DynamicUse::Kind::kRelativeBeyondTop, std::string(level, '.') + name,
             callee_name);
      return;
    }
    MarkImported(*resolved);
    if (!fromlist) {
      AddImport(callee, ImportRef::Kind::kDunderImport, *resolved, std::nullopt, level);
      AddUse(callee, DynamicUse::Kind::kDynamicImport, *resolved, callee_name);  // fromlist
      return;
    }
    if (fromlist->empty()) {
      AddImport(callee, ImportRef::Kind::kDunderImport, *resolved, std::nullopt, level);
      // Without a fromlist, __import__ returns the top-level package.
      AddResult(close, resolved->substr(0, resolved->find('.')), callee);
      return;
    }
    for (std::string& item : *fromlist) {
      if (item != "*" && !IsDottedName(item)) {
        AddUse(callee, DynamicUse::Kind::kDynamicImport, *resolved, callee_name);
        continue;
      }
      if (item != "*") imported_.insert(*resolved + "." + item);
      AddImport(callee, ImportRef::Kind::kDunderImport, *resolved, std::move(item), level);
    }
    AddResult(close, *resolved, callee);
  }

  // importlib.import_module(name, package=None): leading dots are a relative level resolved
  // against the literal package (or this module's __package__ / __name__).
  void AnalyzeImportModule(size_t callee, const std::string& callee_name, const std::string& name,
                           const Arguments& args, size_t close) {
    const size_t level = std::min(name.find_first_not_of('.'), name.size());
    const std::string rest = name.substr(level);
    std::optional<std::string> resolved;
    if (level == 0) {
      if (!IsDottedName(name)) {
        AddUse(callee, DynamicUse::Kind::kDynamicImport, name, callee_name);
        return;
      }
      resolved = name;
    } else {
      std::optional<std::string> package;
      if (const Argument* a = args.Get(1, "package")) {
        if (a->end == a->begin + 1 && IsWord(a->begin, "__package__")) {
          package = package_;
        } else if (a->end == a->begin + 1 && IsWord(a->begin, "__name__")) {
          package = std::string(module_name_);
        } else if (!IsWord(a->begin, "None") || a->end != a->begin + 1) {
          package = StrLiteral(a->begin, a->end);
          if (!package) {
            AddUse(callee, DynamicUse::Kind::kDynamicImport, name, callee_name);
            return;
          }
        }
      }
      if (!rest.empty() && !IsDottedName(rest)) {
        AddUse(callee, DynamicUse::Kind::kDynamicImport, name, callee_name);
        return;
      }
      if (package && !package->empty() && IsDottedName(*package)) {
        resolved = ResolveRelative(rest, *package, level);
      }
      if (!resolved) {
        AddUse(callee, DynamicUse::Kind::kRelativeBeyondTop, name, callee_name);
        return;
      }
    }
    MarkImported(*resolved);
    AddImport(callee, ImportRef::Kind::kImportModule, *resolved, std::nullopt, level);
    AddResult(close, *resolved, callee);
  }

  // The import call tokens_[callee](...) ending at `close` evaluates to `module`.
  void AddResult(size_t close, const std::string& module, size_t callee) {
    result_chains_.emplace_back(close, module, callee);
    call_results_[close] = module;
  }

  // ----- pass 2b: dynamic uses

  void ScanUses() {
    size_t next_chain = 0;
    std::sort(result_chains_.begin(), result_chains_.end());
    for (size_t i = 0; i < tokens_.size(); ++i) {
      while (next_chain < result_chains_.size() && std::get<0>(result_chains_[next_chain]) == i) {
        const auto& [close, module, callee] = result_chains_[next_chain++];
        ReportChain(close, module, callee);
      }
      if (in_import_[i]) continue;
      const Token& t = tokens_[i];
      if (t.kind == TokenKind::kString) {
        // globals()["__builtins__"], getattr(f, "__builtins__")...
        if (internal::StringLiteralValue(src_.Text(t)) == "__builtins__") {
          AddUse(i, DynamicUse::Kind::kBuiltins, "", "__builtins__");
        }
        continue;
      }
      if (t.kind != TokenKind::kName || Defined(i)) continue;
      const std::string name = Name(i);
      if (name == "__builtins__") AddUse(i, DynamicUse::Kind::kBuiltins, "", name);
      if (name == "__getattribute__") AnalyzeGetattribute(i);
      if (!ChainStart(i)) {
        if (IsIntrospectionAttribute(name)) AddUse(i, DynamicUse::Kind::kReflection, "", name);
        continue;
      }
      if (tokens_[i].depth > 0 && IsOp(i + 1, "=")) continue;  // keyword argument f(exec=1)
      const auto bound = bindings_.find(name);
      if (bound != bindings_.end()) {
        for (const std::string& path : bound->second) {
          if (IsOp(i + 1, ".")) {
            ReportChain(i, path, i);
          } else {
            Builtin(path, i, i);
          }
        }
        continue;
      }
      // Unbound names: the builtins themselves.
      if (name == "exec" || name == "eval" || name == "compile" || name == "getattr" ||
          name == "setattr" || name == "delattr") {
        Builtin("builtins." + name, i, i);
      }
      if ((name == "builtins" || name == "__builtins__") && IsOp(i + 1, ".") && IsName(i + 2)) {
        Builtin("builtins." + Name(i + 2), i + 2, i);
      }
    }
  }

  // Reports the attribute access following tokens_[last] on a value that is module `module`:
  // `.a.b.c`, extended through imported submodules.
  void ReportChain(size_t last, const std::string& module, size_t at) {
    std::string current = module;
    size_t k = last + 1;
    while (IsOp(k, ".") && IsName(k + 1)) {
      const std::string attribute = Name(k + 1);
      std::string candidate = current + "." + attribute;
      if (imported_.count(candidate) != 0) {
        current = std::move(candidate);
        k += 2;
        continue;
      }
      AddUse(at, DynamicUse::Kind::kModuleAttribute, current, attribute);
      Builtin(current + "." + attribute, k + 1, at);
      return;
    }
  }

  // `path` is what tokens_[token] refers to (a builtin or a module attribute); reports the
  // dangerous builtins at `at`.
  void Builtin(const std::string& path, size_t token, size_t at) {
    if (ReportCodeBuiltin(path, at)) return;
    if (path == "builtins.getattr" || path == "builtins.setattr" || path == "builtins.delattr") {
      AnalyzeGetattr(token, path.substr(9), at);
    }
  }

  // exec/eval/compile and builtins.__dict__ reported at `at`; whether `path` was one of them.
  // (Separate from Builtin so that AnalyzeGetattr does not recurse into itself.)
  bool ReportCodeBuiltin(const std::string& path, size_t at) {
    if (path == "builtins.exec") {
      AddUse(at, DynamicUse::Kind::kExec, "", "exec");
    } else if (path == "builtins.eval") {
      AddUse(at, DynamicUse::Kind::kEval, "", "eval");
    } else if (path == "builtins.compile") {
      AddUse(at, DynamicUse::Kind::kCompile, "", "compile");
    } else if (path == "builtins.__dict__") {
      AddUse(at, DynamicUse::Kind::kBuiltins, "builtins", "__dict__");
    } else {
      return false;
    }
    return true;
  }

  // getattr(obj, name[, default]) / setattr(obj, name, value) / delattr(obj, name).
  void AnalyzeGetattr(size_t callee, const std::string& function, size_t at) {
    if (!IsOp(callee + 1, "(")) {
      AddUse(at, DynamicUse::Kind::kReflection, "", function);  // g = getattr
      return;
    }
    const Arguments args = SplitArguments(callee + 1);
    std::optional<std::string> attribute;
    if (!args.opaque && args.positional.size() >= 2) {
      attribute = StrLiteral(args.positional[1].begin, args.positional[1].end);
    }
    if (!attribute) {
      AddUse(at, DynamicUse::Kind::kReflection, "", function);
      return;
    }
    if (IsIntrospectionAttribute(*attribute)) {
      AddUse(at, DynamicUse::Kind::kReflection, "", *attribute);  // getattr(f, "__globals__")
    }
    // getattr(os, "system") is os.system.
    const Argument& object = args.positional[0];
    // A bare unbound `builtins` is not an imported module: only its dangerous members count.
    const bool plain_builtins = object.end == object.begin + 1 && IsName(object.begin) &&
                                bindings_.count(Name(object.begin)) == 0;
    for (const std::string& module : ModulesOf(object.begin, object.end)) {
      if (!plain_builtins) AddUse(at, DynamicUse::Kind::kModuleAttribute, module, *attribute);
      const std::string path = module + "." + *attribute;
      if (ReportCodeBuiltin(path, at)) continue;  // getattr(builtins, "exec") is exec
      if (path == "builtins.getattr" || path == "builtins.setattr" || path == "builtins.delattr" ||
          path == "builtins.__import__" || path == "importlib.__import__" ||
          path == "importlib.import_module") {
        // A reflective function fetched reflectively: its later calls cannot be analyzed.
        AddUse(at, DynamicUse::Kind::kReflection, module, *attribute);
      }
    }
  }

  // The modules the expression tokens_[begin, end) may evaluate to: a name bound by an import,
  // `builtins`/`__builtins__`, or an import call, followed by imported submodules (`os.path`).
  std::vector<std::string> ModulesOf(size_t begin, size_t end) const {
    Unparenthesize(begin, end);
    if (begin >= end || !IsName(begin) || !ChainStart(begin)) return {};
    std::vector<std::string> bases;
    size_t k = begin + 1;
    for (size_t j = begin; j < end; ++j) {
      const auto call = call_results_.find(j);
      if (call != call_results_.end()) {
        bases = {call->second};
        k = j + 1;
      }
    }
    if (bases.empty()) {
      const std::string name = Name(begin);
      const auto bound = bindings_.find(name);
      if (bound != bindings_.end()) {
        bases = bound->second;
      } else if (name == "builtins" || name == "__builtins__") {
        bases.push_back("builtins");
      }
    }
    std::vector<std::string> modules;
    for (std::string current : bases) {
      size_t j = k;
      while (j < end && IsOp(j, ".") && IsName(j + 1) &&
             imported_.count(current + "." + Name(j + 1)) != 0) {
        current += "." + Name(j + 1);
        j += 2;
      }
      if (j == end) modules.push_back(std::move(current));
    }
    return modules;
  }

  // obj.__getattribute__(name) / type.__getattribute__(obj, name).
  void AnalyzeGetattribute(size_t callee) {
    if (IsOp(callee + 1, "(")) {
      const Arguments args = SplitArguments(callee + 1);
      const size_t n = args.positional.size();
      if (!args.opaque && args.keywords.empty() && (n == 1 || n == 2) &&
          StrLiteral(args.positional[n - 1].begin, args.positional[n - 1].end)) {
        return;
      }
    }
    AddUse(callee, DynamicUse::Kind::kReflection, "", "__getattribute__");
  }

  const TokenizedSource& src_;
  const std::vector<Token>& tokens_;
  std::string_view module_name_;
  std::string package_;
  std::vector<uint8_t> in_import_;  // token belongs to an import statement
  std::unordered_map<std::string, std::vector<std::string>> bindings_;  // local -> module paths
  std::unordered_set<std::string> imported_;  // every module (and parent) imported anywhere
  // (closing ')' of an import call, the module its value is, the callee token)
  std::vector<std::tuple<size_t, std::string, size_t>> result_chains_;
  std::unordered_map<size_t, std::string> call_results_;  // closing ')' -> module
  std::vector<std::pair<size_t, ImportRef>> imports_;
  std::vector<std::pair<size_t, DynamicUse>> uses_;
};

}  // namespace

Result<SourceScan> ScanPythonSource(std::span<const uint8_t> source, std::string_view module_name,
                                    bool is_package, const SourceLimits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(internal::TokenizedSource tokens,
                           internal::TokenizePython(source, limits));
  Scanner scanner(tokens, module_name, is_package);
  return scanner.Run();
}

std::string_view ImportKindName(ImportRef::Kind kind) {
  switch (kind) {
    case ImportRef::Kind::kImport:
      return "import";
    case ImportRef::Kind::kFromImport:
      return "from-import";
    case ImportRef::Kind::kDunderImport:
      return "dunder-import";
    case ImportRef::Kind::kImportModule:
      return "import-module";
  }
  return "unknown";
}

std::string_view DynamicUseKindName(DynamicUse::Kind kind) {
  switch (kind) {
    case DynamicUse::Kind::kExec:
      return "exec";
    case DynamicUse::Kind::kEval:
      return "eval";
    case DynamicUse::Kind::kCompile:
      return "compile";
    case DynamicUse::Kind::kBuiltins:
      return "builtins";
    case DynamicUse::Kind::kReflection:
      return "reflection";
    case DynamicUse::Kind::kDynamicImport:
      return "dynamic-import";
    case DynamicUse::Kind::kModuleAttribute:
      return "module-attribute";
    case DynamicUse::Kind::kRelativeBeyondTop:
      return "relative-beyond-top";
  }
  return "unknown";
}

}  // namespace sealpkg::verifier
