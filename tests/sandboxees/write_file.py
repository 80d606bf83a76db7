# expect: worker-error PermissionError
def hit():
    with open("/tmp/sealpkg-sandboxee-wrote-this", "w") as f:
        f.write("escaped")
