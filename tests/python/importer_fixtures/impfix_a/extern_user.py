"""Uses modules the exporter externs."""
import impfix_extern
from impfix_extpkg import sub

VALUE = impfix_extern.VALUE


def ident(x):
    return impfix_extern.ident(x)


def sub_value():
    return sub.SUB_VALUE
