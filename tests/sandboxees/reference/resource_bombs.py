# Resource exhaustion from package code (tests 21, 24, 25, 26, 27).
import ctypes
import os
import sys
import threading
import time

MFD_FLAGS = 0x0001 | 0x0002  # MFD_CLOEXEC | MFD_ALLOW_SEALING: what the policy lets through


def memfd_bomb(size):
    """Many memfds of `size` bytes, each mapped and closed: RLIMIT_AS must stop it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    count = 0
    while True:
        fd = os.memfd_create("bomb", MFD_FLAGS)
        os.ftruncate(fd, size)
        p = libc.mmap(None, size, 0x1 | 0x2, 0x01, fd, 0)  # PROT_READ|WRITE, MAP_SHARED
        err = ctypes.get_errno()
        os.close(fd)
        if p is None or p == ctypes.c_void_p(-1).value:
            raise MemoryError(f"mmap of memfd #{count + 1} failed: errno {err}; "
                              f"{count} mapped ({count * size} bytes)")
        ctypes.memset(p, 1, 4096)  # touch one page: it is real memory
        count += 1


def memfd_over_fsize(size):
    """One memfd grown past RLIMIT_FSIZE: SIGXFSZ."""
    fd = os.memfd_create("big", MFD_FLAGS)
    os.ftruncate(fd, size)
    return size


def thread_bomb():
    stop = threading.Event()
    threads = []
    while True:
        t = threading.Thread(target=stop.wait, daemon=True)
        t.start()  # RuntimeError("can't start new thread") once a limit fires
        threads.append(t)


def fd_exhaustion():
    """memfd_create (allowed) until RLIMIT_NOFILE: EMFILE, then report how far it got."""
    fds = []
    try:
        while True:
            fds.append(os.memfd_create("fd", MFD_FLAGS))
    except OSError as e:
        n = len(fds)
        for fd in fds:
            os.close(fd)
        return {"errno": e.errno, "opened": n}


def deep_recursion():
    def f(n):
        return f(n + 1) + 1

    return f(0)


def flood(nbytes):
    chunk = b"x" * 65536
    for _ in range(nbytes // len(chunk)):
        os.write(1, chunk)
    sys.stderr.write("flood done\n")
    return {"flooded": nbytes}
