"""A plain module of impfix_a using relative imports."""
from . import helpers
from .helpers import scale

result = "impfix_a.subpackage"


class SubObject:
    def __init__(self, value):
        self.value = value

    def doubled(self):
        return scale(self.value, 2)

    def __eq__(self, other):
        return type(other).__name__ == "SubObject" and other.value == self.value


class Outer:
    class Inner:
        tag = "inner"


def leaf_function(a, b):
    return helpers.scale(a, 1) + b


def raise_from_package(message):
    raise ValueError(message)
