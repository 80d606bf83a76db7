// Every resource limit sealpkg enforces on untrusted input, in one place.
//
// Parsers take a `const Limits&` (or the relevant member) and check each limit *before* the
// work it bounds: before allocating, before inflating, before recursing into a structure.
// Each field says why it has its default. Every limit is tested at its value (accepted) and one
// past it (rejected with ErrorCode::kLimitExceeded). Callers that need more pass a modified copy:
//
//   sealpkg::Limits limits;                           // defaults suit real torch packages
//   limits.archive.max_archive_bytes = 64ull << 30;   // a 64 GiB checkpoint
//   auto archive = sealpkg::archive::Archive::Open(path, limits);
#pragma once

#include <cstdint>

namespace sealpkg {

struct ArchiveLimits {
  // Size of the whole archive file. The archive is copied once into sealed memory before it is
  // parsed, so this also bounds that memory. 32 GiB holds a 7B-parameter model in fp32 with
  // room to spare and stays below what a 2-core, 24-GiB machine can snapshot plus swap.
  uint64_t max_archive_bytes = 32ull << 30;

  // Entries in the central directory. torchvision's largest models have under 1,000 records
  // (one per storage plus code); 2^18 leaves headroom while keeping the index under ~64 MiB.
  uint64_t max_entries = 1u << 18;

  // Bytes in one entry name. Linux PATH_MAX is 4096; no torch record name comes close.
  uint64_t max_name_bytes = 4096;

  // Declared uncompressed size of any one entry. Stored entries are bounded by the file anyway;
  // this bounds what a reader may be asked to produce for one record.
  uint64_t max_entry_uncompressed_bytes = 32ull << 30;

  // Sum of declared uncompressed sizes over all entries (the zip-bomb budget), checked from the
  // central directory before anything is read or inflated.
  uint64_t max_total_uncompressed_bytes = 64ull << 30;

  // Declared size of one DEFLATE entry, which is inflated into memory. torch only deflates
  // TorchScript code and debug records, which are kilobytes; 256 MiB is generous.
  uint64_t max_deflated_entry_bytes = 256ull << 20;

  // uncompressed / compressed for DEFLATE entries. Source code compresses 3-10x; DEFLATE can
  // reach ~1032x on zeros, which only bombs need. 100x leaves room for repetitive sources.
  uint64_t max_compression_ratio = 100;
};

struct PickleLimits {
  // Opcodes in one pickle stream. torchvision's largest model pickles (vit_l_16 as a whole
  // nn.Module) run ~200k opcodes; 4M bounds CPU time to well under a second.
  uint64_t max_opcodes = 4u << 20;
  // Values on the stack at once. Real pickles stay below a few hundred; CPython grows without
  // bound, so this is only a memory cap.
  uint64_t max_stack = 1u << 16;
  // Open MARKs at once (nesting depth of containers being built).
  uint64_t max_marks = 1u << 12;
  // Distinct memo entries (and the largest PUT index accepted).
  uint64_t max_memo = 1u << 20;
  // Bytes of one opcode argument (a string, bytes or long). Storages live outside the pickle in
  // torch formats; 64 MiB leaves room for numpy object arrays with inline data.
  uint64_t max_argument_bytes = 64u << 20;
  // Symbolic values created in total (containers, calls, literals): bounds the verifier's memory
  // against billion-laughs style inputs.
  uint64_t max_values = 8u << 20;
};

struct SourceLimits {
  // Bytes of one Python source file. The largest file in the stdlib is under 1 MiB.
  uint64_t max_source_bytes = 8u << 20;
  // Tokens in one file.
  uint64_t max_tokens = 4u << 20;
  // Open brackets at once; CPython's parser stops at 200 nested parentheses.
  uint64_t max_nesting = 200;
};

struct PolicyLimits {
  // Bytes of one policy file. Shipped policies are a few KiB; a generated per-package policy
  // listing thousands of globals stays well below 1 MiB.
  uint64_t max_policy_bytes = 1u << 20;
  // Nesting of tables/arrays. Policies use 3 levels; TOML documents from tools rarely exceed 10.
  uint64_t max_nesting = 32;
};

struct SigningLimits {
  // Bytes of one JSON document (a Sigstore bundle, its DSSE payload, a detached .sig). A
  // statement costs ~150 bytes per entry, base64 adds a third: a package at the archive entry
  // limit (2^18 entries) needs ~52 MiB; 64 MiB covers that and bounds the parse buffer.
  uint64_t max_json_bytes = 64u << 20;
  // Nesting of arrays/objects. Bundles and statements nest 5 levels; 32 leaves room for
  // annotations while keeping the parser's explicit stack tiny.
  uint64_t max_json_depth = 32;
  // Values (scalars, arrays, objects) in one document: each resource costs 5, so 2^22 covers
  // 2^18 entries with headroom and bounds the tree's memory (~100 bytes per value).
  uint64_t max_json_values = 4u << 20;
  // Members of one object or items of one array. The resource list is the longest (one per
  // entry, at most ArchiveLimits::max_entries = 2^18); 2^20 is four times that.
  uint64_t max_json_members = 1u << 20;
  // Bytes of one decoded string. The base64 DSSE payload is the only long string; any other
  // string (names, digests, keys) is short, but one cap keeps the parser simple.
  uint64_t max_json_string_bytes = 64u << 20;
  // Signatures in one DSSE envelope. Thresholds in practice are 1-3 keys; every signature costs
  // a public-key operation (~70 us), so 16 bounds the work an attacker can ask for.
  uint64_t max_signatures = 16;
  // Resources listed in one statement: the archive's own entry limit.
  uint64_t max_resources = 1u << 18;
};

struct TrustLimits {
  // Bytes of trust.json (a DSSE bundle). A key record costs ~250 bytes, base64 adds a third:
  // 256 keys plus 4096 revocations fit in well under 1 MiB.
  uint64_t max_trust_bytes = 1u << 20;
  // Keys in one trust root. Real deployments hold a handful of root and signer keys; every key
  // is parsed (an OpenSSL decode) on every open, so 256 bounds that work.
  uint64_t max_keys = 256;
  // Revoked key ids kept in the root. Ids are 64 bytes; 4096 outlives any real key history.
  uint64_t max_revoked = 4096;
  // Bytes of state.json (high-water marks). Each mark is a name and an integer (~100 bytes);
  // 4 MiB holds the marks of tens of thousands of packages and policies.
  uint64_t max_state_bytes = 4u << 20;
  // Marks per kind (policies, packages) in state.json: bounds the map the state parser builds.
  uint64_t max_marks = 1u << 16;
};

struct SandboxLimits {
  // Bytes of one IPC message payload (control data only: tensor bytes travel in sealed memfds).
  // A state_dict of 10^5 tensors costs ~100 bytes each in the schema; 16 MiB is checked against
  // the header before any buffer is allocated.
  uint64_t max_message_bytes = 16u << 20;
  // Nesting of lists/tuples/dicts in a result. State dicts and configs nest a few levels; the
  // decoder's explicit stack and the destructor of the decoded tree are bounded by this.
  uint64_t max_depth = 64;
  // Values (scalars, strings, containers, tensors) in one message: bounds the decoded tree's
  // memory (~100 bytes a value) independently of how compact the encoding is.
  uint64_t max_values = 1u << 20;
  // Tensor references in one result. resnet152's state_dict has ~930 tensors; large language
  // models have a few thousand.
  uint64_t max_tensors = 1u << 16;
  // Dimensions of one tensor. torch allows at most 64 (at::TensorImpl); real tensors use <= 8.
  uint64_t max_tensor_dims = 64;
  // File descriptors attached to one message. The worker sends one arena memfd; the kernel's own
  // cap (SCM_MAX_FD) is 253.
  uint64_t max_fds = 8;
  // Total bytes of tensor memfds accepted from one worker (the receive budget). Same bound as the
  // archive itself (ArchiveLimits::max_archive_bytes): a load cannot produce more weights than
  // the package carried, except for computed tensors.
  uint64_t max_tensor_bytes = 32ull << 30;
  // Bytes of the worker's error text kept (Python exception type and message).
  uint64_t max_error_bytes = 64u << 10;
  // Bytes of the worker's stdout/stderr kept; the rest is read and dropped so that a flood never
  // blocks the worker or grows the parent.
  uint64_t max_output_bytes = 64u << 10;
  // Wall-clock deadline for one load, from spawn to exit. Start-up with torch costs ~1.5 s
  // (reference: sandboxing.md); a resnet50 load ~0.5 s more. 120 s leaves room for big models.
  uint64_t wall_time_ms = 120000;
  // RLIMIT_CPU of the worker (seconds; the hard limit is one more). Stops a busy loop (SIGXCPU)
  // well before the wall-clock deadline.
  uint64_t cpu_seconds = 60;
  // RLIMIT_AS of the worker: the only rlimit that also counts shared memfd mappings. torch
  // peaks at ~640 MB virtual; the archive copy and the tensor arena come on top. 16 GiB.
  uint64_t address_space_bytes = 16ull << 30;
  // RLIMIT_FSIZE of the worker: caps each memfd it writes (the archive copy, the tensor arena).
  uint64_t file_size_bytes = 32ull << 30;
  // RLIMIT_NOFILE of the worker. It needs fds 0-4, a few memfds and mappings; nsjail uses 32.
  uint64_t open_files = 64;
};

struct SafetensorsLimits {
  // Bytes of the JSON header. The reference implementation (huggingface/safetensors) refuses
  // headers over 100 MB; a header entry costs ~100 bytes, so 100 MB is ~10^6 tensors.
  uint64_t max_header_bytes = 100000000;
  // Tensors in one file: 4x what one sandbox result may carry (SandboxLimits::max_tensors), for
  // merged checkpoints. The header parse is budgeted from it (16 JSON values per tensor), so it
  // also bounds the memory a hostile header can make the parser allocate.
  uint64_t max_tensors = 1u << 18;
  // Dimensions of one tensor, as across the sandbox boundary (SandboxLimits::max_tensor_dims).
  uint64_t max_dims = 64;
  // Bytes of one tensor's data or of the whole data section: the archive bound
  // (ArchiveLimits::max_archive_bytes) doubled, for checkpoints converted up from fp16.
  uint64_t max_data_bytes = 64ull << 30;
};

struct Limits {
  ArchiveLimits archive;
  PickleLimits pickle;
  SourceLimits source;
  PolicyLimits policy;
  SigningLimits signing;
  TrustLimits trust;
  SandboxLimits sandbox;
  SafetensorsLimits safetensors;
};

}  // namespace sealpkg
