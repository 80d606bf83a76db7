#include "sandbox/channel.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sealpkg::sandbox {
namespace {

constexpr size_t kMaxFdsPerDatagram = 253;  // SCM_MAX_FD

std::string Errno() {
  return std::strerror(errno);
}

}  // namespace

Status SendMessage(int sock, MessageType type, const Value& value, std::span<const int> fds,
                   const SandboxLimits& limits) {
  if (fds.size() > limits.max_fds) return LimitExceeded("ipc.too-many-fds", "too many fds");
  SEALPKG_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, EncodeMessage(type, value, limits));
  size_t sent = 0;
  bool first = true;
  while (first || sent < bytes.size()) {
    const size_t n = std::min(kDatagramBytes, bytes.size() - sent);
    iovec iov{bytes.data() + sent, n};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerDatagram)];
    if (first && !fds.empty()) {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t r;
    do {
      r = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (r < 0 && errno == EINTR);
    if (r < 0 || static_cast<size_t>(r) != n) return IoError("io.send", "sendmsg: " + Errno());
    sent += n;
    first = false;
  }
  return OkStatus();
}

Result<Received> ReceiveMessage(int sock, const SandboxLimits& limits) {
  Received out;
  uint64_t expected = 0;
  bool first = true;
  while (first || out.bytes.size() < expected) {
    // Peek at the datagram's true size (MSG_TRUNC) before allocating for it.
    uint8_t head[kHeaderBytes];
    ssize_t size;
    do {
      size = ::recv(sock, head, sizeof head, MSG_PEEK | MSG_TRUNC);
    } while (size < 0 && errno == EINTR);
    const bool closed = size == 0 || (size < 0 && errno == ECONNRESET);
    if (closed && !first) {
      // A header announced more payload than arrived: a truncated message, not a clean close.
      return Malformed("ipc.truncated-message", "the peer closed the channel inside a message (" +
                                                    std::to_string(out.bytes.size()) + " of " +
                                                    std::to_string(expected) + " bytes)");
    }
    if (closed) return IoError("io.peer-closed", "the worker closed the channel");
    if (size < 0) return IoError("io.recv", "recv: " + Errno());
    if (static_cast<size_t>(size) > kDatagramBytes) {
      return Malformed("ipc.datagram-too-large", "datagram larger than 64 KiB");
    }
    if (first) {
      if (static_cast<size_t>(size) < kHeaderBytes) {
        return Malformed("ipc.truncated-header", "message shorter than its header");
      }
      SEALPKG_ASSIGN_OR_RETURN(Header h,
                               DecodeHeader(std::span<const uint8_t>(head, kHeaderBytes), limits));
      expected = kHeaderBytes + uint64_t{h.length};
      out.bytes.reserve(expected);
    }
    if (out.bytes.size() + static_cast<uint64_t>(size) > expected) {
      return Malformed("ipc.length-mismatch", "more payload than the header announced");
    }
    const size_t at = out.bytes.size();
    out.bytes.resize(at + static_cast<size_t>(size));
    iovec iov{out.bytes.data() + at, static_cast<size_t>(size)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerDatagram)];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t r;
    do {
      r = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (r < 0 && errno == EINTR);
    if (r != size) return IoError("io.recv", "recvmsg: " + Errno());
    // Take ownership of every fd first, so that they are closed whatever happens next.
    size_t fd_count = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
        return Malformed("ipc.bad-control", "unexpected control message");
      }
      const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        out.fds.emplace_back(fd);
      }
      fd_count += n;
    }
    if (msg.msg_flags & MSG_CTRUNC) {
      return Malformed("ipc.fds-truncated", "control data truncated (too many fds)");
    }
    if (!first && fd_count != 0) {
      return Malformed("ipc.fds-on-continuation", "fds attached to a continuation datagram");
    }
    if (out.fds.size() > limits.max_fds) {
      return LimitExceeded("ipc.too-many-fds", "more fds than SandboxLimits::max_fds");
    }
    first = false;
  }
  return out;
}

}  // namespace sealpkg::sandbox
