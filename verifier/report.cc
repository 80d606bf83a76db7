#include "verifier/report.h"

#include <map>

#include "core/json_writer.h"
#include "core/printable.h"

namespace sealpkg::verifier {
namespace {

std::string Location(const Finding& f) {
  std::string out = f.entry.empty() ? "" : Printable(f.entry);
  if (f.line) {
    out += ":" + std::to_string(*f.line);
    if (f.column) out += ":" + std::to_string(*f.column);
  } else if (f.offset) {
    out += "@" + std::to_string(*f.offset);
  }
  return out;
}

}  // namespace

void WriteFindingJson(JsonWriter& j, const Finding& f) {
  j.BeginObject();
  j.Key("code").String(f.code);
  j.Key("kind").String(ErrorCodeName(f.kind));
  j.Key("severity").String(f.severity == Severity::kError ? "error" : "warning");
  j.Key("entry").String(f.entry);
  j.Key("offset");
  f.offset ? j.Uint(*f.offset) : j.Null();
  j.Key("line");
  f.line ? j.Uint(*f.line) : j.Null();
  j.Key("column");
  f.column ? j.Uint(*f.column) : j.Null();
  j.Key("construct").String(f.construct);
  j.Key("name").String(f.name);
  j.Key("rule").String(f.rule);
  j.Key("message").String(f.message);
  j.EndObject();
}

std::string RenderText(const std::vector<VerifyReport>& reports, bool color) {
  const std::string red = color ? "\033[31m" : "", green = color ? "\033[32m" : "",
                    dim = color ? "\033[2m" : "", plain = color ? "\033[0m" : "";
  std::string out;
  for (const VerifyReport& r : reports) {
    out += r.accepted ? green + "ACCEPTED" + plain : red + "REJECTED" + plain;
    out += " " + Printable(r.path) + " (" + r.format + ", policy " + Printable(r.policy) + "): ";
    out += std::to_string(r.pickles) + " pickles, " + std::to_string(r.globals) + " globals, " +
           std::to_string(r.sources) + " sources, " + std::to_string(r.storages) + " storages";
    if (!r.findings.empty()) out += ", " + std::to_string(r.findings.size()) + " findings";
    out += "\n";
    for (const Finding& f : r.findings) {
      out += "  " + f.code + "  " + Location(f);
      if (!f.construct.empty()) out += "  " + f.construct;
      if (!f.name.empty()) out += "  " + Printable(f.name);
      out += "\n    " + dim + (f.rule.empty() ? "" : "[" + f.rule + "] ") + plain +
             Printable(f.message) + "\n";
    }
  }
  return out;
}

std::string RenderJson(const std::vector<VerifyReport>& reports) {
  JsonWriter j(2);
  j.BeginObject();
  j.Key("reports").BeginArray();
  for (const VerifyReport& r : reports) {
    j.BeginObject();
    j.Key("path").String(r.path);
    j.Key("format").String(r.format);
    j.Key("policy").String(r.policy);
    j.Key("accepted").Bool(r.accepted);
    j.Key("pickles").Uint(r.pickles);
    j.Key("globals").Uint(r.globals);
    j.Key("sources").Uint(r.sources);
    j.Key("storages").Uint(r.storages);
    j.Key("findings").BeginArray();
    for (const Finding& f : r.findings) WriteFindingJson(j, f);
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  return j.Take() + "\n";
}

std::string RenderSarif(const std::vector<VerifyReport>& reports, std::string_view version) {
  std::map<std::string, const Finding*> rules;  // one rule per code, in stable order
  for (const VerifyReport& r : reports) {
    for (const Finding& f : r.findings) rules.emplace(f.code, &f);
  }
  JsonWriter j(2);
  j.BeginObject();
  j.Key("$schema").String("https://json.schemastore.org/sarif-2.1.0.json");
  j.Key("version").String("2.1.0");
  j.Key("runs").BeginArray().BeginObject();
  j.Key("tool").BeginObject().Key("driver").BeginObject();
  j.Key("name").String("sealpkg");
  j.Key("version").String(version);
  j.Key("informationUri").String("https://github.com/sealpkg/sealpkg");
  j.Key("rules").BeginArray();
  for (const auto& [code, example] : rules) {
    j.BeginObject();
    j.Key("id").String(code);
    j.Key("name").String(code);
    j.Key("shortDescription").BeginObject().Key("text").String(code).EndObject();
    j.Key("fullDescription")
        .BeginObject()
        .Key("text")
        .String(std::string(ErrorCodeName(example->kind)) + ": " + code)
        .EndObject();
    j.Key("defaultConfiguration").BeginObject().Key("level").String("error").EndObject();
    j.EndObject();
  }
  j.EndArray();
  j.EndObject().EndObject();  // driver, tool
  j.Key("results").BeginArray();
  for (const VerifyReport& r : reports) {
    for (const Finding& f : r.findings) {
      j.BeginObject();
      j.Key("ruleId").String(f.code);
      j.Key("level").String(f.severity == Severity::kError ? "error" : "warning");
      j.Key("message")
          .BeginObject()
          .Key("text")
          .String((f.entry.empty() ? "" : f.entry + ": ") + f.message)
          .EndObject();
      j.Key("locations").BeginArray().BeginObject();
      j.Key("physicalLocation").BeginObject();
      j.Key("artifactLocation").BeginObject().Key("uri").String(r.path).EndObject();
      j.Key("region").BeginObject();
      j.Key("startLine").Uint(f.line.value_or(1));
      if (f.column) j.Key("startColumn").Uint(*f.column);
      j.EndObject();
      j.EndObject();  // physicalLocation
      if (!f.entry.empty()) {
        j.Key("logicalLocations").BeginArray().BeginObject();
        j.Key("fullyQualifiedName").String(f.entry);
        j.Key("kind").String("resource");
        j.EndObject().EndArray();
      }
      j.EndObject().EndArray();  // location, locations
      j.Key("properties").BeginObject();
      j.Key("entry").String(f.entry);
      if (f.offset) j.Key("byteOffset").Uint(*f.offset);
      j.Key("construct").String(f.construct);
      j.Key("name").String(f.name);
      j.Key("rule").String(f.rule);
      j.Key("kind").String(ErrorCodeName(f.kind));
      j.EndObject();
      j.EndObject();
    }
  }
  j.EndArray();
  j.EndObject().EndArray();  // run, runs
  j.EndObject();
  return j.Take() + "\n";
}

}  // namespace sealpkg::verifier
