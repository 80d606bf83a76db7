"""Uses a module the exporter mocks: importing works, using anything raises."""
import impfix_mocked


def call():
    return impfix_mocked.compute(1)


def attribute():
    return impfix_mocked.CONSTANT
