#include "core/memory_advice.h"

#include <malloc.h>
#include <sys/mman.h>

namespace sealpkg {
namespace {

constexpr uintptr_t kPage = 4096;
constexpr size_t kWorthIt = 2u << 20;  // below one huge page the advice costs more than it saves

// The page-aligned part of [p, p + n), or an empty range.
std::span<const uint8_t> Inner(const uint8_t* p, size_t n) {
  const auto begin = (reinterpret_cast<uintptr_t>(p) + kPage - 1) & ~(kPage - 1);
  const auto end = (reinterpret_cast<uintptr_t>(p) + n) & ~(kPage - 1);
  if (end <= begin) return {};
  return {reinterpret_cast<const uint8_t*>(begin), end - begin};
}

}  // namespace

void AdviseHugePages(std::span<uint8_t> fresh) {
  if (fresh.size() < kWorthIt) return;
  const auto inner = Inner(fresh.data(), fresh.size());
  if (!inner.empty()) {
    ::madvise(const_cast<uint8_t*>(inner.data()), inner.size(), MADV_HUGEPAGE);
  }
}

void KeepFreedMemoryForReuse() {
  // Best effort: mallopt returns 0 for values it does not accept, which changes nothing.
  (void)::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  (void)::mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace sealpkg
