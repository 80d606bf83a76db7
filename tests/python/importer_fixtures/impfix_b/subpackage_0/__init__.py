# `not_packaged` is in __all__ but exists nowhere: a "*" fromlist must tolerate it.
__all__ = ["subsubpackage_0", "not_packaged"]
VALUE = "subpackage_0"
from . import subsubpackage_0  # noqa: E402
