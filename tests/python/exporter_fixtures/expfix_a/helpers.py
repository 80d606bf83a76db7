import math


def absolute(v):
    return math.fabs(v)
