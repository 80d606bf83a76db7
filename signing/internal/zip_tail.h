// The canonical tail sealpkg appends to a ZIP archive to embed a signature (signing.md §6.3).
//
// Given an archive whose entries end at `entry_offset` and whose central-directory records for
// those entries are `base_cd` (copied verbatim), the tail is: one STORED local header for the
// signature entry (version 0, flags 0x0800 (UTF-8), DOS time 00:00 1980-01-01, CRC and sizes in
// the header, no data descriptor, no extra field), the bundle bytes, the central directory
// (base_cd + the signature entry's record: made-by 0, version 0, same fields, attributes 0, a
// ZIP64 extra with the offset only when the offset needs 64 bits), a ZIP64 end record (made-by
// 0x031e, version 45), its locator and the classic end record, no comment: the layout torch's
// writer ends with. Signing writes it; verification rebuilds it from the file's own bundle and
// records and requires byte equality, so none of these bytes can vary.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace sealpkg::signing::internal {

// Appends the tail to `out`. `base_count` is the number of records in `base_cd`.
void AppendSignatureTail(std::vector<uint8_t>& out, uint64_t entry_offset, std::string_view name,
                         std::span<const uint8_t> bundle, std::span<const uint8_t> base_cd,
                         uint64_t base_count);

// Size of the tail AppendSignatureTail would write (for reserving).
uint64_t SignatureTailSize(uint64_t entry_offset, std::string_view name, uint64_t bundle_size,
                           uint64_t base_cd_size);

}  // namespace sealpkg::signing::internal
