from .subsubpackage_0 import important_string  # noqa: F401
