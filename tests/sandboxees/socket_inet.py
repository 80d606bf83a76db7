# expect: seccomp-kill
import socket


def hit():
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
