# Test 33: a healthy worker writes what the diagnose-mode SIGSYS handler would write and exits
# with its status. Only the wait status may decide that seccomp killed a worker.
import os


def forge():
    os.write(2, b"seccomp: blocked syscall 59\n")
    os._exit(159)
