# expect: worker-error PermissionError
def hit():
    import tomllib  # not pre-imported: nothing can be read from disk after lockdown

    return tomllib.loads("")
