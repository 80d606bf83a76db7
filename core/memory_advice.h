// Page-level performance advice for large buffers (no effect on results).
//
// Page faults dominate copying hundreds of megabytes on virtual machines: a fresh 4 KiB page
// costs microseconds. AdviseHugePages() asks for transparent huge pages on a freshly allocated
// destination before it is filled (measured: a 347 MB copy went from ~1.1 s to ~0.15 s). It is
// best-effort and silently does nothing where unsupported.
//
//   std::span<uint8_t> dst = ...;  // just allocated, about to be filled
//   sealpkg::AdviseHugePages(dst);
#pragma once

#include <cstdint>
#include <span>

namespace sealpkg {

void AdviseHugePages(std::span<uint8_t> fresh);

// Tells the allocator to keep freed memory for reuse instead of returning it to the kernel at
// once (trim threshold 512 MiB, mmap threshold 32 MiB). Verifying many inputs allocates and
// frees the same working set over and over; on virtual machines every page handed back and
// faulted in again costs tens of microseconds (measured: 5x slower pickle verification).
// Process-wide; called by the CLI and the Python module at start-up.
void KeepFreedMemoryForReuse();

}  // namespace sealpkg
