# expect: seccomp-kill
import subprocess


def hit():
    return subprocess.Popen(["/bin/true"]).wait()
