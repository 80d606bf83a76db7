"""Packaged code reading its own resources through importlib.resources.

`impfix_a.res` exists only inside the package (a folder of resources, no __init__.py), so it is
imported lazily: the host can still import this module, which the exporter needs.
"""
import importlib.resources


def _res():
    from . import res

    return res


def read_files_api():
    return importlib.resources.files(_res()).joinpath("greeting.txt").read_text(encoding="utf-8")


def read_open_binary():
    with importlib.resources.files(_res()).joinpath("blob.bin").open("rb") as f:
        return f.read()
