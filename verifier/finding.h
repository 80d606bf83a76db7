// Findings: what the verifier reports about a pickle, a Python source or a whole package.
//
// Every finding carries a stable code (below; tests, JSON and SARIF pin them), the broad kind
// (malformed input, a limit, or a policy decision), where it is (archive entry, byte offset for
// pickles or line/column for sources), the construct (an opcode such as "STACK_GLOBAL" or a
// source construct such as "import"), the name involved (a resolved global "os.getcwd", a module)
// and the rule that decided. A package is accepted only if it has no finding of severity error.
//
//   for (const Finding& f : report.findings) std::cout << f.code << " " << f.name << "\n";
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sealpkg::verifier {

enum class Severity : uint8_t {
  kError,    // the input is rejected
  kWarning,  // reported, does not reject (e.g. an unused capability)
};

struct Finding {
  std::string code;  // stable id, one of the constants in namespace `code` below
  ErrorCode kind = ErrorCode::kPolicyDenied;
  Severity severity = Severity::kError;
  std::string entry;               // archive record (or file path for plain files)
  std::optional<uint64_t> offset;  // byte offset inside the entry (pickles)
  std::optional<uint32_t> line;    // 1-based (sources)
  std::optional<uint32_t> column;  // 1-based (sources)
  std::string construct;           // opcode name or source construct
  std::string name;                // resolved global, module, attribute...
  std::string rule;                // policy rule or built-in check that decided
  std::string message;             // for people
};

// Stable finding codes.
namespace code {

// Pickle stream structure (ErrorCode::kMalformed).
inline constexpr std::string_view kPickleTruncated = "pickle.truncated";
inline constexpr std::string_view kPickleUnknownOpcode = "pickle.unknown-opcode";
inline constexpr std::string_view kPickleBadArgument = "pickle.bad-argument";
inline constexpr std::string_view kPickleBadProtocol = "pickle.bad-protocol";
inline constexpr std::string_view kPickleStackUnderflow = "pickle.stack-underflow";
inline constexpr std::string_view kPickleMarkMissing = "pickle.mark-missing";
inline constexpr std::string_view kPickleMemoMissing = "pickle.memo-missing";
inline constexpr std::string_view kPickleBadMemoIndex = "pickle.bad-memo-index";
inline constexpr std::string_view kPickleFrame = "pickle.frame-violation";  // straddles, overruns
inline constexpr std::string_view kPickleTypeError = "pickle.type-error";   // op on wrong value
inline constexpr std::string_view kPickleNonLiteralGlobal = "pickle.non-literal-global";
inline constexpr std::string_view kPickleStackNotEmpty = "pickle.stack-not-empty";  // at STOP
inline constexpr std::string_view kPickleTrailingBytes = "pickle.trailing-bytes";
inline constexpr std::string_view kPickleOutOfBand = "pickle.out-of-band-buffer";
inline constexpr std::string_view kPickleExtension = "pickle.extension-code";  // EXT1/2/4
inline constexpr std::string_view kPickleUnbuiltObject = "pickle.unbuilt-object";

// Pickle limits (ErrorCode::kLimitExceeded).
inline constexpr std::string_view kPickleTooManyOpcodes = "pickle.too-many-opcodes";
inline constexpr std::string_view kPickleStackTooDeep = "pickle.stack-too-deep";
inline constexpr std::string_view kPickleTooManyMarks = "pickle.too-many-marks";
inline constexpr std::string_view kPickleMemoTooLarge = "pickle.memo-too-large";
inline constexpr std::string_view kPickleArgumentTooLarge = "pickle.argument-too-large";
inline constexpr std::string_view kPickleTooManyValues = "pickle.too-many-values";

// Pickle policy decisions (ErrorCode::kPolicyDenied).
inline constexpr std::string_view kPickleOpcodeDenied = "pickle.opcode-denied";
inline constexpr std::string_view kPickleGlobalDenied = "pickle.global-denied";
inline constexpr std::string_view kPickleCallDenied = "pickle.call-denied";
inline constexpr std::string_view kPickleBuildDenied = "pickle.build-denied";
inline constexpr std::string_view kPickleMutationDenied = "pickle.mutation-denied";
inline constexpr std::string_view kPicklePersistentIdDenied = "pickle.persistent-id-denied";
inline constexpr std::string_view kPickleStorageMismatch = "pickle.storage-mismatch";
inline constexpr std::string_view kPickleProtocolDenied = "pickle.protocol-denied";

// Python sources (syntax: kMalformed; the rest: kPolicyDenied).
inline constexpr std::string_view kSourceSyntax = "source.syntax";
inline constexpr std::string_view kSourceImportDenied = "source.import-denied";
inline constexpr std::string_view kSourceRelativeImport = "source.relative-import-beyond-top";
inline constexpr std::string_view kSourceDynamicImport = "source.dynamic-import";
inline constexpr std::string_view kSourceDynamicCode = "source.dynamic-code";  // exec/eval/...
inline constexpr std::string_view kSourceBuiltinsAccess = "source.builtins-access";
inline constexpr std::string_view kSourceReflection = "source.reflection";  // getattr non-literal
inline constexpr std::string_view kSourceAttributeDenied = "source.attribute-denied";  // os.system
inline constexpr std::string_view kSourceTooLarge = "source.too-large";  // kLimitExceeded

// Whole packages and files.
inline constexpr std::string_view kPackageArchive = "package.archive";  // strict ZIP rejection
inline constexpr std::string_view kPackageExternDenied = "package.extern-denied";
inline constexpr std::string_view kPackageModuleDenied = "package.module-denied";  // interned
inline constexpr std::string_view kPackageModuleMissing = "package.module-missing";
inline constexpr std::string_view kPackageSourceMismatch = "package.source-mismatch";  // pins
inline constexpr std::string_view kPackageEntryDenied = "package.entry-denied";        // resources
inline constexpr std::string_view kPackageDataSource = "package.data-source";          // .data/*.py
inline constexpr std::string_view kPackageTorchScript = "package.torchscript";
inline constexpr std::string_view kPackageNestedArchive = "package.nested-archive";
inline constexpr std::string_view kPackageFrameworkRecord = "package.framework-record";
inline constexpr std::string_view kInputUnknownFormat = "input.unknown-format";
inline constexpr std::string_view kInputUnreadable = "input.unreadable";  // I/O errors

}  // namespace code

}  // namespace sealpkg::verifier
