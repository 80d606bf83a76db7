"""Helpers used through relative imports."""


class _Sentinel:
    def __reduce__(self):
        # The string form of __reduce__: pickled (and named by Importer.get_name) as a global.
        return "SENTINEL"


SENTINEL = _Sentinel()


def scale(x, k):
    return x * k
