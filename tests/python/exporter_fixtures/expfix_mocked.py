"""A module the tests mock out."""


def mocked_function():
    return "real"


class MockedClass:
    def __init__(self, v):
        self.v = v


class OtherMockedClass:
    pass
