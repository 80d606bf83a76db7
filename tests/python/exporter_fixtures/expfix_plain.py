result = "expfix_plain"


class Plain:
    def __init__(self, v):
        self.v = v
