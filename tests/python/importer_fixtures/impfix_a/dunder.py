"""Behaves differently when it is loaded from a package (`__torch_package__` is defined)."""
try:
    __torch_package__  # noqa: B018
    IN_PACKAGE = True
except NameError:
    IN_PACKAGE = False


def in_package():
    return IN_PACKAGE
