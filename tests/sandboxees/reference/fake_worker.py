#!/usr/bin/python3
# A stand-in for sealpkg-worker in the protocol tests (29, 32): speaks the wire format of
# sandbox/ipc.h on fd 3 and then misbehaves as SCENARIO says. The test writes
# `SCENARIO = "<name>"` in front of a copy of this file and passes the copy as the worker.
import array
import fcntl
import os
import socket
import struct
import sys
import time

MAGIC, VERSION = 0x494B5053, 1
READY, REQUEST, RESULT, ERROR = 1, 2, 3, 4
SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE


def value(v):
    """The payload schema of sandbox/ipc.cc (kinds 0-10); tensors as ("tensor", fd_index, n)."""
    if v is None:
        return b"\x00"
    if v is False or v is True:
        return bytes([2 if v else 1])
    if isinstance(v, int):
        return b"\x03" + struct.pack("<q", v)
    if isinstance(v, str):
        b = v.encode()
        return b"\x05" + struct.pack("<I", len(b)) + b
    if isinstance(v, tuple) and v and v[0] == "tensor":
        _, fd_index, n = v  # a 1-d uint8 tensor of n bytes at offset 0 of fd `fd_index`
        return (b"\x0a" + bytes([6, 1]) + struct.pack("<qqqIQQ", n, 1, 0, fd_index, 0, n))
    if isinstance(v, list):
        return b"\x07" + struct.pack("<I", len(v)) + b"".join(value(x) for x in v)
    if isinstance(v, dict):
        out = b"\x09" + struct.pack("<I", len(v))
        for k, x in v.items():
            kb = k.encode()
            out += struct.pack("<I", len(kb)) + kb + value(x)
        return out
    raise TypeError(type(v))


def message(kind, v, length=None):
    payload = value(v)
    n = len(payload) if length is None else length
    return struct.pack("<IHHII", MAGIC, VERSION, kind, n, 0) + payload


def sealed_memfd(size):
    fd = os.memfd_create("fake", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, SEALS)
    return fd


sock = socket.socket(fileno=3)


def send(data, fds=()):
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    return sock.sendmsg([data], anc)


def ready(fds=()):
    send(message(READY, {"seccomp": True}), fds)


def take_request():
    return sock.recv(65536)


def result_with_fds(n_fds, n_refs=1):
    fds = [sealed_memfd(4096) for _ in range(n_fds)]
    send(message(RESULT, {"t%d" % i: ("tensor", i, 16) for i in range(n_refs)}), fds)


scenario = SCENARIO  # noqa: F821 (prepended by the test)
if scenario == "extra-fds":  # 2 fds attached, the result refers to 1; then a clean exit
    ready()
    take_request()
    result_with_fds(2, 1)
    os._exit(0)
elif scenario == "253-fds":  # the kernel's SCM_MAX_FD, far above SandboxLimits::max_fds
    ready()
    take_request()
    result_with_fds(253, 1)
elif scenario == "254-fds":  # one more than the kernel carries: the send itself must fail
    ready()
    take_request()
    try:
        result_with_fds(254, 1)
        sys.stderr.write("sent 254 fds\n")
    except OSError as e:
        sys.stderr.write(f"sendmsg with 254 fds: errno {e.errno}\n")
        os._exit(17)
elif scenario == "fds-on-ready":
    ready([sealed_memfd(4096)])
elif scenario == "fds-on-error":
    ready()
    take_request()
    send(message(ERROR, {"type": "ValueError", "message": "x"}), [sealed_memfd(4096)])
elif scenario == "fds-on-continuation":  # header datagram without fds, then one with an fd
    ready()
    take_request()
    body = message(RESULT, {"pad": "y" * 1000})
    send(body[:500])
    send(body[500:], [sealed_memfd(4096)])
elif scenario == "exit-mid-message":  # the header announces more payload than ever comes
    ready()
    take_request()
    full = message(RESULT, {"pad": "z" * 1000})
    send(full[:200])
    os._exit(0)
elif scenario == "send-after-done":  # then stays alive, so the parent reads the extra message
    ready()
    take_request()
    send(message(RESULT, {"ok": 1}))
    send(message(RESULT, {"ok": 2}))
elif scenario == "never-ready":
    time.sleep(3600)
elif scenario == "exit-before-ready":
    os._exit(0)
else:
    raise SystemExit(f"unknown scenario {scenario}")
time.sleep(3600)  # whatever happened, the parent must end us
