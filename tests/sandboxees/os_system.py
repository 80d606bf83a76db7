# expect: seccomp-kill
import os


def hit():
    return os.system("true")  # fork/clone without CLONE_THREAD
