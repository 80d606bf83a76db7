// Sending and receiving IPC messages (ipc.h) with fds over the SOCK_SEQPACKET socket on fd 3.
//
// A message is one header datagram (header + the first part of the payload, plus any fds as
// SCM_RIGHTS) followed by continuation datagrams of payload until the header's length is
// reached, so payloads larger than the socket buffer still cross. The receiver checks the
// header (cap) before allocating, refuses truncated control data (MSG_CTRUNC), more fds than
// SandboxLimits::max_fds, fds on continuation datagrams, and datagrams past the length.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/limits.h"
#include "core/status.h"
#include "sandbox/ipc.h"
#include "sandbox/tensor_transport.h"

namespace sealpkg::sandbox {

inline constexpr size_t kDatagramBytes = 64 * 1024;

Status SendMessage(int sock, MessageType type, const Value& value, std::span<const int> fds,
                   const SandboxLimits& limits);

struct Received {
  std::vector<uint8_t> bytes;  // header + payload, as DecodeMessage takes them
  std::vector<UniqueFd> fds;   // received with MSG_CMSG_CLOEXEC
};

// Blocks until one whole message arrived. kIo "io.peer-closed" when the peer closed first.
Result<Received> ReceiveMessage(int sock, const SandboxLimits& limits);

}  // namespace sealpkg::sandbox
