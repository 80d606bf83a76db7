"""Uses a module the tests mock out."""
import expfix_mocked

result = "expfix_a.uses_mocked"


def call_mocked():
    return expfix_mocked.mocked_function()
