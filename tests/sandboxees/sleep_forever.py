# expect: timeout
import time


def hit():
    time.sleep(10**6)
