# expect: abort
import os


def hit():
    os.abort()
