// Renders verification reports for people (text) and machines (JSON, SARIF 2.1.0).
//
// The same finding codes, entries, offsets/lines and rules appear in every format. SARIF output
// is what GitHub code scanning accepts: one run, a rule per finding code, results located in the
// scanned file (line/column for sources, byte offsets as properties for pickles).
//
//   std::cout << RenderText(reports, /*color=*/isatty(1));
//   std::cout << RenderSarif(reports, "0.1.0");
#pragma once

#include <string>
#include <vector>

#include "verifier/package_verifier.h"

namespace sealpkg {
class JsonWriter;
}

namespace sealpkg::verifier {

// One finding as a JSON object ({code, kind, severity, entry, offset, line, column, construct,
// name, rule, message}), as in RenderJson; for other documents that embed findings (scan JSONL).
void WriteFindingJson(JsonWriter& j, const Finding& f);

std::string RenderText(const std::vector<VerifyReport>& reports, bool color);
std::string RenderJson(const std::vector<VerifyReport>& reports);
std::string RenderSarif(const std::vector<VerifyReport>& reports, std::string_view version);

}  // namespace sealpkg::verifier
