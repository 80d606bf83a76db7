#include "core/json_writer.h"

#include "core/printable.h"

namespace sealpkg {

void JsonWriter::Newline() {
  if (indent_ <= 0) return;
  out_ += '\n';
  out_.append(levels_.size() * static_cast<size_t>(indent_), ' ');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!levels_.empty()) {
    if (!levels_.back().empty) out_ += ',';
    levels_.back().empty = false;
    Newline();
  }
}

void JsonWriter::Open(char bracket) {
  BeforeValue();
  out_ += bracket;
  levels_.push_back({});
}

void JsonWriter::Close(char bracket) {
  if (levels_.empty()) return;  // unbalanced End*(): ignore rather than corrupt memory
  const bool empty = levels_.back().empty;
  levels_.pop_back();
  if (!empty) Newline();
  out_ += bracket;
}

JsonWriter& JsonWriter::BeginObject() {
  return Open('{'), *this;
}
JsonWriter& JsonWriter::EndObject() {
  return Close('}'), *this;
}
JsonWriter& JsonWriter::BeginArray() {
  return Open('['), *this;
}
JsonWriter& JsonWriter::EndArray() {
  return Close(']'), *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  BeforeValue();
  AppendEscaped(key);
  out_ += indent_ > 0 ? ": " : ":";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendEscaped(value);
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  out_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  out_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}

void JsonWriter::AppendEscaped(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out_ += '"';
  size_t i = 0;
  while (i < text.size()) {
    // Copy the longest valid UTF-8 run; replace each invalid byte by U+FFFD.
    size_t j = i;
    while (j < text.size()) {
      const auto c = static_cast<unsigned char>(text[j]);
      if (c < 0x80) {
        if (c < 0x20 || c == '"' || c == '\\') break;
        ++j;
        continue;
      }
      size_t len = 1;
      while (len < 4 && j + len <= text.size() && !IsValidUtf8(text.substr(j, len))) ++len;
      if (j + len > text.size() || !IsValidUtf8(text.substr(j, len))) break;
      j += len;
    }
    out_.append(text.substr(i, j - i));
    if (j == text.size()) break;
    const auto c = static_cast<unsigned char>(text[j]);
    if (c == '"' || c == '\\') {
      out_ += '\\';
      out_ += static_cast<char>(c);
    } else if (c == '\n') {
      out_ += "\\n";
    } else if (c == '\t') {
      out_ += "\\t";
    } else if (c < 0x20) {
      out_ += "\\u00";
      out_ += kHex[c >> 4];
      out_ += kHex[c & 0xF];
    } else {
      out_ += "\xEF\xBF\xBD";  // U+FFFD for a byte that starts no valid UTF-8 sequence
    }
    i = j + 1;
  }
  out_ += '"';
}

}  // namespace sealpkg
