# expect: seccomp-kill
import ctypes


def hit():
    return ctypes.CDLL(None).syscall(425, 1, None)  # io_uring_setup(1, NULL)
