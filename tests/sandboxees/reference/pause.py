# Sleeps inside the locked-down worker until the parent, done inspecting the worker from outside
# (/proc/<pid>/status, namespaces, net devices), releases it with SIGUSR1 (tests 11, 14, 35,
# 39, 40, 41).
import signal
import time


class Released(Exception):
    pass


def _release(signum, frame):
    raise Released()


def pause(seconds):
    signal.signal(signal.SIGUSR1, _release)
    try:
        time.sleep(seconds)
    except Released:
        return {"released": True}
    return {"released": False}
