# expect: worker-error PermissionError
def hit():
    with open("/etc/passwd") as f:
        return f.read()
