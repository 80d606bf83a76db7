# The errno tier and the filesystem, in one worker (tests 4, 11, 15, 16, 18, 19): every call is
# refused with an errno (no kill); the result maps each probe to "ok" or the exception it raised.
import ctypes
import os


def _try(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return f"{type(e).__name__}:{e.errno}"


def _read(path):
    with open(path, "rb") as f:
        return f.read(16)


def _write(path):
    with open(path, "w") as f:
        f.write("escaped")


def probe(scratch):
    libc = ctypes.CDLL(None, use_errno=True)
    out = {}
    out["open /etc/shadow"] = _try(lambda: _read("/etc/shadow"))
    out["open /etc/passwd"] = _try(lambda: _read("/etc/passwd"))
    out["open w"] = _try(lambda: _write(scratch + "/created"))
    out["unlink"] = _try(lambda: os.unlink(scratch + "/victim"))
    out["rename"] = _try(lambda: os.rename(scratch + "/victim", scratch + "/renamed"))
    out["mkdir"] = _try(lambda: os.mkdir(scratch + "/newdir"))
    out["symlink"] = _try(lambda: os.symlink("/etc/passwd", scratch + "/link"))
    out["read /proc/self/maps"] = _try(lambda: _read("/proc/self/maps"))
    out["read /proc/self/mem"] = _try(lambda: _read("/proc/self/mem"))
    out["read /proc/1/environ"] = _try(lambda: _read("/proc/1/environ"))
    out["listdir /"] = _try(lambda: os.listdir("/"))
    out["scandir /"] = _try(lambda: list(os.scandir("/")))
    # TIOCSTI pushes a byte into a terminal's input queue (CVE-2017-5226): refused on fds 0-2.
    tiocsti = []
    for fd in (0, 1, 2):
        r = libc.ioctl(fd, 0x5412, ctypes.c_char_p(b"x"))
        tiocsti.append((r, ctypes.get_errno()))
    out["tiocsti"] = tiocsti
    # clone3 gives ENOSYS (glibc then falls back to clone for threads).
    r = libc.syscall(435, None, 0)
    out["clone3"] = (r, ctypes.get_errno())
    return out
