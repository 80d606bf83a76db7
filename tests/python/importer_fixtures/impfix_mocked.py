"""Mocked by the exporter: its source never enters a package."""
CONSTANT = 42


def compute(x):
    return x + 1
