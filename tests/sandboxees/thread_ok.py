# expect: ok
import os
import threading
import time


def hit():
    out = []
    t = threading.Thread(target=lambda: out.append(len(os.urandom(8))))
    t.start()
    t.join()
    time.sleep(0.01)
    return {"thread": out[0], "pid_positive": os.getpid() > 0}
