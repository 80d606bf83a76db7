# expect: seccomp-kill
import ctypes
import os


def hit():
    return ctypes.CDLL(None).syscall(62, os.getppid(), 0)  # kill(parent, 0)
