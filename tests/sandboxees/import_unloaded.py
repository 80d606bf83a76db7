# expect: worker-error ModuleNotFoundError
def hit():
    import tomllib  # not pre-imported: missing in the worker (ModuleNotFoundError)

    return tomllib.loads("")
