"""Packaged code reaching its own importer through the fake module `torch_package_importer`."""
try:
    import torch_package_importer

    HAS_IMPORTER = True
except ImportError:
    torch_package_importer = None
    HAS_IMPORTER = False


def importer():
    return torch_package_importer


def read_text():
    return torch_package_importer.load_text("impfix_a", "data.txt")


def read_binary():
    return torch_package_importer.load_binary("impfix_a.res", "blob.bin")
