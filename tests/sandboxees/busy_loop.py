# expect: cpu-limit
def hit():
    while True:
        pass
