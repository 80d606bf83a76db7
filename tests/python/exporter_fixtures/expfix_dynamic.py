"""__import__ with a name that is not a literal."""
NAME = "json"


def load():
    return __import__(NAME)
