from .subpackage_0 import important_string


class ImportsIndirectly:
    def value(self):
        return important_string
