# expect: memory-limit
def hit():
    return bytearray(10**11)
