# expect: exited
import os


def hit():
    os._exit(31)  # must not be reported as a seccomp kill
