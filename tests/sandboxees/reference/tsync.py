# TSYNC (test 14): run a forbidden syscall on a thread that existed before lockdown. SIGUSR1 is
# blocked in the calling thread and sent to the process, so the kernel delivers it to another
# thread (torch's pool, started by the pre-lockdown warm-up); its ctypes handler then calls
# getppid, which the policy does not allow. Without TSYNC that thread would be unfiltered and
# the call would return.
import ctypes
import os
import signal
import time


def forbidden_call_from_early_thread():
    libc = ctypes.CDLL(None, use_errno=True)
    hits = []

    @ctypes.CFUNCTYPE(None, ctypes.c_int)
    def handler(signum):
        hits.append((libc.syscall(110), libc.syscall(186)))  # getppid (forbidden), gettid

    libc.signal(signal.SIGUSR1, handler)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    main_tid = libc.syscall(186)
    os.kill(os.getpid(), signal.SIGUSR1)
    for _ in range(500):
        if hits:
            break
        time.sleep(0.01)
    return {"hits": hits, "main_tid": main_tid}
