# A raw syscall from package code through ctypes, bypassing every Python wrapper (test 13).
# Arguments are ints, None (a NULL pointer) or bytes; the test picks harmless ones (bad fds,
# NULL pointers, nonexistent pids) so that a hole in the policy fails safely.
import ctypes


def call(nr, *args):
    libc = ctypes.CDLL(None, use_errno=True)
    conv = [ctypes.c_void_p(None) if a is None else
            ctypes.c_char_p(a) if isinstance(a, bytes) else ctypes.c_long(a) for a in args]
    ret = libc.syscall(ctypes.c_long(nr), *conv)
    return {"ret": ret, "errno": ctypes.get_errno()}
