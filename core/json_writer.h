// Minimal streaming JSON writer for machine-readable output (inspect, scan, verify reports).
//
// Produces RFC 8259 JSON: strings are escaped (control characters as \u00XX), invalid UTF-8 in
// untrusted text is replaced by U+FFFD so the output always parses. Commas and nesting are
// tracked internally; misuse (a value where a key is due) is a programming error caught by tests.
//
//   sealpkg::JsonWriter j(/*indent=*/2);
//   j.BeginObject().Key("entries").BeginArray().String("a").EndArray().EndObject();
//   std::string text = j.Take();
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sealpkg {

class JsonWriter {
 public:
  explicit JsonWriter(int indent = 0) : indent_(indent) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  // The document so far; call after the outermost value is closed.
  std::string Take() { return std::move(out_); }

 private:
  void BeforeValue();
  void Open(char bracket);
  void Close(char bracket);
  void Newline();
  void AppendEscaped(std::string_view text);

  std::string out_;
  struct Level {
    bool empty = true;
  };
  std::vector<Level> levels_;
  bool after_key_ = false;
  int indent_;
};

}  // namespace sealpkg
