import sys

result = sys.byteorder
