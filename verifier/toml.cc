// Document structure of the TOML policy parser: tables, arrays of tables, dotted keys, inline
// tables and arrays, and TOML 1.0's rules about which table may be defined or extended where.
// Lexing (strings, numbers, comments, positions, error text) is internal/toml_lexer.cc.
//
// The parser builds an arena of nodes (indices, no pointers) with the bookkeeping the duplicate
// rules need, then converts it into TomlValues top-down with a work list. Every node is created
// after its parent, which Build() checks, so the arena is a tree. Nested arrays and inline
// tables are parsed with an explicit stack; nothing here recurses.
#include "verifier/toml.h"

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "verifier/internal/toml_lexer.h"

namespace sealpkg::verifier {

const TomlValue* TomlValue::Find(std::string_view key) const {
  if (kind_ != Kind::kTable) return nullptr;
  for (const auto& [name, value] : table_) {
    if (name == key) return &value;
  }
  return nullptr;
}

TomlValue TomlValue::String(std::string s, uint32_t line, uint32_t column) {
  TomlValue v;
  v.kind_ = Kind::kString;
  v.string_ = std::move(s);
  v.line_ = line;
  v.column_ = column;
  return v;
}

TomlValue TomlValue::Integer(int64_t value, uint32_t line, uint32_t column) {
  TomlValue v;
  v.kind_ = Kind::kInteger;
  v.integer_ = value;
  v.line_ = line;
  v.column_ = column;
  return v;
}

TomlValue TomlValue::Bool(bool value, uint32_t line, uint32_t column) {
  TomlValue v;
  v.kind_ = Kind::kBool;
  v.boolean_ = value;
  v.line_ = line;
  v.column_ = column;
  return v;
}

TomlValue TomlValue::Array(uint32_t line, uint32_t column) {
  TomlValue v;
  v.kind_ = Kind::kArray;
  v.line_ = line;
  v.column_ = column;
  return v;
}

TomlValue TomlValue::Table(uint32_t line, uint32_t column) {
  TomlValue v;
  v.kind_ = Kind::kTable;
  v.line_ = line;
  v.column_ = column;
  return v;
}

namespace {

using internal::kTomlDuplicateKey;
using internal::kTomlTooDeep;
using internal::kTomlTooLarge;
using internal::TomlLexer;
using internal::TomlPosition;
using internal::TomlScalar;
using Kind = TomlValue::Kind;

// One value or table of the document under construction. Kept small (a 1 MiB policy can hold
// half a million values and touching memory dominates parse time): strings and child lists
// live in side vectors, found through `index`.
struct Node {
  Kind kind = Kind::kTable;
  bool bool_value = false;
  // Duplicate-rule bookkeeping (TOML 1.0 "Table" and "Array of Tables" sections).
  bool header_defined = false;   // [this] was written, or this is an [[array]] element
  bool inline_table = false;     // {...}: nothing outside its braces may add to it
  bool array_of_tables = false;  // created by [[...]]; other arrays are immutable values
  uint32_t depth = 0;            // containers above this node; the root table is 0
  // The section (0 = none, else 1 + headers seen before it) whose dotted keys created or went
  // through this table. Such a table is closed to [headers] and to dotted keys of later sections.
  uint32_t dotted_section = 0;
  TomlPosition position;
  int64_t integer_value = 0;
  size_t index = 0;  // kString: into strings_; kArray: into arrays_; kTable: into tables_
};

struct TableEntry {
  std::string* key;  // owned by DocumentParser::keys_ (a deque: never moves)
  size_t child;
};

// (parent node, key) for the child index. An ordered map: its worst case does not depend on
// the keys an attacker picks, unlike an unseeded hash table.
struct ChildKey {
  size_t parent;
  std::string_view name;
  bool operator<(const ChildKey& other) const {
    return parent != other.parent ? parent < other.parent : name < other.name;
  }
};

struct KeyPart {
  std::string name;
  size_t offset = 0;
  TomlPosition position;
};

// "an array of tables", "a string": for "'a' is already ..." messages.
std::string KindName(const Node& node) {
  switch (node.kind) {
    case Kind::kString:
      return "a string";
    case Kind::kInteger:
      return "an integer";
    case Kind::kBool:
      return "a boolean";
    case Kind::kArray:
      return node.array_of_tables ? "an array of tables" : "an array";
    case Kind::kTable:
      return node.inline_table ? "an inline table" : "a table";
  }
  return "a value";
}

std::string At(const TomlPosition& p) {
  return "line " + std::to_string(p.line) + ", column " + std::to_string(p.column);
}

// parts[0..count) as TOML would write them (a.b."c d"), shortened for messages.
std::string KeyText(const std::vector<KeyPart>& parts, size_t count) {
  constexpr size_t kMaxChars = 120;
  std::string out;
  for (size_t i = 0; i < count && i < parts.size(); ++i) {
    if (i > 0) out += '.';
    const std::string& name = parts[i].name;
    bool bare = !name.empty();
    for (char c : name) {
      bare = bare && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-');
    }
    if (bare) {
      out += name;
    } else {
      out += '"';
      for (char c : name) {
        const auto b = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
          out += '\\';
          out += c;
        } else if (b < 0x20 || b == 0x7F || b >= 0x80) {
          out += '?';  // messages stay ASCII and free of control characters
        } else {
          out += c;
        }
      }
      out += '"';
    }
    if (out.size() > kMaxChars) return out.substr(0, kMaxChars) + "...";
  }
  return out;
}

class DocumentParser {
 public:
  DocumentParser(std::string_view text, const PolicyLimits& limits)
      : text_(text), limits_(limits), lexer_(text) {}

  Result<TomlValue> Parse();

 private:
  // A container being filled by ParseValue.
  struct Frame {
    size_t node = 0;
    bool is_array = false;
    size_t target = 0;  // inline tables: the table receiving the pending key
    std::string key;    // inline tables: the pending key
  };

  size_t NewNode(Kind kind, TomlPosition position, uint32_t depth);
  Status AddChild(size_t parent, std::string name, size_t child);
  Status AddItem(size_t array, size_t child);
  std::vector<size_t>& Items(size_t array) { return arrays_[nodes_[array].index]; }
  // Index of parent's child `name`, or kNone.
  size_t FindChild(size_t parent, std::string_view name) const;
  Status CheckDepth(uint32_t depth, size_t offset);
  Status Duplicate(size_t offset, std::string_view message);

  Status ParseHeader();
  Status ParseKeyValueLine();
  Result<std::vector<KeyPart>> ParseKey();
  // Resolves all but the last part of a dotted key below `base`, creating tables as needed,
  // and checks that the last part is new. Returns the table that receives the value.
  Result<size_t> ResolveDottedKey(size_t base, const std::vector<KeyPart>& key);
  // One step of a [header] path: into (or creating) a table, or the last element of [[...]].
  Result<size_t> DescendForHeader(size_t parent, const std::vector<KeyPart>& key, size_t index);
  Result<size_t> ParseValue(uint32_t parent_depth);
  Status BeginInlineEntry(Frame& frame);
  Result<TomlValue> Build();

  static constexpr size_t kNone = static_cast<size_t>(-1);

  std::string_view text_;
  const PolicyLimits& limits_;
  TomlLexer lexer_;
  std::vector<Node> nodes_;
  std::vector<std::string> strings_;             // string values
  std::vector<std::vector<size_t>> arrays_;      // array elements (node indices)
  std::vector<std::vector<TableEntry>> tables_;  // table entries in document order
  std::deque<std::string> keys_;                 // every key of every table
  std::map<ChildKey, size_t> children_;          // tables can be large: no linear lookups
  size_t section_table_ = 0;                     // the table that key/value lines currently fill
  uint32_t section_ = 1;                         // 1 for the root section, +1 per header
};

size_t DocumentParser::NewNode(Kind kind, TomlPosition position, uint32_t depth) {
  Node node;
  node.kind = kind;
  node.position = position;
  node.depth = depth;
  if (kind == Kind::kArray) {
    node.index = arrays_.size();
    arrays_.emplace_back();
  } else if (kind == Kind::kTable) {
    node.index = tables_.size();
    tables_.emplace_back();
  }
  nodes_.push_back(node);
  return nodes_.size() - 1;
}

size_t DocumentParser::FindChild(size_t parent, std::string_view name) const {
  const auto it = children_.find(ChildKey{parent, name});
  return it == children_.end() ? kNone : it->second;
}

Status DocumentParser::AddChild(size_t parent, std::string name, size_t child) {
  // Children are created after their parent; Build() relies on it.
  if (parent >= nodes_.size() || child >= nodes_.size() || child <= parent ||
      nodes_[parent].kind != Kind::kTable) {
    return InternalError("toml.internal", "bad table link");
  }
  std::string& key = keys_.emplace_back(std::move(name));
  if (!children_.emplace(ChildKey{parent, key}, child).second) {
    return InternalError("toml.internal", "key inserted twice");
  }
  tables_[nodes_[parent].index].push_back(TableEntry{&key, child});
  return OkStatus();
}

Status DocumentParser::AddItem(size_t array, size_t child) {
  if (array >= nodes_.size() || child >= nodes_.size() || child <= array ||
      nodes_[array].kind != Kind::kArray) {
    return InternalError("toml.internal", "bad array link");
  }
  Items(array).push_back(child);
  return OkStatus();
}

Status DocumentParser::CheckDepth(uint32_t depth, size_t offset) {
  if (depth <= limits_.max_nesting) return OkStatus();
  return lexer_.Error(ErrorCode::kLimitExceeded, kTomlTooDeep, offset,
                      "tables and arrays are nested deeper than the limit of " +
                          std::to_string(limits_.max_nesting) + " levels");
}

Status DocumentParser::Duplicate(size_t offset, std::string_view message) {
  return lexer_.Error(ErrorCode::kMalformed, kTomlDuplicateKey, offset, message);
}

Result<TomlValue> DocumentParser::Parse() {
  if (text_.size() > limits_.max_policy_bytes) {
    return lexer_.Error(ErrorCode::kLimitExceeded, kTomlTooLarge, limits_.max_policy_bytes,
                        "the policy is " + std::to_string(text_.size()) +
                            " bytes, more than the limit of " +
                            std::to_string(limits_.max_policy_bytes));
  }
  SEALPKG_RETURN_IF_ERROR(lexer_.ValidateUtf8());
  lexer_.SkipByteOrderMark();
  section_table_ = NewNode(Kind::kTable, TomlPosition{}, 0);
  for (;;) {
    lexer_.SkipWhitespace();
    if (lexer_.AtEnd()) break;
    const int c = lexer_.Peek();
    if (lexer_.AtNewline()) {
      lexer_.ConsumeNewline();
    } else if (c == '#') {
      SEALPKG_RETURN_IF_ERROR(lexer_.ExpectLineEnd("comment"));
    } else if (c == '[') {
      SEALPKG_RETURN_IF_ERROR(ParseHeader());
    } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '"' || c == '\'') {
      SEALPKG_RETURN_IF_ERROR(ParseKeyValueLine());
    } else {
      return lexer_.SyntaxError(
          lexer_.pos(),
          "expected a key, a [table] header or a comment, found " + lexer_.Describe(lexer_.pos()));
    }
  }
  return Build();
}

Result<std::vector<KeyPart>> DocumentParser::ParseKey() {
  std::vector<KeyPart> parts;
  for (;;) {
    KeyPart part;
    part.offset = lexer_.pos();
    part.position = lexer_.Locate(part.offset);
    SEALPKG_ASSIGN_OR_RETURN(part.name, lexer_.ParseSimpleKey());
    parts.push_back(std::move(part));
    lexer_.SkipWhitespace();
    if (lexer_.Peek() != '.') return parts;
    lexer_.Advance(1);
    lexer_.SkipWhitespace();
  }
}

Status DocumentParser::ParseHeader() {
  const size_t open = lexer_.pos();
  const TomlPosition position = lexer_.Locate(open);
  const bool array_header = lexer_.Peek(1) == '[';
  lexer_.Advance(array_header ? 2 : 1);
  lexer_.SkipWhitespace();
  SEALPKG_ASSIGN_OR_RETURN(std::vector<KeyPart> key, ParseKey());
  if (array_header) {
    if (lexer_.Peek() != ']' || lexer_.Peek(1) != ']') {
      return lexer_.SyntaxError(lexer_.pos(),
                                "expected ']]' to close the array-of-tables header, found " +
                                    lexer_.Describe(lexer_.pos()));
    }
    lexer_.Advance(2);
  } else {
    if (lexer_.Peek() != ']') {
      return lexer_.SyntaxError(lexer_.pos(), "expected '.' or ']' in the table header, found " +
                                                  lexer_.Describe(lexer_.pos()));
    }
    lexer_.Advance(1);
  }
  ++section_;

  size_t table = 0;  // the root
  for (size_t i = 0; i + 1 < key.size(); ++i) {
    SEALPKG_ASSIGN_OR_RETURN(table, DescendForHeader(table, key, i));
  }
  const KeyPart& last = key.back();
  const size_t existing = FindChild(table, last.name);
  const uint32_t depth = nodes_[table].depth + 1;
  if (array_header) {
    size_t array = existing;
    if (existing == kNone) {
      SEALPKG_RETURN_IF_ERROR(CheckDepth(depth, last.offset));
      array = NewNode(Kind::kArray, position, depth);
      nodes_[array].array_of_tables = true;
      SEALPKG_RETURN_IF_ERROR(AddChild(table, last.name, array));
    } else if (!nodes_[existing].array_of_tables) {
      const Node& old = nodes_[existing];
      const std::string path = KeyText(key, key.size());
      return Duplicate(last.offset, "cannot define [[" + path + "]]: '" + path + "' is already " +
                                        KindName(old) + " (defined at " + At(old.position) + ")");
    }
    SEALPKG_RETURN_IF_ERROR(CheckDepth(nodes_[array].depth + 1, last.offset));
    const size_t element = NewNode(Kind::kTable, position, nodes_[array].depth + 1);
    nodes_[element].header_defined = true;
    SEALPKG_RETURN_IF_ERROR(AddItem(array, element));
    section_table_ = element;
  } else if (existing == kNone) {
    SEALPKG_RETURN_IF_ERROR(CheckDepth(depth, last.offset));
    section_table_ = NewNode(Kind::kTable, position, depth);
    nodes_[section_table_].header_defined = true;
    SEALPKG_RETURN_IF_ERROR(AddChild(table, last.name, section_table_));
  } else {
    Node& old = nodes_[existing];
    const std::string path = KeyText(key, key.size());
    const std::string first = At(old.position);
    const std::string where = " (at " + first + ")";
    if (old.kind != Kind::kTable) {
      return Duplicate(last.offset, "cannot define [" + path + "]: '" + path + "' is already " +
                                        KindName(old) + where);
    }
    if (old.inline_table) {
      return Duplicate(last.offset, "cannot define [" + path + "]: it is an inline table" + where +
                                        ", and inline tables cannot be extended");
    }
    if (old.header_defined) {
      return Duplicate(last.offset,
                       "table [" + path + "] is defined twice (first at " + first + ")");
    }
    if (old.dotted_section != 0) {
      return Duplicate(last.offset, "cannot define [" + path +
                                        "]: it was already defined by dotted keys" + where);
    }
    // A table created implicitly by a longer header ([a.b] before [a]) may be defined once.
    old.header_defined = true;
    old.position = position;
    section_table_ = existing;
  }
  return lexer_.ExpectLineEnd("table header");
}

Result<size_t> DocumentParser::DescendForHeader(size_t parent, const std::vector<KeyPart>& key,
                                                size_t index) {
  const KeyPart& part = key[index];
  const size_t child = FindChild(parent, part.name);
  if (child == kNone) {
    const uint32_t depth = nodes_[parent].depth + 1;
    SEALPKG_RETURN_IF_ERROR(CheckDepth(depth, part.offset));
    const size_t table = NewNode(Kind::kTable, part.position, depth);
    SEALPKG_RETURN_IF_ERROR(AddChild(parent, part.name, table));
    return table;
  }
  const Node& node = nodes_[child];
  if (node.kind == Kind::kTable && !node.inline_table) return child;
  if (node.kind == Kind::kArray && node.array_of_tables) {
    const std::vector<size_t>& elements = arrays_[node.index];
    if (elements.empty()) return InternalError("toml.internal", "empty array of tables");
    return elements.back();  // [a.b] after [[a]] extends the last element of a
  }
  return Duplicate(part.offset, "cannot add tables to '" + KeyText(key, index + 1) +
                                    "': it is already " + KindName(node) + " (defined at " +
                                    At(node.position) + ")");
}

Status DocumentParser::ParseKeyValueLine() {
  SEALPKG_ASSIGN_OR_RETURN(std::vector<KeyPart> key, ParseKey());
  if (lexer_.Peek() != '=') {
    return lexer_.SyntaxError(lexer_.pos(),
                              "expected '=' after the key, found " + lexer_.Describe(lexer_.pos()));
  }
  lexer_.Advance(1);
  lexer_.SkipWhitespace();
  SEALPKG_ASSIGN_OR_RETURN(const size_t table, ResolveDottedKey(section_table_, key));
  SEALPKG_ASSIGN_OR_RETURN(const size_t value, ParseValue(nodes_[table].depth));
  SEALPKG_RETURN_IF_ERROR(AddChild(table, std::move(key.back().name), value));
  return lexer_.ExpectLineEnd("value");
}

Result<size_t> DocumentParser::ResolveDottedKey(size_t base, const std::vector<KeyPart>& key) {
  size_t table = base;
  for (size_t i = 0; i + 1 < key.size(); ++i) {
    const KeyPart& part = key[i];
    const size_t child = FindChild(table, part.name);
    if (child == kNone) {
      const uint32_t depth = nodes_[table].depth + 1;
      SEALPKG_RETURN_IF_ERROR(CheckDepth(depth, part.offset));
      const size_t created = NewNode(Kind::kTable, part.position, depth);
      nodes_[created].dotted_section = section_;
      SEALPKG_RETURN_IF_ERROR(AddChild(table, part.name, created));
      table = created;
      continue;
    }
    Node& node = nodes_[child];
    const bool same_section = node.dotted_section == 0 || node.dotted_section == section_;
    if (node.kind == Kind::kTable && !node.inline_table && !node.header_defined && same_section) {
      node.dotted_section = section_;
      table = child;
      continue;
    }
    const std::string path = KeyText(key, i + 1);
    const std::string where = " (defined at " + At(node.position) + ")";
    if (node.kind != Kind::kTable) {
      return Duplicate(part.offset, "cannot use '" + path + "' as a table: it is already " +
                                        KindName(node) + where);
    }
    if (node.inline_table) {
      return Duplicate(part.offset, "cannot add keys to inline table '" + path + "'" + where +
                                        "; inline tables cannot be extended");
    }
    if (node.header_defined) {
      return Duplicate(part.offset, "cannot add keys to table '" + path +
                                        "' with dotted keys: it was defined by a [header]" + where);
    }
    return Duplicate(part.offset, "cannot add keys to table '" + path +
                                      "': it was defined by dotted keys in an earlier section" +
                                      where);
  }
  const KeyPart& last = key.back();
  const size_t existing = FindChild(table, last.name);
  if (existing != kNone) {
    return Duplicate(last.offset, "duplicate key '" + KeyText(key, key.size()) +
                                      "' (first defined at " + At(nodes_[existing].position) + ")");
  }
  return table;
}

Status DocumentParser::BeginInlineEntry(Frame& frame) {
  const size_t at = lexer_.pos();
  if (lexer_.AtNewline() || lexer_.Peek() == '\r') {
    return lexer_.SyntaxError(at,
                              "newline inside an inline table (inline tables must be on one line)");
  }
  if (lexer_.Peek() == '}') {
    return lexer_.SyntaxError(at, "trailing comma in an inline table");
  }
  SEALPKG_ASSIGN_OR_RETURN(std::vector<KeyPart> key, ParseKey());
  if (lexer_.Peek() != '=') {
    return lexer_.SyntaxError(lexer_.pos(),
                              "expected '=' after the key, found " + lexer_.Describe(lexer_.pos()));
  }
  lexer_.Advance(1);
  lexer_.SkipWhitespace();
  SEALPKG_ASSIGN_OR_RETURN(frame.target, ResolveDottedKey(frame.node, key));
  frame.key = std::move(key.back().name);
  return OkStatus();
}

Result<size_t> DocumentParser::ParseValue(uint32_t parent_depth) {
  std::vector<Frame> stack;
  for (;;) {
    // At the start of a value: its depth if it is a container.
    uint32_t depth = parent_depth + 1;
    if (!stack.empty()) {
      const Frame& top = stack.back();
      depth = nodes_[top.is_array ? top.node : top.target].depth + 1;
    }
    const size_t start = lexer_.pos();
    const int c = lexer_.Peek();
    size_t value = kNone;
    if (c == '[' || c == '{') {
      // Checked before the container exists: a 100000-deep "[[[[" stops here at depth N+1.
      SEALPKG_RETURN_IF_ERROR(CheckDepth(depth, start));
      const size_t node =
          NewNode(c == '[' ? Kind::kArray : Kind::kTable, lexer_.Locate(start), depth);
      lexer_.Advance(1);
      if (c == '[') {
        stack.push_back(Frame{node, true, 0, {}});
        SEALPKG_RETURN_IF_ERROR(lexer_.SkipWhitespaceCommentsNewlines());
        if (lexer_.Peek() != ']') continue;
        lexer_.Advance(1);
      } else {
        nodes_[node].inline_table = true;
        stack.push_back(Frame{node, false, 0, {}});
        lexer_.SkipWhitespace();
        if (lexer_.Peek() != '}') {
          SEALPKG_RETURN_IF_ERROR(BeginInlineEntry(stack.back()));
          continue;
        }
        lexer_.Advance(1);
      }
      stack.pop_back();
      value = node;
    } else {
      const TomlPosition position = lexer_.Locate(start);
      auto scalar = lexer_.ParseScalar();
      if (!scalar.ok()) {
        if (!stack.empty() && lexer_.pos() >= text_.size() && start == lexer_.pos()) {
          const Node& open = nodes_[stack.back().node];
          return lexer_.SyntaxError(
              start, std::string("unterminated ") +
                         (open.kind == Kind::kArray ? "array" : "inline table") + " (opened at " +
                         At(open.position) + ")");
        }
        return std::move(scalar).status();
      }
      switch (scalar->kind) {
        case TomlScalar::Kind::kString:
          value = NewNode(Kind::kString, position, depth);
          nodes_[value].index = strings_.size();
          strings_.push_back(std::move(scalar->string_value));
          break;
        case TomlScalar::Kind::kInteger:
          value = NewNode(Kind::kInteger, position, depth);
          nodes_[value].integer_value = scalar->integer_value;
          break;
        case TomlScalar::Kind::kBool:
          value = NewNode(Kind::kBool, position, depth);
          nodes_[value].bool_value = scalar->bool_value;
          break;
      }
    }
    // A value is complete: add it to its container, closing every container that ends here.
    for (;;) {
      if (stack.empty()) return value;
      Frame& top = stack.back();
      const TomlPosition opened = nodes_[top.node].position;
      if (top.is_array) {
        SEALPKG_RETURN_IF_ERROR(AddItem(top.node, value));
        SEALPKG_RETURN_IF_ERROR(lexer_.SkipWhitespaceCommentsNewlines());
        if (lexer_.Peek() == ',') {
          lexer_.Advance(1);
          SEALPKG_RETURN_IF_ERROR(lexer_.SkipWhitespaceCommentsNewlines());
          if (lexer_.Peek() != ']') break;  // the next element
        } else if (lexer_.Peek() != ']') {
          return lexer_.SyntaxError(lexer_.pos(), "expected ',' or ']' in the array opened at " +
                                                      At(opened) + ", found " +
                                                      lexer_.Describe(lexer_.pos()));
        }
        lexer_.Advance(1);  // ']'
      } else {
        SEALPKG_RETURN_IF_ERROR(AddChild(top.target, std::move(top.key), value));
        lexer_.SkipWhitespace();
        if (lexer_.Peek() == ',') {
          lexer_.Advance(1);
          lexer_.SkipWhitespace();
          SEALPKG_RETURN_IF_ERROR(BeginInlineEntry(top));
          break;  // the next value
        }
        if (lexer_.Peek() != '}') {
          const bool newline = lexer_.AtNewline() || lexer_.Peek() == '\r';
          return lexer_.SyntaxError(
              lexer_.pos(), newline ? "newline inside an inline table (inline tables must be on "
                                      "one line)"
                                    : "expected ',' or '}' in the inline table opened at " +
                                          At(opened) + ", found " + lexer_.Describe(lexer_.pos()));
        }
        lexer_.Advance(1);  // '}'
      }
      value = top.node;
      stack.pop_back();
    }
  }
}

Result<TomlValue> DocumentParser::Build() {
  // Top-down with an explicit work list. Each container's vector is reserved to its final size
  // before any element is added, so pointers to its elements stay valid until they are filled.
  // The result's destructor recurses once per nesting level; max_nesting bounds that.
  TomlValue root;
  struct Todo {
    TomlValue* out;
    size_t node;
  };
  std::vector<Todo> todo;
  if (nodes_.empty()) return InternalError("toml.internal", "no root table");
  todo.push_back(Todo{&root, 0});
  // A scalar is built in place; a container gets a placeholder filled when its turn comes.
  const auto make = [this](size_t id) {
    const Node& n = nodes_[id];
    switch (n.kind) {
      case Kind::kString:
        return TomlValue::String(std::move(strings_[n.index]), n.position.line, n.position.column);
      case Kind::kInteger:
        return TomlValue::Integer(n.integer_value, n.position.line, n.position.column);
      case Kind::kBool:
        return TomlValue::Bool(n.bool_value, n.position.line, n.position.column);
      case Kind::kArray:
        return TomlValue::Array(n.position.line, n.position.column);
      case Kind::kTable:
        break;
    }
    return TomlValue::Table(n.position.line, n.position.column);
  };
  const auto is_container = [this](size_t id) {
    return nodes_[id].kind == Kind::kArray || nodes_[id].kind == Kind::kTable;
  };
  while (!todo.empty()) {
    const Todo item = todo.back();
    todo.pop_back();
    *item.out = make(item.node);
    const Node& node = nodes_[item.node];
    if (node.kind == Kind::kArray) {
      const std::vector<size_t>& children = arrays_[node.index];
      std::vector<TomlValue>& out = item.out->mutable_array();
      out.reserve(children.size());
      for (size_t child : children) {
        // Children always follow their parent, which also rules out cycles.
        if (child <= item.node || child >= nodes_.size()) {
          return InternalError("toml.internal", "node order");
        }
        out.push_back(make(child));
        if (is_container(child)) todo.push_back(Todo{&out.back(), child});
      }
    } else if (node.kind == Kind::kTable) {
      std::vector<TableEntry>& children = tables_[node.index];
      auto& out = item.out->mutable_table();
      out.reserve(children.size());
      for (const TableEntry& entry : children) {
        if (entry.child <= item.node || entry.child >= nodes_.size()) {
          return InternalError("toml.internal", "node order");
        }
        // children_ still holds views of the keys, but it is not searched any more.
        out.emplace_back(std::move(*entry.key), make(entry.child));
        if (is_container(entry.child)) todo.push_back(Todo{&out.back().second, entry.child});
      }
    }
  }
  return root;
}

}  // namespace

Result<TomlValue> ParseToml(std::string_view text, const PolicyLimits& limits) {
  DocumentParser parser(text, limits);
  return parser.Parse();
}

}  // namespace sealpkg::verifier
