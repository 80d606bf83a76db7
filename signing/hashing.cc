#include "signing/hashing.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <numeric>
#include <string_view>
#include <system_error>
#include <thread>

namespace sealpkg::signing {
namespace {

// Fetched once: EVP_MD_fetch does a provider lookup each call, measurable for tiny entries.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_MD_CTX, CtxFree>;

bool HashOne(EVP_MD_CTX* ctx, std::span<const uint8_t> data, size_t chunk, Sha256Digest& out) {
  if (EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr) != 1) return false;
  for (size_t off = 0; off < data.size(); off += chunk) {
    const size_t n = std::min(chunk, data.size() - off);
    if (EVP_DigestUpdate(ctx, data.data() + off, n) != 1) return false;
  }
  unsigned len = 0;
  return EVP_DigestFinal_ex(ctx, out.data(), &len) == 1 && len == out.size();
}

}  // namespace

Result<std::vector<Sha256Digest>> Sha256Many(std::span<const std::span<const uint8_t>> inputs,
                                             const HashOptions& options) {
  std::vector<Sha256Digest> out(inputs.size());
  if (inputs.empty()) return out;
  if (Sha256Md() == nullptr) return InternalError("internal.sha256", "EVP_MD_fetch(SHA256) failed");
  const size_t chunk = std::clamp<size_t>(options.chunk_bytes, 1u << 20, 4u << 20);
  unsigned threads = options.threads != 0 ? options.threads : std::thread::hardware_concurrency();
  threads = static_cast<unsigned>(std::clamp<size_t>(threads, 1, inputs.size()));

  // Largest first, so one big storage does not start last and leave the other workers idle.
  std::vector<size_t> order(inputs.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return inputs[a].size() > inputs[b].size(); });
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  const auto work = [&] {
    CtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx) {
      failed = true;
      return;
    }
    for (size_t i = next++; i < order.size() && !failed; i = next++) {
      if (!HashOne(ctx.get(), inputs[order[i]], chunk, out[order[i]])) failed = true;
    }
  };
  std::vector<std::thread> pool;
  try {
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  } catch (const std::system_error&) {
    // Could not start more threads: the ones running (and this one) finish the work.
  }
  work();
  for (std::thread& t : pool) t.join();
  if (failed) return InternalError("internal.sha256", "SHA-256 computation failed");
  return out;
}

struct Sha256Hasher::Impl {
  CtxPtr ctx{EVP_MD_CTX_new()};
};

Sha256Hasher::Sha256Hasher() : impl_(std::make_unique<Impl>()) {
  if (!impl_->ctx || EVP_DigestInit_ex2(impl_->ctx.get(), Sha256Md(), nullptr) != 1) std::abort();
}
Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::Update(std::span<const uint8_t> data) {
  if (EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size()) != 1) std::abort();
}

void Sha256Hasher::UpdateU64(uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  Update(b);
}

Sha256Digest Sha256Hasher::Final() {
  Sha256Digest out{};
  unsigned len = 0;
  // Failure here means OpenSSL could not allocate or lost its provider: not recoverable.
  if (EVP_DigestFinal_ex(impl_->ctx.get(), out.data(), &len) != 1 || len != out.size() ||
      EVP_DigestInit_ex2(impl_->ctx.get(), Sha256Md(), nullptr) != 1) {
    std::abort();
  }
  return out;
}

bool DigestEqual(const Sha256Digest& a, const Sha256Digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool ParseHexDigest(std::string_view hex, Sha256Digest& out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    uint8_t v = 0;
    for (size_t k = 0; k < 2; ++k) {
      const char c = hex[2 * i + k];
      uint8_t d = 0;
      if (c >= '0' && c <= '9') {
        d = static_cast<uint8_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<uint8_t>(c - 'a' + 10);
      } else {
        return false;
      }
      v = static_cast<uint8_t>(v * 16 + d);
    }
    out[i] = v;
  }
  return true;
}

}  // namespace sealpkg::signing
