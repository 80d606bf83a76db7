from .nested import deep

value = "dir:" + deep.value
