"""Mock support written into packages as the top-level module ``_mock`` (this file, verbatim).

A mocked module ``m`` is packaged as a stub whose every attribute is a :class:`MockedObject`
named ``m.<attr>``. Such an object can be passed around, but calling it, using it as a number,
container or context manager, comparing, hashing or iterating it raises NotImplementedError
naming the object and the operation, so a packaged model fails loudly where it reaches code that
was mocked out. Creating one any other way (e.g. unpickling an instance of a mocked class) fails
in ``__new__``. Same names, messages and behaviour as torch.package's ``_mock`` module, so
packages re-exported by either exporter keep working. Nothing outside the standard library.
"""

_OPERATIONS = """
__abs__ __add__ __and__ __bool__ __bytes__ __call__ __ceil__ __cmp__ __complex__ __contains__
__copy__ __deepcopy__ __delattr__ __delitem__ __dir__ __div__ __divmod__ __enter__ __eq__
__exit__ __float__ __floor__ __floordiv__ __ge__ __getattr__ __getitem__ __getstate__ __gt__
__hash__ __hex__ __iadd__ __iand__ __idiv__ __ifloordiv__ __ilshift__ __imod__ __imul__
__index__ __instancecheck__ __int__ __invert__ __ior__ __ipow__ __irshift__ __isub__ __iter__
__itruediv__ __ixor__ __le__ __len__ __long__ __lshift__ __lt__ __mod__ __mul__ __ne__ __neg__
__nonzero__ __oct__ __or__ __pos__ __pow__ __rand__ __rdivmod__ __reduce__ __reversed__
__rmul__ __round__ __rrshift__ __rshift__ __setattr__ __setitem__ __sizeof__ __sub__
__subclasscheck__ __truediv__ __trunc__ __unicode__ __xor__
""".split()


class MockedObject:
    _name: str

    def __new__(cls, *args, **kwargs):
        # The stub passes _suppress_err=True; anything else constructing one (an unpickler
        # calling a mocked class) is a use of mocked-out code.
        if kwargs.get("_suppress_err"):
            return super().__new__(cls)
        raise NotImplementedError(
            f"Object '{cls._name}' was mocked out during packaging but it is being used in "
            "'__new__'. If this error is happening during 'load_pickle', please ensure that "
            "your pickled object doesn't contain any mocked objects."
        )

    def __init__(self, name: str, _suppress_err: bool):
        self.__dict__["_name"] = name

    def __repr__(self):
        return f"MockedObject({self._name})"


def _refuse(operation):
    def method(self, *args, **kwargs):
        raise NotImplementedError(
            f"Object '{self._name}' was mocked out during packaging but it is being used in "
            f"{operation}"
        )

    method.__name__ = operation
    return method


for _operation in _OPERATIONS:
    setattr(MockedObject, _operation, _refuse(_operation))
del _operation
