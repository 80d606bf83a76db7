// SHA-256 for signing and verification, parallel over many inputs (archive entries).
//
// OpenSSL 3 EVP underneath: the SHA256 implementation is fetched once per process
// (EVP_MD_fetch), every worker thread owns one EVP_MD_CTX, and data goes in 1-4 MiB chunks so a
// huge entry streams through the cache. Inputs are handed to a small std::thread pool largest
// first; results come back in input order. Digests are compared in constant time.
//
//   HashOptions opts;                    // threads = hardware concurrency
//   SEALPKG_ASSIGN_OR_RETURN(std::vector<Sha256Digest> d, Sha256Many(spans, opts));
//   Sha256Hasher h;  h.Update(a);  h.Update(b);  Sha256Digest all = h.Final();
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/sha256.h"
#include "core/status.h"

namespace sealpkg::signing {

struct HashOptions {
  // Worker threads; 0 means std::thread::hardware_concurrency(). Never more than inputs.
  unsigned threads = 0;
  // Bytes per EVP_DigestUpdate call, clamped to [1 MiB, 4 MiB].
  size_t chunk_bytes = 2u << 20;
};

// SHA-256 of every input, in input order. Fails only on an OpenSSL/thread failure (kInternal).
Result<std::vector<Sha256Digest>> Sha256Many(std::span<const std::span<const uint8_t>> inputs,
                                             const HashOptions& options = {});

// Incremental SHA-256 (one EVP_MD_CTX) for small structured inputs such as the layout lock.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::span<const uint8_t> data);
  void UpdateU64(uint64_t v);  // little-endian
  Sha256Digest Final();        // the hasher is then reset for reuse

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Constant-time equality (CRYPTO_memcmp).
bool DigestEqual(const Sha256Digest& a, const Sha256Digest& b);

// Parses 64 lower-case hex digits; false for anything else (upper case is not canonical).
bool ParseHexDigest(std::string_view hex, Sha256Digest& out);

}  // namespace sealpkg::signing
