# Positive controls (test 43): package code with classes, generators and exceptions unpickles and
# runs; os.urandom, time.sleep, threading and (with torch) tensors work under the policy.
import collections
import datetime
import decimal
import hashlib
import os
import threading
import time


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


def _squares(n):
    for i in range(n):
        yield i * i


def summarize(graph):
    points = graph["points"]
    try:
        raise ValueError("raised and caught")
    except ValueError as e:
        caught = str(e)
    worker = []
    t = threading.Thread(target=lambda: worker.append(sum(_squares(100))))
    t.start()
    t.join()
    time.sleep(0.01)
    blob = graph["blob"]
    return {
        "n_points": len(points),
        "all_points": all(type(p) is Point for p in points),
        "sum_x": sum(p.x for p in points),
        "ordered": list(graph["ordered"].items()),
        "when": graph["when"].isoformat(),
        "decimal": str(graph["decimal"] * 2),
        "big": str(graph["big"] + 1),
        "set": sorted(graph["set"]),
        "blob_sha256": hashlib.sha256(blob).hexdigest(),
        "blob_len": len(blob),
        "squares": sum(_squares(10)),
        "caught": caught,
        "thread": worker[0],
        "urandom": len(os.urandom(32)),
        "alloc": len(bytearray(64 << 20)),
    }


def torch_roundtrip(threads):
    import io

    import torch

    a = torch.arange(1000 * 1000, dtype=torch.float32).reshape(1000, 1000) / 1e6
    buf = io.BytesIO()
    torch.save({"a": a}, buf)
    buf.seek(0)
    b = torch.load(buf)["a"]
    c = b @ b
    in_thread = []
    t = threading.Thread(target=lambda: in_thread.append(float((b[:10] @ b[:, :10]).sum())))
    t.start()
    t.join()
    f = torch.frombuffer(bytearray(os.urandom(64)), dtype=torch.float32)
    return {"threads": torch.get_num_threads(), "c": c[:4, :4].contiguous(),
            "trace": float(c.trace()), "in_thread": in_thread[0], "frombuffer": f.numel(),
            "asked": threads}


def ident(tag):
    global _calls
    _calls = globals().get("_calls", 0) + 1
    return {"tag": tag, "pid": os.getpid(), "calls": _calls}


def big_tensor(n):
    import torch

    return torch.arange(n, dtype=torch.int32)
