# Process creation and crashes through Python's own APIs (tests 3, 25, 34).
import ctypes
import multiprocessing
import os


def fork():
    return os.fork()  # clone(SIGCHLD): must be killed at the first fork


def multiprocessing_process():
    p = multiprocessing.Process(target=int)
    p.start()
    p.join()


def posix_spawn():
    # glibc's posix_spawn is clone(CLONE_VM | CLONE_VFORK): the vfork path.
    return os.posix_spawn("/bin/true", ["true"], {})


def segfault():
    return ctypes.c_char.from_address(8).value  # read from the unmapped first page


def dup_loop():
    # os.dup is fcntl(F_DUPFD_CLOEXEC), a command outside the policy's fcntl allow-list.
    fds = []
    while True:
        fds.append(os.dup(3))
