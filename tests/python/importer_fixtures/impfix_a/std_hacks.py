"""Stdlib modules that rewrite sys.modules: `os.path`, `typing.io`, `typing.re` (#57490)."""
import os
import os.path
import typing
import typing.io
import typing.re
from os.path import join
from typing.io import BinaryIO


def joined(a, b):
    return os.path.join(a, b) == join(a, b) and join(a, b)


def typing_names():
    return typing.io.__name__, typing.re.__name__, BinaryIO.__name__
