"""Imports a sibling through its parent, a stdlib module and json (implicit externs)."""
import json
import os.path

from expfix_a import helpers

result = "expfix_a.sub"


class Holder:
    def __init__(self, value):
        self.value = value

    def dump(self):
        return json.dumps({"value": helpers.absolute(self.value), "sep": os.path.sep})


class Outer:
    class Inner:
        def __init__(self, n):
            self.n = n
