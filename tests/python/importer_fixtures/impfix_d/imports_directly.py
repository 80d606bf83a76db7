from .subpackage_0.subsubpackage_0 import important_string


class ImportsDirectly:
    def value(self):
        return important_string
