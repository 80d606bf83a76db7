// Stable reason ids of every archive rejection (Status::reason()).
//
// Tests, the golden table in tests/data/malformed/archive/ and JSON/SARIF output pin these
// strings; renaming one is a breaking change. Each comment names the attack or defect the
// check stops (see shared/reference/signing.md §5 for the ZIP ambiguity catalogue).
#pragma once

#include <string_view>

namespace sealpkg::archive::reason {

// Whole-file structure.
inline constexpr std::string_view kTooSmall = "zip.too-small";        // < one end record
inline constexpr std::string_view kEocdMissing = "zip.eocd-missing";  // no end record at EOF-22
inline constexpr std::string_view kArchiveComment =
    "zip.archive-comment";  // fake-EOCD hiding place
inline constexpr std::string_view kDecoyEndRecord = "zip.decoy-end-record";  // libzip's pick
inline constexpr std::string_view kMultiDisk = "zip.multi-disk";             // spanned archives
inline constexpr std::string_view kZip64Bad = "zip.zip64-bad";            // locator/record broken
inline constexpr std::string_view kZip64Mismatch = "zip.zip64-mismatch";  // 32/64-bit disagree
inline constexpr std::string_view kZip64Missing = "zip.zip64-missing";    // sentinel, no ZIP64
inline constexpr std::string_view kNoEntries = "zip.no-entries";          // torch needs a folder
inline constexpr std::string_view kCdBounds = "zip.cd-bounds";  // CD not exactly before the end
inline constexpr std::string_view kCdTruncated = "zip.cd-truncated";
inline constexpr std::string_view kCdBadSignature = "zip.cd-bad-signature";
inline constexpr std::string_view kCdCountMismatch = "zip.cd-count-mismatch";  // size vs count
inline constexpr std::string_view kPrependedData = "zip.prepended-data";       // polyglots, Janus
inline constexpr std::string_view kGap = "zip.gap";          // unexplained bytes between spans
inline constexpr std::string_view kOverlap = "zip.overlap";  // overlapping spans, zip bombs

// One central-directory record.
inline constexpr std::string_view kEntryComment = "zip.entry-comment";
inline constexpr std::string_view kEncrypted = "zip.encrypted";
inline constexpr std::string_view kUnsupportedFlags = "zip.unsupported-flags";
inline constexpr std::string_view kUnsupportedMethod = "zip.unsupported-method";
inline constexpr std::string_view kUnsupportedVersion = "zip.unsupported-version";
inline constexpr std::string_view kUnsupportedAttributes = "zip.unsupported-attributes";
inline constexpr std::string_view kSymlink = "zip.symlink";
inline constexpr std::string_view kNotRegularFile = "zip.not-regular-file";
inline constexpr std::string_view kStoredSizeMismatch = "zip.stored-size-mismatch";
inline constexpr std::string_view kExtraFieldBad = "zip.extra-field-bad";  // lengths don't add up
inline constexpr std::string_view kExtraFieldUnknown = "zip.extra-field-unknown";
inline constexpr std::string_view kZip64ExtraBad = "zip.zip64-extra-bad";
inline constexpr std::string_view kPaddingBad = "zip.padding-bad";

// Names (differential-parser attacks and path traversal).
inline constexpr std::string_view kNameNotUtf8 = "zip.name-not-utf8";
inline constexpr std::string_view kNameUtf8FlagMissing = "zip.name-utf8-flag-missing";  // cp437
inline constexpr std::string_view kNameControlChar = "zip.name-control-char";  // NUL cuts names
inline constexpr std::string_view kNameBackslash = "zip.name-backslash";
inline constexpr std::string_view kNameForbiddenChar = "zip.name-forbidden-char";  // ':' drives
inline constexpr std::string_view kNameAbsolute = "zip.name-absolute";
inline constexpr std::string_view kNameDotSegment = "zip.name-dot-segment";  // '.' and '..'
inline constexpr std::string_view kNameEmptySegment = "zip.name-empty-segment";
inline constexpr std::string_view kNoTopLevelFolder = "zip.no-top-level-folder";
inline constexpr std::string_view kOutsideTopLevelFolder = "zip.outside-top-level-folder";
inline constexpr std::string_view kDuplicateName = "zip.duplicate-name";  // Master Key
inline constexpr std::string_view kCaseCollision = "zip.case-collision";  // miniz ignores case
inline constexpr std::string_view kFileDirConflict = "zip.file-dir-conflict";

// Local headers and data descriptors, cross-checked against the central directory.
inline constexpr std::string_view kLocalTruncated = "zip.local-truncated";
inline constexpr std::string_view kLocalBadSignature = "zip.local-bad-signature";
inline constexpr std::string_view kLocalNameMismatch = "zip.local-name-mismatch";
inline constexpr std::string_view kLocalMethodMismatch = "zip.local-method-mismatch";
inline constexpr std::string_view kLocalFlagsMismatch = "zip.local-flags-mismatch";
inline constexpr std::string_view kLocalFieldMismatch = "zip.local-field-mismatch";  // version/time
inline constexpr std::string_view kLocalCrcMismatch = "zip.local-crc-mismatch";
inline constexpr std::string_view kLocalSizeMismatch = "zip.local-size-mismatch";
inline constexpr std::string_view kDescriptorMissing = "zip.descriptor-missing";
inline constexpr std::string_view kDescriptorMismatch = "zip.descriptor-mismatch";

// Limits (ErrorCode::kLimitExceeded).
inline constexpr std::string_view kArchiveTooLarge = "zip.archive-too-large";
inline constexpr std::string_view kTooManyEntries = "zip.too-many-entries";
inline constexpr std::string_view kNameTooLong = "zip.name-too-long";
inline constexpr std::string_view kEntryTooLarge = "zip.entry-too-large";
inline constexpr std::string_view kDeflatedEntryTooLarge = "zip.deflated-entry-too-large";
inline constexpr std::string_view kTotalTooLarge = "zip.total-too-large";
inline constexpr std::string_view kCompressionRatio = "zip.compression-ratio";

// Reading entry data.
inline constexpr std::string_view kCrcMismatch = "zip.crc-mismatch";
inline constexpr std::string_view kInflateFailed = "zip.inflate-failed";
inline constexpr std::string_view kNotStored = "zip.not-stored";  // zero-copy view of DEFLATE
inline constexpr std::string_view kNoSuchRecord = "zip.no-such-record";

// Writing.
inline constexpr std::string_view kBadArchiveName = "zip.bad-archive-name";
inline constexpr std::string_view kWriterState = "zip.writer-finished";

}  // namespace sealpkg::archive::reason
